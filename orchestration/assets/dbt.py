"""dbt models as assets, in three steps around the Python assets that sit between them:

staging (and the identity graph's input) -> identity resolution -> core marts
(orders, RFM summary) -> CLV -> customer marts (profile, equity).
"""

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.assets.ingest import WAREHOUSE_POOL
from orchestration.resources import dbt_project

GROUP_BY_FOLDER = {"staging": "staging", "intermediate": "identity", "marts": "marts"}


class ClienteleTranslator(DagsterDbtTranslator):
    """Groups by layer (the model's top folder), team ownership, DuckDB badge."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props.get("resource_type") != "model":
            return spec
        folder = props["fqn"][1] if len(props["fqn"]) > 2 else "marts"
        return spec.replace_attributes(
            group_name=GROUP_BY_FOLDER.get(folder, "marts"),
            owners=["team:analytics-engineering"],
            kinds={"dbt", "duckdb"},
        )


translator = ClienteleTranslator()


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    yield from dbt.cli(["build"], context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    select="tag:before_identity",
    name="dbt_staging",
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def dbt_staging(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """Staging models (typed, normalised, pseudonymised) and the identity graph's input."""
    yield from _build(context, dbt)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    select="tag:after_identity",
    name="dbt_core_marts",
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def dbt_core_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """Orders stitched to customers, the RFM summary and its calibration/holdout split."""
    yield from _build(context, dbt)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    select="tag:after_clv",
    name="dbt_customer_marts",
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def dbt_customer_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """The unified customer profile, its identifiers and customer equity."""
    yield from _build(context, dbt)
