"""dbt models as assets, in three steps around the Python assets that sit between them:

staging (and the identity graph's input) -> identity resolution -> core marts
(orders, RFM summary) -> CLV -> customer marts (profile, equity).
Each step runs `dbt build` (models and their data tests) on one tag.
"""

import json
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from dagster_duckdb import DuckDBResource

from orchestration.resources import WAREHOUSE_POOL, dbt_project
from orchestration.settings import Settings

GROUP_BY_FOLDER = {"staging": "staging", "intermediate": "identity", "quality": "quality", "marts": "marts"}


class ClienteleTranslator(DagsterDbtTranslator):
    """Groups by layer (the model's top folder unless its meta names a group), team ownership, DuckDB badge."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props.get("resource_type") != "model":
            return spec
        folder = props["fqn"][1] if len(props["fqn"]) > 2 else "marts"
        group = props.get("config", {}).get("meta", {}).get("dagster", {}).get("group")
        return spec.replace_attributes(
            group_name=group or GROUP_BY_FOLDER.get(folder, "marts"),
            owners=["team:analytics-engineering"],
            kinds={"dbt", "duckdb"},
        )


def with_table_facts(conn: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any], event: Any) -> Any:
    """A built model's row count and its columns typed as DuckDB stores them (descriptions from the YAML kept)."""
    if not isinstance(event, dg.Output):
        return event
    unique_id = event.metadata.get("unique_id")
    node = manifest["nodes"].get(getattr(unique_id, "value", unique_id))
    if node is None:
        return event
    schema, table = node["schema"], node["alias"]
    rows = conn.execute(f'select count(*) from "{schema}"."{table}"').fetchall()[0][0]
    typed = conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position", [schema, table]
    ).fetchall()
    descriptions = {name: column.get("description") or None for name, column in node.get("columns", {}).items()}
    schema_value = dg.TableSchema(columns=[dg.TableColumn(n, t, description=descriptions.get(n)) for n, t in typed])
    return event.with_metadata({**event.metadata, "dagster/row_count": rows, "dagster/column_schema": schema_value})


# The folder dagster-dbt gives each invocation under dbt's target path: <step>-<run id[:7]>-<uuid[:7]>.
INVOCATION_FOLDER = re.compile(r"^\w+-[0-9a-f]{7}-[0-9a-f]{7}$")


def prune_invocation_folders(target: Path, keep_days: int, now: float | None = None) -> list[Path]:
    """Delete the invocation folders (artifacts and dbt.log) last written more than ``keep_days`` ago; returns them.

    dagster-dbt writes a new folder for every invocation and never removes one: 4.4 MB each, three a night, so a
    nightly deployment gathered about 5 GB a year. Other folders and files under the target path are left alone."""
    cutoff = (now or time.time()) - keep_days * 86_400
    stale = [p for p in target.iterdir() if p.is_dir() and INVOCATION_FOLDER.match(p.name) and p.stat().st_mtime < cutoff]
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale


def build_dbt_step(name: str, tag: str, description: str) -> dg.AssetsDefinition:
    def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: DuckDBResource) -> Iterator[Any]:
        # Unit tests check SQL logic on fixtures, not data: they run in `make test`, not every night.
        # A test whose parents are built in two steps (a relationship from a customer mart to an identity
        # model) runs in the step that builds the last of them ('buildable'), not in the first ('eager').
        args = ["build", "--exclude-resource-type", "unit_test", "--indirect-selection", "buildable"]
        invocation = dbt.cli(args, context=context, raise_on_error=False)
        events = list(invocation.stream())
        pruned = prune_invocation_folders(invocation.target_path.parent, Settings.from_env().dbt_artifact_days)
        if pruned:
            context.log.info(f"removed {len(pruned)} dbt invocation folders older than the retention")
        # dbt's process holds DuckDB's only lock while it runs: row counts and column types are read after it.
        manifest = json.loads(dbt_project.manifest_path.read_text())
        with warehouse.get_connection() as conn:
            for event in events:
                yield with_table_facts(conn, manifest, event)
        if not invocation.is_successful():
            raise invocation.get_error()  # after the models that were built have been reported

    _build.__doc__ = description  # the op's description in the UI
    return dbt_assets(
        manifest=dbt_project.manifest_path,
        select=f"tag:{tag}",
        name=name,
        dagster_dbt_translator=ClienteleTranslator(),
        pool=WAREHOUSE_POOL,
    )(_build)


dbt_staging = build_dbt_step(
    "dbt_staging", "before_identity", "Staging models (typed, normalised, pseudonymised) and the identity graph's input."
)
dbt_core_marts = build_dbt_step(
    "dbt_core_marts", "after_identity", "Orders stitched to customers, the RFM summary and its calibration/holdout split."
)
dbt_customer_marts = build_dbt_step(
    "dbt_customer_marts", "after_clv", "The unified customer profile, its identifiers and customer equity."
)
