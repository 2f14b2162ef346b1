"""The benchmark harness's own guards: a run that cannot fit on the disk stops before it starts; a missed aim
names the stage that holds it back; the profile is of the run's slowest model, run as dbt ran it."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from benchmarks.nightly_refresh import (
    DISK_BYTES_PER_CUSTOMER,
    check_free_space,
    markdown,
    night_ratio,
    slowest_model_profile,
)


def test_a_run_too_large_for_the_disk_stops_with_what_it_needs(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    fits = free // DISK_BYTES_PER_CUSTOMER // 2
    check_free_space(tmp_path, fits)
    too_many = free // DISK_BYTES_PER_CUSTOMER + 1_000_000
    with pytest.raises(SystemExit, match=rf"GiB free, and a run of {too_many:,} customers needs about \d+ GiB"):
        check_free_space(tmp_path, too_many)


def test_a_night_over_its_aim_names_its_slowest_stage() -> None:
    full = {"seconds": 1000.0}
    stages = {"ingest": {"seconds": 10.4}, "identity": {"seconds": 103.6}, "publish": {"seconds": 120.1},
              "other": {"seconds": 900.0}}  # time outside the stages is no stage to name
    assert night_ratio({"seconds": 495.2, "stages": stages}, full) == (
        "49.5%; over the aim, the night's slowest stage: publish (120.1 s)")
    assert night_ratio({"seconds": 149.0, "stages": stages}, full) == "14.9%"
    assert night_ratio({"skipped": True}, full) == "not measured (--skip-night)"


def test_the_profile_explains_the_runs_slowest_model_with_the_key_set(tmp_path: Path) -> None:
    """Of two invocations, one inside the run's window: its slowest model (a test slower still is no model) is
    re-run under EXPLAIN ANALYZE. Its SQL reads the key's pads as compiled dbt SQL does; unset, it finds no rows."""
    home, target = tmp_path / "home", tmp_path / "target"
    (home / "warehouse").mkdir(parents=True)
    (home / "secrets").mkdir()
    (home / "secrets" / "hash_key").write_text("a test key")
    with duckdb.connect(str(home / "warehouse" / "clientele.duckdb")) as conn:
        conn.execute("create schema staging")
        conn.execute("create table staging.clicks as select range % 500 as device, range as occurred from range(200000)")
    windowed = ("select device, occurred, lag(occurred) over (partition by device order by occurred) as previous from staging.clicks "
                "where getvariable('clientele_hmac_inner') is not null")

    def invocation(name: str, mtime: float, results: list[tuple[str, float, str | None]]) -> None:
        (target / name).mkdir(parents=True)
        path = target / name / "run_results.json"
        path.write_text(json.dumps({"results": [
            {"unique_id": uid, "execution_time": seconds, "compiled_code": sql} for uid, seconds, sql in results]}))
        os.utime(path, (mtime, mtime))

    started = time.time() - 100
    invocation("dbt_core_marts-abc1234-def5678", started + 50, [
        ("model.clientele.sessions", 12.0, windowed), ("model.clientele.orders", 3.0, "select 1 as one"),
        ("test.clientele.unique_sessions_session_id", 30.0, "select 1")])
    invocation("dbt_core_marts-0000000-1111111", started - 500, [("model.clientele.older", 99.0, "select 2")])
    profile = slowest_model_profile(home, {"started_at": started, "seconds": 100.0}, target)
    assert (profile["node"], profile["build_seconds"]) == ("sessions", 12.0)
    kinds = {op["operator"] for op in profile["operators"]}
    assert "WINDOW" in kinds and "TABLE_SCAN" in kinds
    scan = next(op for op in profile["operators"] if op["operator"] == "TABLE_SCAN")
    assert "clicks" in scan["detail"]
    assert next(op for op in profile["operators"] if op["operator"] == "WINDOW")["rows"] == 200_000  # the key was set
    assert "EXPLAIN_ANALYZE" not in kinds
    assert sum(op["share"] for op in profile["operators"]) == pytest.approx(1.0, abs=0.01)  # fewer than 8: all of them
    result = {"customers": 1, "days": 1, "date": "2026-11-25", "rows": {"raw_rows": 1},
              "full_refresh": {"seconds": 100.0, "peak_gib": 1.0, "stages": {}},
              "incremental_night": {"skipped": True, "stages": {}}, "ratios": {}, "targets": "met",
              "identity": {"identifiers": 1, "edges": 1, "iterations": 1, "customers": 1, "precision": 1, "recall": 1,
                           "recall_ceiling": 1},
              "baselines": {"plain_read": {"seconds": 1}, "scan_and_aggregate": {"seconds": 1},
                            "plain_lifetimes": {"seconds": 1}}, "profiles": {"full refresh": profile}}
    assert "full refresh's slowest model, sessions, spends its time" in markdown(result)
    assert "| WINDOW |" in markdown(result)

    quiet = slowest_model_profile(home, {"started_at": started + 60, "seconds": 10.0}, target)
    assert quiet == {"skipped": "no dbt model in the run"}
