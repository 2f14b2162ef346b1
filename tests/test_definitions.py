"""The code location loads and registers what the nightly run needs."""

from __future__ import annotations

import dagster as dg

from orchestration.definitions import build_definitions
from orchestration.ingest.contracts import CHANNELS
from orchestration.settings import Settings


def _defs() -> dg.Definitions:
    return build_definitions(Settings.from_env())


def test_every_layer_is_present() -> None:
    graph = _defs().resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for channel in CHANNELS:
        assert channel in keys
    for key in ["staging/stg_pos__transactions", "identity/record_customers", "marts/orders",
                "marts/customer_rfm_summary", "clv/customer_clv", "marts/customers", "serving_snapshot"]:
        assert key in keys, key
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {"ingest", "staging", "identity", "marts", "clv", "publish"} <= groups
    assert not any(graph.get(k).group_name == "default" for k in graph.get_all_asset_keys()), "dangling dependency"


def test_ingest_assets_are_daily_partitioned() -> None:
    graph = _defs().resolve_asset_graph()
    for channel in CHANNELS:
        partitions = graph.get(dg.AssetKey(channel)).partitions_def
        assert isinstance(partitions, dg.DailyPartitionsDefinition)


def test_nightly_schedule_runs_at_two() -> None:
    defs = _defs()
    schedule = defs.resolve_schedule_def("nightly_refresh_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == "nightly_refresh"


def test_rfm_gate_is_a_blocking_check() -> None:
    graph = _defs().resolve_asset_graph()
    checks = {c.name: c for c in graph.asset_check_keys}
    assert "gx_customer_rfm_summary" in checks
    spec = graph.get_check_spec(checks["gx_customer_rfm_summary"])
    assert spec.blocking
    assert spec.asset_key == dg.AssetKey(["marts", "customer_rfm_summary"])


def test_landing_sensor_is_registered() -> None:
    assert _defs().resolve_sensor_def("landing_folders") is not None
