"""The code location loads and registers what the nightly run needs."""

from __future__ import annotations

import os
import time

import dagster as dg
import pytest

from orchestration.assets.dbt import prune_invocation_folders
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
    assert {"ingest", "staging", "identity", "quality", "marts", "clv", "publish"} <= groups
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


def test_landing_sensor_requests_new_and_changed_days_once(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CLIENTELE_LANDING_DIR", str(tmp_path))
    sensor = _defs().resolve_sensor_def("landing_folders")
    for channel, day in [("pos_transactions", "2026-10-01"), ("crm_members", "2026-10-01"), ("pos_transactions", "2026-10-02")]:
        (tmp_path / channel / day).mkdir(parents=True)
        (tmp_path / channel / day / "part-0.csv").write_text("transaction_id\nT1\n")
    (tmp_path / "pos_transactions" / "2026-10-03").mkdir()  # an empty folder is not a delivery yet

    with dg.instance_for_test() as instance:
        first = sensor(dg.build_sensor_context(instance=instance))
        requested = {(r.partition_key, tuple(k.to_user_string() for k in r.asset_selection)) for r in first.run_requests}
        assert requested == {
            ("2026-10-01", ("crm_members", "pos_transactions")),
            ("2026-10-02", ("pos_transactions",)),
        }

        again = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert again.run_requests == []

        changed = tmp_path / "crm_members" / "2026-10-01" / "part-1.csv"
        changed.write_text("member_event_id\nM1\n")
        os.utime(changed, (2_000_000_000, 2_000_000_000))
        third = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert [(r.partition_key, [k.to_user_string() for k in r.asset_selection]) for r in third.run_requests] == [
            ("2026-10-01", ["crm_members"])
        ]


def test_freshness_passes_only_when_yesterday_landed(tmp_path) -> None:
    from datetime import date

    from orchestration.assets.freshness import freshness_metadata

    (tmp_path / "crm_members" / "2026-11-21").mkdir(parents=True)
    (tmp_path / "crm_members" / "2026-11-21" / "part.csv").write_text("member_event_id\nM1\n")
    (tmp_path / "crm_members" / "2026-11-22").mkdir()  # an empty folder has not landed
    passed, meta = freshness_metadata(tmp_path, "crm_members", date(2026, 11, 23))
    assert not passed and meta["latest_landed_day"] == "2026-11-21" and meta["days_behind"] == 1
    (tmp_path / "crm_members" / "2026-11-22" / "part.csv").write_text("member_event_id\nM2\n")
    assert freshness_metadata(tmp_path, "crm_members", date(2026, 11, 23))[0]
    assert freshness_metadata(tmp_path, "survey_responses", date(2026, 11, 23)) == (
        False, {"expected_day": "2026-11-22", "latest_landed_day": "never", "days_behind": -1})


def test_a_failed_run_writes_an_alert_and_calls_the_webhook(tmp_path, monkeypatch) -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from orchestration.sensors import alert_on_run_failure

    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("CLIENTELE_HOME", str(tmp_path))
    monkeypatch.setenv("CLIENTELE_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hook")

    @dg.op
    def load_the_day() -> None:
        raise ValueError("landing/pos_transactions/2026-11-22/part-0.csv: cannot be read")

    @dg.job
    def broken() -> None:
        load_the_day()

    with dg.instance_for_test() as instance:
        result = broken.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
        context = dg.build_run_status_sensor_context(
            sensor_name="alert_on_run_failure", dagster_instance=instance, dagster_run=run, dagster_event=failure
        ).for_run_failure()
        alert_on_run_failure(context)
    server.shutdown()

    logged = [json.loads(line) for line in (tmp_path / "alerts" / "alerts.jsonl").read_text().splitlines()]
    assert len(logged) == 1 and logged[0]["job"] == "broken" and logged[0]["run_id"] == result.run_id
    assert logged[0]["failed_steps"][0]["step"] == "load_the_day"
    assert "cannot be read" in logged[0]["failed_steps"][0]["error"]
    assert received and received[0]["run_id"] == result.run_id


def test_dbt_invocation_folders_past_their_retention_are_removed(tmp_path, monkeypatch) -> None:
    """Only folders named as dagster-dbt names an invocation's, last written before the cutoff."""
    now = time.time()
    folders = {"dbt_core_marts-1a2b3c4-5d6e7f8": 20, "dbt_staging-abcdef0-1234567": 13, "compiled": 400,
               "notes-1234567-not-hex": 400}
    for name, days in folders.items():
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (now, now - days * 86_400))
    (tmp_path / "manifest.json").write_text("{}")
    os.utime(tmp_path / "manifest.json", (now, now - 400 * 86_400))
    removed = prune_invocation_folders(tmp_path, keep_days=14, now=now)
    assert [p.name for p in removed] == ["dbt_core_marts-1a2b3c4-5d6e7f8"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "compiled", "dbt_staging-abcdef0-1234567", "manifest.json", "notes-1234567-not-hex"]

    monkeypatch.setenv("CLIENTELE_DBT_ARTIFACT_DAYS", "0")
    with pytest.raises(ValueError, match="CLIENTELE_DBT_ARTIFACT_DAYS must be a whole number of at least 1, not '0'"):
        Settings.from_env()
    monkeypatch.setenv("CLIENTELE_DBT_ARTIFACT_DAYS", "30")
    assert Settings.from_env().dbt_artifact_days == 30
