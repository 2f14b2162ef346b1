"""Identity resolution: link every record to a stable customer_id (see orchestration.identity.resolve)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.identity.resolve import resolve_identities
from orchestration.resources import WAREHOUSE_POOL

IDENTITY_TABLES = {
    "record_customers": "One row per source record with a usable identifier: its customer_id.",
    "identifier_customers": "One row per hashed identifier value used for linking: its customer_id.",
    "customer_registry": "One row per customer_id ever issued (active or merged).",
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
            deps=[dg.AssetKey(["intermediate", "int_identifier_occurrences"])],
        )
        for name, text in IDENTITY_TABLES.items()
    ],
    pool=WAREHOUSE_POOL,
)
def identity_resolution(context: dg.AssetExecutionContext, warehouse: DuckDBResource):  # noqa: ANN201
    """Connected components of the identifier graph, to convergence, with over-merge guards."""
    with warehouse.get_connection() as conn:
        result = resolve_identities(conn)
        counts = {
            name: conn.execute(f"select count(*) from identity.{name}").fetchall()[0][0] for name in IDENTITY_TABLES
        }
    context.log.info("identity resolution: %s", result)
    for name in IDENTITY_TABLES:
        metadata: dict[str, object] = {"dagster/row_count": counts[name]}
        if name == "resolution_runs":
            metadata |= {k: v for k, v in vars(result).items()}
        yield dg.MaterializeResult(asset_key=["identity", name], metadata=metadata)
