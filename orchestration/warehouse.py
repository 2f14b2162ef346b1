"""Small DuckDB helpers shared by the domain code (no orchestration imports)."""

from __future__ import annotations

import duckdb


def table_exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchall()[0][0]
    )
