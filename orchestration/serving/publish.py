"""Publish the marts as an immutable serving snapshot, swapped in atomically.

Each publication writes a new folder ``versions/<version>/`` (a DuckDB file and
one Parquet file per mart) beside the old ones, and then repoints the symlink
``current`` with ``os.replace``, which is atomic. Readers open
``current/clientele.duckdb`` read-only: they never wait on the writer, never
hold a lock it needs, and see either the old or the new version, whole.
A refresh killed half-way leaves only an unfinished ``*.tmp`` folder (or an
unused ``.current-*`` link) that the next publication removes.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

# Published name -> warehouse table.
PUBLISHED_TABLES = {
    "customers": "marts.customers",
    "customer_identifiers": "marts.customer_identifiers",
    "customer_equity": "marts.customer_equity",
    "orders": "marts.orders",
    "customer_rfm_summary": "marts.customer_rfm_summary",
    "customer_journeys": "marts.customer_journeys",
    "touchpoints": "marts.touchpoints",
    "sessions": "marts.sessions",
    "conversion_paths": "marts.conversion_paths",
    "channel_attribution_daily": "marts.channel_attribution_daily",
    "funnel_daily": "marts.funnel_daily",
    "customer_experience_daily": "marts.customer_experience_daily",
    "service_experience_daily": "marts.service_experience_daily",
    "nps_weekly": "marts.nps_weekly",
    "customer_clv": "clv.customer_clv",
    "clv_model_runs": "clv.clv_model_runs",
}
SERVING_FILE = "clientele.duckdb"


@dataclass(frozen=True)
class PublishedVersion:
    version: str
    path: Path
    row_counts: dict[str, int]


def current_path(serving_dir: Path) -> Path:
    """What BI tools open (read-only): always a complete version."""
    return Path(serving_dir) / "current" / SERVING_FILE


def last_published_at(serving_dir: Path) -> datetime | None:
    path = current_path(serving_dir)
    if not path.exists():
        return None
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute("select published_at from published_version").fetchall()[0][0]


def published_row_count(serving_dir: Path, warehouse_table: str) -> int | None:
    """Rows BI reads now of a warehouse table (``marts.orders``); None before its first publication."""
    name = next((n for n, t in PUBLISHED_TABLES.items() if t == warehouse_table), None)
    path = current_path(serving_dir)
    if name is None or not path.exists():
        return None
    with duckdb.connect(str(path), read_only=True) as conn:
        return int(conn.execute(f"select count(*) from {name}").fetchall()[0][0])


def publish(conn: duckdb.DuckDBPyConnection, serving_dir: Path, tables: dict[str, str] | None = None, keep: int = 3) -> PublishedVersion:
    tables = tables or PUBLISHED_TABLES
    serving_dir = Path(serving_dir)
    versions = serving_dir / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    for stale in versions.glob("*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale_link in serving_dir.glob(".current-*"):
        stale_link.unlink(missing_ok=True)
    version = datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    staging = versions / f"{version}.tmp"
    (staging / "parquet").mkdir(parents=True)
    alias = f"snap_{uuid.uuid4().hex[:8]}"
    conn.execute(f"attach '{staging / SERVING_FILE}' as {alias}")
    try:
        _write_tables(conn, alias, staging / "parquet", tables)
        counts = {name: conn.execute(f"select count(*) from {alias}.main.{name}").fetchall()[0][0] for name in tables}
        conn.execute(
            f"create table {alias}.main.published_version as select ? as version, ? as published_at, ? as row_counts",
            [version, datetime.now(), json.dumps(counts)],
        )
    finally:
        conn.execute(f"detach {alias}")
    _fsync_tree(staging)
    final = versions / version
    os.rename(staging, final)
    link_tmp = serving_dir / f".current-{uuid.uuid4().hex[:8]}"
    os.symlink(Path("versions") / version, link_tmp)
    os.replace(link_tmp, serving_dir / "current")
    _fsync_dir(serving_dir)
    _prune(versions, keep=keep, current=version)
    return PublishedVersion(version, final / SERVING_FILE, counts)


def _write_tables(conn: duckdb.DuckDBPyConnection, alias: str, parquet_dir: Path, tables: dict[str, str]) -> None:
    """The tables into the snapshot's DuckDB file and into Parquet, both read from the warehouse, side by side.

    Two cursors of the one database: the table writes leave a core idle part of the time, which the Parquet writes
    fill (9.5 s against 10.6 s one after the other at 100,000 customers). Rows need not keep the warehouse's order
    (tables have none): without it DuckDB writes in parallel (the DuckDB file 6.6 s against 8.1 s). The caller
    holds the warehouse pool, so both read the same data."""
    def native(cursor: duckdb.DuckDBPyConnection) -> None:
        for name, source in tables.items():
            cursor.execute(f"create table {alias}.main.{name} as select * from {source}")

    def parquet(cursor: duckdb.DuckDBPyConnection) -> None:
        for name, source in tables.items():
            cursor.execute(f"copy (select * from {source}) to '{parquet_dir / (name + '.parquet')}' (format parquet)")

    keep_order = conn.execute("select current_setting('preserve_insertion_order')").fetchone()[0]
    conn.execute("set preserve_insertion_order = false")  # a setting of the database, not of a cursor
    try:
        with conn.cursor() as first, conn.cursor() as second, ThreadPoolExecutor(max_workers=2) as pool:
            for done in [pool.submit(native, first), pool.submit(parquet, second)]:
                done.result()
    finally:
        conn.execute(f"set preserve_insertion_order = {str(keep_order).lower()}")


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(versions: Path, keep: int, current: str) -> None:
    done = sorted((p for p in versions.iterdir() if p.is_dir() and not p.name.endswith(".tmp")), key=lambda p: p.name)
    for old in done[:-keep]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)
