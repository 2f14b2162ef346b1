"""dbt-duckdb plugin: set the HMAC pads as DuckDB variables on every connection.

The compiled SQL only says ``getvariable('clientele_hmac_inner')``, so the key
never lands in dbt's target/ folder or logs.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from orchestration.privacy.keys import hmac_pads, load_key, set_hmac_pads


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._pads = hmac_pads(load_key())

    def configure_connection(self, conn: Any) -> None:
        set_hmac_pads(conn, self._pads)

    def configure_cursor(self, cursor: Any) -> Any:
        set_hmac_pads(cursor, self._pads)
        return cursor
