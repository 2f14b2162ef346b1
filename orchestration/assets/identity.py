"""Identity resolution: link every record to a stable customer_id, then honour erasure requests.

See orchestration.identity.resolve and orchestration.privacy.erasure.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.identity.resolve import resolve_identities
from orchestration.privacy.erasure import apply_erasures
from orchestration.resources import WAREHOUSE_POOL

IDENTITY_TABLES = {
    "record_customers": "One row per source record with a usable identifier: its customer_id (and when the record happened).",
    "identifier_customers": "One row per hashed identifier value used for linking: its customer_id.",
    "customer_registry": "One row per customer_id ever issued (active or merged).",
    "customer_changes": "One row per customer_id whose records may have changed hands: when it last happened.",
    "record_buckets": "One row per bucket of records (channel, day, part of the record ids): count and hash sum, which "
    "tell the next run which buckets of the record map to redo.",
    "identity_edges": "One row per (identifier, linked identifier, channel): which rule and source linked what.",
    "held_back_identifiers": "One row per identifier value kept out of linking by a guard, with the reason.",
    "merge_log": "One row per merge or split of customer ids, with survivor and reason.",
    "resolution_runs": "One row per resolution run: iterations to convergence and counts.",
}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["identity", name],
            description=text,
            group_name="identity",
            kinds={"duckdb", "python"},
            owners=["team:data-engineering"],
            deps=[dg.AssetKey(["intermediate", "int_identifier_records"])],
        )
        for name, text in IDENTITY_TABLES.items()
    ]
    + [
        dg.AssetSpec(
            ["privacy", "erasure_log"],
            description="One row per erasure request honoured: request id, dates and counts (the audit row; "
            "the person's data is gone from raw PII columns, staging, identity, marts and the published tables).",
            group_name="identity",
            kinds={"duckdb", "python"},
            owners=["team:data-engineering"],
            deps=[dg.AssetKey(["staging", "stg_privacy__requests"])],
        )
    ],
    pool=WAREHOUSE_POOL,
)
def identity_resolution(context: dg.AssetExecutionContext, warehouse: DuckDBResource):  # noqa: ANN201
    """Connected components of the identifier graph, to convergence, with over-merge guards; then erasures."""
    with warehouse.get_connection() as conn:
        result = resolve_identities(conn)
        erasures = apply_erasures(conn)
        counts = {
            name: conn.execute(f"select count(*) from identity.{name}").fetchall()[0][0] for name in IDENTITY_TABLES
        }
        erasure_log_rows = conn.execute("select count(*) from privacy.erasure_log").fetchall()[0][0]
    context.log.info("identity resolution: %s; erasures: %s", result, erasures)
    for name in IDENTITY_TABLES:
        metadata: dict[str, object] = {"dagster/row_count": counts[name]}
        if name == "resolution_runs":
            metadata |= {k: v for k, v in vars(result).items()}
        yield dg.MaterializeResult(asset_key=["identity", name], metadata=metadata)
    yield dg.MaterializeResult(
        asset_key=["privacy", "erasure_log"],
        metadata={"dagster/row_count": erasure_log_rows} | {k: v for k, v in vars(erasures).items()},
    )
