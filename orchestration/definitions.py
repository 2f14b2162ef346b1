"""The clientele code location: builds Definitions and nothing else."""

from __future__ import annotations

import dagster as dg

from orchestration.assets.clv import customer_lifetime_value
from orchestration.assets.dbt import dbt_core_marts, dbt_customer_marts, dbt_staging
from orchestration.assets.freshness import freshness_checks
from orchestration.assets.identity import identity_resolution
from orchestration.assets.ingest import build_ingest_assets
from orchestration.assets.publish import serving_snapshot
from orchestration.assets.quality import quality_checks
from orchestration.jobs import build_jobs
from orchestration.partitions import daily_partitions
from orchestration.resources import build_resources
from orchestration.schedules import build_schedules
from orchestration.sensors import alert_on_run_failure, build_landing_sensor
from orchestration.settings import Settings


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    partitions = daily_partitions(settings)
    nightly, ingest, models = build_jobs(partitions)
    return dg.Definitions(
        assets=[
            *build_ingest_assets(partitions),
            dbt_staging,
            identity_resolution,
            dbt_core_marts,
            customer_lifetime_value,
            dbt_customer_marts,
            serving_snapshot,
        ],
        asset_checks=[*quality_checks, *freshness_checks],
        jobs=[nightly, ingest, models],
        schedules=build_schedules(nightly),
        sensors=[build_landing_sensor(ingest, partitions), alert_on_run_failure],
        resources=build_resources(settings),
        # DuckDB has one writer: steps of a run execute one after another in one process.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
