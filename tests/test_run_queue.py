"""One writer at a time: runs that write the warehouse wait in Dagster's run queue (the project's dagster.yaml),
so a manual run and the schedule's run cannot collide on DuckDB's single-writer lock."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg

from orchestration.settings import PROJECT_ROOT
from orchestration.synthetic.generator import GeneratorConfig, generate

BIN = Path(sys.executable).parent
RUNNING = (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)


def test_two_warehouse_writers_submitted_together_run_one_after_the_other(tmp_path: Path) -> None:
    home, dagster_home = tmp_path / "home", tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(PROJECT_ROOT / ".dagster_home" / "dagster.yaml", dagster_home / "dagster.yaml")
    generate(GeneratorConfig(customers=200, days=2), home / "landing")
    env = os.environ | {
        "DAGSTER_HOME": str(dagster_home),
        "CLIENTELE_HOME": str(home),
        "CLIENTELE_LANDING_DIR": str(home / "landing"),
        "CLIENTELE_WAREHOUSE": str(home / "warehouse" / "clientele.duckdb"),
        "CLIENTELE_SERVING_DIR": str(home / "serving"),
    }
    (home / "warehouse").mkdir(parents=True)
    workspace = str(PROJECT_ROOT / "workspace.yaml")
    run_ids = []
    for day, who in [("2026-10-30", "manual"), ("2026-10-31", "schedule-like")]:
        run_ids.append(str(uuid.uuid4()))
        launched = subprocess.run(
            [str(BIN / "dagster"), "job", "launch", "-w", workspace, "-j", "ingest_landing", "--run-id", run_ids[-1],
             "--tags", json.dumps({"dagster/partition": day, "submitted_by": who})],
            env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
        )
        assert launched.returncode == 0, launched.stderr[-3000:]
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    assert [instance.get_run_by_id(r).status for r in run_ids] == [dg.DagsterRunStatus.QUEUED] * 2
    # Both wait in the queue; the daemon, started now, may dequeue them in one tick, as far as the limits allow.
    daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", workspace], env=env, cwd=PROJECT_ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            records = [instance.get_run_record_by_id(r) for r in run_ids]
            if all(r.dagster_run.is_finished for r in records):
                break
            # Never two writers at once, at any moment we look.
            assert sum(r.dagster_run.status in RUNNING for r in records) <= 1
            time.sleep(0.5)
        else:
            raise AssertionError(f"runs did not finish: {[r.dagster_run.status for r in records]}")
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)

    assert [r.dagster_run.status for r in records] == [dg.DagsterRunStatus.SUCCESS] * 2
    assert all(r.dagster_run.tags["clientele/warehouse"] == "writer" for r in records)
    first, second = sorted(records, key=lambda r: r.start_time)
    assert second.start_time >= first.end_time, "the second writer started before the first had finished"
