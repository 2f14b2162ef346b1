"""dbt-duckdb plugin: set the HMAC pads as DuckDB variables on every connection.

The compiled SQL only says ``getvariable('clientele_hmac_inner')``, so the key
never lands in dbt's target/ folder or logs.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from orchestration.privacy.keys import hmac_pads, load_key


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._inner, self._outer = hmac_pads(load_key())

    def _set(self, conn: Any) -> None:
        conn.execute("set variable clientele_hmac_inner = ?::BLOB", [self._inner])
        conn.execute("set variable clientele_hmac_outer = ?::BLOB", [self._outer])

    def configure_connection(self, conn: Any) -> None:
        self._set(conn)

    def configure_cursor(self, cursor: Any) -> Any:
        self._set(cursor)
        return cursor
