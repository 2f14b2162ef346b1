"""Resources shared by the assets: the DuckDB warehouse, the dbt CLI and the platform's folders."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject
from dagster_duckdb import DuckDBResource

from orchestration.settings import DBT_PROJECT_DIR, Settings

# Every asset that writes the DuckDB warehouse runs in this pool: one writer at a time.
WAREHOUSE_POOL = "duckdb_warehouse"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """The dbt next to this Python (the venv's), else the one on PATH."""
    local = Path(sys.executable).parent / "dbt"
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


class PlatformPaths(dg.ConfigurableResource):
    """Folders outside the warehouse: landing files and the serving snapshot."""

    landing_dir: str
    serving_dir: str
    data_docs_dir: str

    @property
    def data_docs(self) -> Path:
        """Great Expectations' stores and its static Data Docs site (``site/index.html``)."""
        return Path(self.data_docs_dir)

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    @property
    def serving(self) -> Path:
        return Path(self.serving_dir)

def build_resources(settings: Settings) -> dict[str, object]:
    return {
        "warehouse": DuckDBResource(database=dg.EnvVar("CLIENTELE_WAREHOUSE"),
                                    connection_config={"memory_limit": settings.duckdb_memory_limit}),
        "dbt": DbtCliResource(project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()),
        "paths": PlatformPaths(
            landing_dir=dg.EnvVar("CLIENTELE_LANDING_DIR"),
            serving_dir=dg.EnvVar("CLIENTELE_SERVING_DIR"),
            data_docs_dir=str(settings.data_docs_dir),
        ),
    }
