"""Publish a serving version to PostgreSQL, for BI tools that only speak Postgres.

Each version is loaded into its own schema (``clientele_v<version>``) while
readers keep using the old one; views over it are built in ``clientele_next``,
and one short transaction renames ``clientele`` to ``clientele_prev`` and
``clientele_next`` to ``clientele``. PostgreSQL's DDL is transactional, so a
query sees the old views or the new ones, never a mix, and since queries do not
lock schemas the rename does not wait for readers. Old version schemas beyond
``keep`` are dropped afterwards, each only if no reader holds it.
"""

from __future__ import annotations

import re
import tempfile
import time
from contextlib import closing
from pathlib import Path

import duckdb

TYPES = {"VARCHAR": "text", "BIGINT": "bigint", "INTEGER": "integer", "SMALLINT": "smallint", "DOUBLE": "double precision",
         "FLOAT": "real", "BOOLEAN": "boolean", "TIMESTAMP": "timestamp", "DATE": "date", "HUGEINT": "numeric",
         "TIMESTAMP WITH TIME ZONE": "timestamptz", "JSON": "jsonb"}
VIEW_SCHEMA = "clientele"


class SwapTimeout(RuntimeError):
    """Readers held the old views longer than every attempt allowed."""


def _pg_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.replace("DECIMAL", "numeric")
    return TYPES.get(duckdb_type, "text")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def publish_to_postgres(
    serving_file: Path, url: str, version: str, keep: int = 2, lock_timeout: str = "5s", attempts: int = 5
) -> dict[str, int]:
    """Load every table of ``serving_file`` into a new schema, then swap the ``clientele`` views to it."""
    import psycopg2  # only when a PostgreSQL URL is configured

    schema = "clientele_v" + re.sub(r"[^0-9a-z]", "_", version.lower())
    counts: dict[str, int] = {}
    with duckdb.connect(str(serving_file), read_only=True) as source, closing(psycopg2.connect(url)) as pg:
        tables = [r[0] for r in source.execute("select table_name from information_schema.tables order by 1").fetchall()]
        with pg.cursor() as cur, tempfile.TemporaryDirectory(prefix="clientele-pg-") as tmp:
            cur.execute(f"drop schema if exists {_ident(schema)} cascade; create schema {_ident(schema)}")
            for table in tables:
                columns = source.execute(
                    "select column_name, data_type from information_schema.columns where table_name = ? "
                    "order by ordinal_position", [table]
                ).fetchall()
                cur.execute(f"create table {_ident(schema)}.{_ident(table)} ("
                            + ", ".join(f"{_ident(c)} {_pg_type(t)}" for c, t in columns) + ")")
                csv_file = Path(tmp) / f"{table}.csv"
                source.execute(f"copy {table} to '{csv_file}' (format csv, header false, nullstr '\\N')")
                with open(csv_file, encoding="utf-8") as fh:
                    cur.copy_expert(
                        f"copy {_ident(schema)}.{_ident(table)} from stdin with (format csv, null '\\N')", fh
                    )
                counts[table] = cur.rowcount
        pg.commit()
        _swap_views(pg, schema, tables, lock_timeout, attempts)
        _drop_old_versions(pg, schema, keep)
    return counts


def _swap_views(pg, schema: str, tables: list[str], lock_timeout: str, attempts: int) -> None:  # noqa: ANN001
    """Build the new views in ``clientele_next``, then rename schemas: queries lock tables and views, never
    schemas, so the rename waits for no reader. Readers in flight finish on the old views, which live on
    as ``clientele_prev`` until the next publication; new queries resolve ``clientele.*`` to the new ones."""
    import psycopg2

    nxt, prev = f"{VIEW_SCHEMA}_next", f"{VIEW_SCHEMA}_prev"
    with pg.cursor() as cur:
        cur.execute(f"drop schema if exists {nxt} cascade; create schema {nxt}")
        for table in tables:
            cur.execute(f"create view {nxt}.{_ident(table)} as select * from {_ident(schema)}.{_ident(table)}")
    pg.commit()
    _retire(pg, prev)
    for attempt in range(attempts):
        try:
            with pg.cursor() as cur:
                cur.execute(f"set local lock_timeout = '{lock_timeout}'")
                cur.execute("select 1 from pg_namespace where nspname = %s", [VIEW_SCHEMA])
                if cur.fetchone():
                    cur.execute(f"alter schema {VIEW_SCHEMA} rename to {prev}")
                cur.execute(f"alter schema {nxt} rename to {VIEW_SCHEMA}")
            pg.commit()
            return
        except psycopg2.errors.LockNotAvailable:
            pg.rollback()
            time.sleep(min(2**attempt, 10))
    raise SwapTimeout(f"could not rename schema {VIEW_SCHEMA} in {attempts} attempts of {lock_timeout}")


def _retire(pg, name: str) -> None:  # noqa: ANN001
    """Drop the views of two publications ago; if a query still reads them, set them aside for later."""
    if not _drop_schema_nowait(pg, name):
        with pg.cursor() as cur:
            cur.execute("select 1 from pg_namespace where nspname = %s", [name])
            if cur.fetchone():
                cur.execute(f"alter schema {name} rename to {name}_retired_{time.time_ns()}")
        pg.commit()


def _drop_old_versions(pg, current: str, keep: int) -> None:  # noqa: ANN001
    with pg.cursor() as cur:
        cur.execute(r"select nspname from pg_namespace where nspname like 'clientele\_prev\_retired\_%' order by 1")
        retired = [r[0] for r in cur.fetchall()]
        cur.execute(r"select nspname from pg_namespace where nspname like 'clientele\_v%' order by 1")
        versions = [r[0] for r in cur.fetchall() if r[0] != current]
    for old in retired + versions[: max(len(versions) - (keep - 1), 0)]:
        _drop_schema_nowait(pg, old)


def _drop_schema_nowait(pg, name: str) -> bool:  # noqa: ANN001
    """Drop a schema and the views over it only if no query holds any of them: never wait, never make a
    reader wait. A lock taken one object at a time while a reader takes them in another order deadlocks;
    NOWAIT on all of them at once cannot."""
    import psycopg2

    with pg.cursor() as cur:
        cur.execute(
            """select distinct quote_ident(n.nspname) || '.' || quote_ident(c.relname)
            from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s
            union
            select distinct quote_ident(view_schema) || '.' || quote_ident(view_name)
            from information_schema.view_table_usage where table_schema = %s""",
            [name, name],
        )
        relations = [r[0] for r in cur.fetchall()]
        try:
            if relations:
                cur.execute(f"lock table {', '.join(relations)} in access exclusive mode nowait")
            cur.execute(f"drop schema if exists {_ident(name)} cascade")
            pg.commit()
            return True
        except psycopg2.errors.LockNotAvailable:
            pg.rollback()
            return False
