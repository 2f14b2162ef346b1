"""CLV safe at night: a rejected fit fails a clear check and keeps yesterday's model and scores; between refits
(weekly cadence) today's summary is scored with the last good fit."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.assets.clv import FIT_CHECK, customer_lifetime_value


def _materialise(warehouse: Path, **settings: object) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [customer_lifetime_value],
        resources={"warehouse": DuckDBResource(database=str(warehouse))},
        run_config={"ops": {"customer_lifetime_value": {"config": settings}}},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _scores(warehouse: Path) -> tuple:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute("select count(*), sum(clv_12m), max(scored_at) from clv.customer_clv").fetchone()


def _last_run(warehouse: Path) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute("select * from clv.clv_model_runs order by run_at desc limit 1").df().iloc[0].to_dict()


def test_rejected_fit_keeps_yesterdays_scores_and_weekly_cadence_reuses_the_last_fit(pipeline_run, tmp_path: Path) -> None:  # noqa: ANN001
    warehouse = tmp_path / "clientele.duckdb"
    shutil.copy(pipeline_run.warehouse, warehouse)
    yesterday, last_fit = _scores(warehouse), _last_run(warehouse)
    assert last_fit["status"] == "fitted"

    # Tonight's fit yields parameters beyond the plausible bound: rejected.
    rejected = _materialise(warehouse, max_parameter=1e-3)
    assert not rejected.success
    [check] = [e for e in rejected.get_asset_check_evaluations() if e.check_name == FIT_CHECK]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "not a plausible" in check.metadata["reason"].value
    assert "stay published" in check.metadata["kept"].value
    assert _scores(warehouse) == yesterday  # the scores BI reads are yesterday's, untouched
    failed = _last_run(warehouse)
    assert failed["status"] == "failed" and "not a plausible" in failed["error"]
    materialised = {e.asset_key.to_user_string() for e in rejected.get_asset_materialization_events()}
    assert materialised == {"clv/clv_model_runs"}  # the failure is recorded; customer_clv is not rewritten

    # Weekly refits: tonight scores with the last good fit (the rejected one is not it).
    reused = _materialise(warehouse, refit_every_days=7)
    assert reused.success
    run = _last_run(warehouse)
    assert run["status"] == "reused" and run["fitted_at"] == last_fit["run_at"]
    for key in ("bgnbd_r", "bgnbd_alpha", "bgnbd_a", "bgnbd_b", "gg_p", "gg_q", "gg_v"):
        assert run[key] == last_fit[key], key
    count, total, scored_at = _scores(warehouse)
    assert scored_at > yesterday[2]
    assert (count, total) == (yesterday[0], pytest.approx(yesterday[1], rel=1e-12))  # same data, same model

    # Daily cadence (the default): a fresh fit.
    refitted = _materialise(warehouse)
    assert refitted.success and _last_run(warehouse)["status"] == "fitted"
