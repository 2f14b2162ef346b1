"""Typed settings from the environment: the one place that knows the paths.

Read the environment by calling ``Settings.from_env()`` when a run needs it,
never at import time, so tests can point a process at a temporary folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def _positive_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)


def partition_start_file(home: Path) -> Path:
    """Where `clientele run --cdnow` records that partitions start in 1997, so `make ui` agrees."""
    return home / "partition_start"


def _partition_start(home: Path) -> str:
    """First daily partition: the environment, else the recorded value, else 2025-01-01."""
    if os.environ.get("CLIENTELE_PARTITION_START"):
        return os.environ["CLIENTELE_PARTITION_START"]
    recorded = partition_start_file(home)
    return recorded.read_text().strip() if recorded.exists() else "2025-01-01"


@dataclass(frozen=True)
class Settings:
    """Where data lives and how the nightly run behaves."""

    home: Path
    landing_dir: Path
    warehouse_path: Path
    serving_dir: Path
    hash_key_file: Path
    data_docs_dir: Path
    partition_start: str
    timezone: str
    alert_webhook_url: str | None = None  # run failures are POSTed here as JSON, besides the alert log
    postgres_url: str | None = None  # the marts are also published here, for BI tools that only speak Postgres
    # DuckDB's buffer pool limit (it spills to disk beyond it); dbt reads the same variable (profiles.yml).
    duckdb_memory_limit: str = "4GB"
    dbt_artifact_days: int = 14  # how long each dbt invocation's artifacts and log are kept (assets/dbt.py)

    @classmethod
    def from_env(cls) -> Settings:
        home = _path("CLIENTELE_HOME", PROJECT_ROOT / "data")
        return cls(
            home=home,
            landing_dir=_path("CLIENTELE_LANDING_DIR", home / "landing"),
            warehouse_path=_path("CLIENTELE_WAREHOUSE", home / "warehouse" / "clientele.duckdb"),
            serving_dir=_path("CLIENTELE_SERVING_DIR", home / "serving"),
            hash_key_file=_path("CLIENTELE_HASH_KEY_FILE", home / "secrets" / "hash_key"),
            data_docs_dir=_path("CLIENTELE_DATA_DOCS_DIR", home / "data_docs"),
            partition_start=_partition_start(home),
            timezone=os.environ.get("CLIENTELE_TIMEZONE", "UTC"),
            alert_webhook_url=os.environ.get("CLIENTELE_ALERT_WEBHOOK_URL") or None,
            postgres_url=os.environ.get("CLIENTELE_POSTGRES_URL") or None,
            duckdb_memory_limit=os.environ.get("CLIENTELE_DUCKDB_MEMORY_LIMIT", "4GB"),
            dbt_artifact_days=_positive_int("CLIENTELE_DBT_ARTIFACT_DAYS", 14),
        )

    @property
    def alert_log(self) -> Path:
        return self.home / "alerts" / "alerts.jsonl"

    def export_to_environment(self) -> None:
        """Make the resolved paths visible to dbt and subprocesses (one source for both)."""
        os.environ["CLIENTELE_HOME"] = str(self.home)
        os.environ["CLIENTELE_WAREHOUSE"] = str(self.warehouse_path)
        os.environ["CLIENTELE_LANDING_DIR"] = str(self.landing_dir)
        os.environ["CLIENTELE_SERVING_DIR"] = str(self.serving_dir)
        os.environ["CLIENTELE_HASH_KEY_FILE"] = str(self.hash_key_file)
        os.environ["CLIENTELE_DATA_DOCS_DIR"] = str(self.data_docs_dir)
