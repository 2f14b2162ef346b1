"""Publish: the serving snapshot BI tools read, swapped in only after every gate upstream passed."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.resources import WAREHOUSE_POOL, PlatformPaths
from orchestration.serving.postgres import publish_to_postgres
from orchestration.serving.publish import PUBLISHED_TABLES, current_path, last_published_at, publish
from orchestration.settings import Settings

# Every published table's asset (schema.table in PUBLISHED_TABLES is its asset key), and the erasure log.
UPSTREAM = [source.split(".") for source in PUBLISHED_TABLES.values()] + [["privacy", "erasure_log"]]
KEPT_VERSIONS = 3


@dg.asset(
    deps=[dg.AssetKey(k) for k in UPSTREAM],
    group_name="publish",
    kinds={"duckdb", "parquet"},
    owners=["team:data-engineering"],
    pool=WAREHOUSE_POOL,
)
def serving_snapshot(context: dg.AssetExecutionContext, warehouse: DuckDBResource, paths: PlatformPaths) -> dg.MaterializeResult:
    """The marts as a read-only DuckDB file plus Parquet per mart, swapped in atomically for BI
    (and to PostgreSQL schema ``clientele`` when CLIENTELE_POSTGRES_URL is set)."""
    previous = last_published_at(paths.serving)
    with warehouse.get_connection() as conn:
        erased_since, = conn.execute(
            "select count(*) from privacy.erasure_log where processed_at > coalesce(?, timestamp '1900-01-01')",
            [previous],
        ).fetchall()[0]
        # Older versions still hold people erased since: keep none of them, and copy nothing from them.
        published = publish(conn, paths.serving, keep=1 if erased_since else KEPT_VERSIONS, from_previous=not erased_since)
    context.log.info("published version %s to %s", published.version, current_path(paths.serving))
    postgres: dict[str, object] = {}
    postgres_url = Settings.from_env().postgres_url
    if postgres_url:
        rows = publish_to_postgres(published.path, postgres_url, published.version, keep=1 if erased_since else 2)
        postgres = {"postgres_schema": "clientele", "postgres_rows": sum(rows.values())}
        context.log.info("published version %s to PostgreSQL (schema clientele)", published.version)
    return dg.MaterializeResult(
        metadata=postgres | {
            "version": published.version,
            "serving_file": dg.MetadataValue.path(str(current_path(paths.serving))),
            "tables": dg.MetadataValue.json(published.row_counts),
            "dagster/row_count": sum(published.row_counts.values()),
            "published_tables": len(PUBLISHED_TABLES),
            "erasures_since_last_version": erased_since,
            "tables_by_difference": dg.MetadataValue.json(list(published.by_difference)),
        }
    )
