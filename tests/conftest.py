"""Shared fixtures: a small generated data set and one real pipeline run in a temporary folder."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from orchestration.synthetic.generator import GeneratorConfig, generate

SMALL = GeneratorConfig(customers=1_500, days=150, seed=7)


@dataclass
class PipelineRun:
    home: Path
    landing: Path
    warehouse: Path
    serving: Path
    result: object
    days: list[str]


def configure_environment(home: Path) -> dict[str, str]:
    values = {
        "CLIENTELE_HOME": str(home),
        "CLIENTELE_LANDING_DIR": str(home / "landing"),
        "CLIENTELE_WAREHOUSE": str(home / "warehouse" / "clientele.duckdb"),
        "CLIENTELE_SERVING_DIR": str(home / "serving"),
        "CLIENTELE_HASH_KEY_FILE": str(home / "secrets" / "hash_key"),
        "DAGSTER_HOME": str(home / "dagster_home"),
    }
    os.environ.update(values)
    (home / "dagster_home").mkdir(parents=True, exist_ok=True)
    (home / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ.pop("CLIENTELE_HASH_KEY", None)
    os.environ.pop("CLIENTELE_PARTITION_START", None)
    return values


def pytest_configure(config: pytest.Config) -> None:
    """Point every path at a fresh temporary home and write dbt's manifest before definitions load."""
    from orchestration.cli import _prepare_environment, prepare_dbt
    from orchestration.settings import Settings

    warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview).*")
    home = Path(tempfile.mkdtemp(prefix="clientele-tests-"))
    configure_environment(home)
    _prepare_environment(Settings.from_env())
    prepare_dbt()


@pytest.fixture(scope="session")
def pipeline_run() -> PipelineRun:
    """Generate ~1,500 customers over 150 days and run the nightly job once, for real."""
    from orchestration.cli import landed_days, run_pipeline
    from orchestration.settings import Settings

    settings = Settings.from_env()
    generate(SMALL, settings.landing_dir)
    days = landed_days(settings.landing_dir)
    result = run_pipeline(settings, (days[0], days[-1]))
    return PipelineRun(settings.home, settings.landing_dir, settings.warehouse_path, settings.serving_dir, result, days)


def run_dbt(*args: str, warehouse: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The project's dbt on the tests' warehouse, or on another DuckDB file (a copy a test may change)."""
    from orchestration.resources import dbt_executable
    from orchestration.settings import DBT_PROJECT_DIR

    env = os.environ | ({"CLIENTELE_WAREHOUSE": str(warehouse)} if warehouse else {})
    return subprocess.run(
        [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR, capture_output=True, text=True, check=False, env=env,
    )


@contextmanager
def pipeline_copy(pipeline_run: PipelineRun, tmp_path: Path) -> Iterator[Path]:
    """A copy of the tests' pipeline home, the environment pointed at it inside the block, for a test that
    breaks data and runs the pipeline again without touching the shared run."""
    home = tmp_path / "home"
    shutil.copytree(pipeline_run.home, home, symlinks=True, ignore=shutil.ignore_patterns("dagster_home"))
    saved = dict(os.environ)
    try:
        configure_environment(home)
        yield home
    finally:
        os.environ.clear()
        os.environ.update(saved)


def fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows_only_in_each(conn: duckdb.DuckDBPyConnection, left: str, right: str, columns: str = "*") -> tuple[int, int]:
    """How many rows of ``left`` are not in ``right``, and of ``right`` not in ``left``, duplicates counted (EXCEPT
    ALL both ways): (0, 0) when the two relations (tables, or table functions such as read_parquet) hold the same
    rows."""
    return conn.execute(
        f"select (select count(*) from (select {columns} from {left} except all select {columns} from {right})), "
        f"(select count(*) from (select {columns} from {right} except all select {columns} from {left}))"
    ).fetchone()
