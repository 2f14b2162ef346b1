"""A failing blocking gate stops CLV and publication in the same run; BI keeps the last good snapshot."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.serving.publish import current_path
from tests.conftest import fingerprint, pipeline_copy


def test_many_repeat_buyers_with_zero_spend_block_publication(pipeline_run, tmp_path: Path) -> None:  # noqa: ANN001
    from orchestration.cli import run_pipeline
    from orchestration.settings import Settings

    with pipeline_copy(pipeline_run, tmp_path) as home:
        served = current_path(home / "serving")
        version_before = os.readlink(home / "serving" / "current")
        bytes_before = fingerprint(served)
        # A broken voucher feed: 60 new members each with two free purchases on two days, so frequency 1 and
        # monetary value 0, impossible for Gamma-Gamma, for several percent of the repeat buyers.
        for day in pipeline_run.days[-3:-1]:
            folder = home / "landing" / "pos_transactions" / day
            (folder / "voucher.csv").write_text(
                "transaction_id,store_id,occurred_at,transaction_type,loyalty_id,amount\n"
                + "".join(f"FREE-{day}-{i},S001,{day} 12:00:00,sale,LFREE{i:04d},0.00\n" for i in range(60))
            )
        result = run_pipeline(Settings.from_env(), (pipeline_run.days[0], pipeline_run.days[-1]))
        gate = [e for e in result.get_asset_check_evaluations() if e.check_name == "gx_customer_rfm_summary"]
        assert gate and not gate[0].passed
        # touchpoints, incremental, passed in the first run: this run validates the rows it built since that pass
        # (every row here: the whole range was loaded again, so every row was rewritten).
        journeys, = [e for e in result.get_asset_check_evaluations() if e.check_name == "gx_touchpoints"]
        validated, table_rows, since = (journeys.metadata[k].value for k in ("rows_validated", "table_rows", "rows_built_since"))
        with duckdb.connect(str(home / "warehouse" / "clientele.duckdb"), read_only=True) as conn:
            built_since = conn.execute("select count(*) from marts.touchpoints where built_at > ?", [since]).fetchone()[0]
            passes = conn.execute("select count(*) from quality.gate_passes where table_name = 'marts.touchpoints'").fetchone()[0]
        assert journeys.passed and validated == built_since and passes == 2, (validated, built_since, table_rows, since)
        assert "monetary_value" in str(gate[0].metadata["results"].value)
        materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert "marts/customer_rfm_summary" in materialised
        assert "clv/customer_clv" not in materialised
        assert "serving_snapshot" not in materialised
        assert os.readlink(home / "serving" / "current") == version_before
        assert fingerprint(served) == bytes_before


def _rfm_frame(repeat_buyers: int, without_spend: int) -> pd.DataFrame:
    frame = pd.DataFrame({
        "customer_id": [f"C{i}" for i in range(repeat_buyers + 50)],
        "frequency": [2.0] * repeat_buyers + [0.0] * 50,
        "recency": [30.0] * repeat_buyers + [0.0] * 50,
        "T": [90.0] * (repeat_buyers + 50),
        "monetary_value": [25.0] * repeat_buyers + [0.0] * 50,
    })
    frame.loc[: without_spend - 1, "monetary_value"] = 0.0
    return frame


def test_a_few_repeat_buyers_without_spend_warn_and_many_block() -> None:
    from expectations.runner import validate
    from expectations.suites import customer_rfm_summary

    clean = validate(_rfm_frame(500, 0), customer_rfm_summary.build())
    assert clean.passed and clean.failed == []

    few = validate(_rfm_frame(500, 2), customer_rfm_summary.build())
    assert few.passed
    assert [(f.on_failure, f.column, f.unexpected_count) for f in few.failed] == [("warn", "monetary_value", 2)]

    many = validate(_rfm_frame(500, 25), customer_rfm_summary.build())
    assert not many.passed
    assert sorted(f.on_failure for f in many.failed) == ["block", "warn"]
