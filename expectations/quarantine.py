"""Set rows a quality rule rejected aside: moved, with their reasons, into the quarantine table.

The layout is the loader's (``quarantine.<channel>``): landing day, source file and line when the
table has them, the row as JSON text, and the reasons; nothing that was good is touched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import duckdb
import pandas as pd

from orchestration.ingest.loader import QUARANTINE_COLUMNS


def quarantine_rows(
    conn: duckdb.DuckDBPyConnection, table: str, quarantine_table: str, key: str,
    rejected: Mapping[str, Sequence[object]],
) -> int:
    """Move the rows whose ``key`` is among the keys of each reason; returns the rows moved.

    A row rejected by several rules moves once, carrying every reason ('gate:a; gate:b').
    """
    reasons: dict[str, list[str]] = defaultdict(list)
    for reason, keys in rejected.items():
        for value in keys:
            reasons[str(value)].append(f"gate:{reason}")
    if not reasons:
        return 0
    schema, name = table.split(".")
    columns = {c for c, in conn.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, name]).fetchall()}
    lineage = ", ".join(c if c in columns else f"null as {c}" for c in ("_partition", "_source_file", "_source_line"))
    conn.execute(f"create schema if not exists {quarantine_table.split('.')[0]}")
    conn.execute(f"create table if not exists {quarantine_table} ({QUARANTINE_COLUMNS})")
    keys = pd.DataFrame({"key_value": list(reasons), "reason": ["; ".join(r) for r in reasons.values()]})
    conn.register("_gate_rejected", keys)
    try:
        conn.execute("begin transaction")
        conn.execute(
            f"insert into {quarantine_table} select {lineage}, cast(to_json(t) as varchar), k.reason, now() "
            f"from {table} t join _gate_rejected k on cast(t.{key} as varchar) = k.key_value")
        moved, = conn.execute(
            f"delete from {table} where cast({key} as varchar) in (select key_value from _gate_rejected)").fetchone()
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister("_gate_rejected")
    return int(moved)
