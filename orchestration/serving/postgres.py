"""Publish a serving version to PostgreSQL, for BI tools that only speak Postgres.

Readers query views in schema ``clientele``. Each view reads its table in
``clientele_data`` filtered on the version named in ``clientele_data.current_version``.
A new version is appended (its rows carry ``_version``) while readers see the old
one; then a one-row UPDATE of the pointer publishes it. PostgreSQL evaluates a
statement against one snapshot, so the pointer and every table it reads agree:
a reader sees one version whole. Nothing on the read path changes shape, so no
DDL takes locks that readers wait on (a first design renamed schemas and a
statement could resolve one view before the rename and another after it).
Versions beyond ``keep`` are deleted row by row afterwards; a running query still
sees them in its snapshot.
"""

from __future__ import annotations

import tempfile
from contextlib import closing
from pathlib import Path

import duckdb

TYPES = {"VARCHAR": "text", "BIGINT": "bigint", "INTEGER": "integer", "SMALLINT": "smallint", "DOUBLE": "double precision",
         "FLOAT": "real", "BOOLEAN": "boolean", "TIMESTAMP": "timestamp", "DATE": "date", "HUGEINT": "numeric",
         "TIMESTAMP WITH TIME ZONE": "timestamptz", "JSON": "jsonb"}
VIEWS, DATA = "clientele", "clientele_data"


def _pg_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.replace("DECIMAL", "numeric")
    return TYPES.get(duckdb_type, "text")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def publish_to_postgres(serving_file: Path, url: str, version: str, keep: int = 2) -> dict[str, int]:
    """Append every table of ``serving_file`` as ``version``, point the views at it, drop versions beyond ``keep``."""
    import psycopg2  # only when a PostgreSQL URL is configured

    counts: dict[str, int] = {}
    with duckdb.connect(str(serving_file), read_only=True) as source, closing(psycopg2.connect(url)) as pg:
        tables = [r[0] for r in source.execute("select table_name from information_schema.tables order by 1").fetchall()]
        with pg.cursor() as cur, tempfile.TemporaryDirectory(prefix="clientele-pg-") as tmp:
            cur.execute(f"""create schema if not exists {DATA}; create schema if not exists {VIEWS};
                create table if not exists {DATA}.current_version (version text not null);
                create table if not exists {DATA}.versions (version text primary key, published_at timestamptz)""")
            for table in tables:
                columns = source.execute(
                    "select column_name, data_type from information_schema.columns where table_name = ? "
                    "order by ordinal_position", [table]
                ).fetchall()
                _ensure_table(cur, table, [(c, _pg_type(t)) for c, t in columns])
                csv_file = Path(tmp) / f"{table}.csv"
                source.execute(
                    f"copy (select *, '{version}' as _version from {table}) to '{csv_file}' "
                    "(format csv, header false, nullstr '\\N')"
                )
                with open(csv_file, encoding="utf-8") as fh:
                    cur.copy_expert(f"copy {DATA}.{_ident(table)} from stdin with (format csv, null '\\N')", fh)
                counts[table] = cur.rowcount
            cur.execute(f"insert into {DATA}.versions values (%s, now()) on conflict do nothing", [version])
        pg.commit()
        with pg.cursor() as cur:  # the publication: one row, one short transaction
            cur.execute(f"delete from {DATA}.current_version; insert into {DATA}.current_version values (%s)", [version])
        pg.commit()
        with pg.cursor() as cur:
            cur.execute(f"select version from {DATA}.versions order by published_at desc, version desc offset %s", [keep])
            old = [r[0] for r in cur.fetchall()]
            if old:
                for table in tables:
                    cur.execute(f"delete from {DATA}.{_ident(table)} where _version = any(%s)", [old])
                cur.execute(f"delete from {DATA}.versions where version = any(%s)", [old])
        pg.commit()
    return counts


def _ensure_table(cur, table: str, columns: list[tuple[str, str]]) -> None:  # noqa: ANN001
    """Create the data table and its view; a release that changed the columns rebuilds both (a one-off DDL)."""
    wanted = [*columns, ("_version", "text")]
    cur.execute(
        "select column_name, case when data_type = 'numeric' and numeric_precision is not null "
        "then 'numeric(' || numeric_precision || ',' || numeric_scale || ')' else data_type end "
        "from information_schema.columns where table_schema = %s and table_name = %s order by ordinal_position",
        [DATA, table],
    )
    existing = cur.fetchall()
    if existing and [c for c, _ in existing] == [c for c, _ in wanted]:
        return
    cur.execute(f"drop view if exists {VIEWS}.{_ident(table)}; drop table if exists {DATA}.{_ident(table)}")
    cur.execute(f"create table {DATA}.{_ident(table)} (" + ", ".join(f"{_ident(c)} {t}" for c, t in wanted) + ")")
    cur.execute(f"create index on {DATA}.{_ident(table)} (_version)")
    cur.execute(
        f"create view {VIEWS}.{_ident(table)} as select {', '.join(_ident(c) for c, _ in columns)} "
        f"from {DATA}.{_ident(table)} where _version = (select version from {DATA}.current_version)"
    )
