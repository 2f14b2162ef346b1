"""A failing blocking gate stops CLV and publication in the same run; BI keeps the last good snapshot."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from orchestration.serving.publish import current_path
from tests.conftest import configure_environment


def _fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_repeat_buyer_with_zero_spend_blocks_publication(pipeline_run, tmp_path: Path) -> None:  # noqa: ANN001
    from orchestration.cli import run_pipeline
    from orchestration.settings import Settings

    home = tmp_path / "home"
    shutil.copytree(pipeline_run.home, home, symlinks=True, ignore=shutil.ignore_patterns("dagster_home"))
    saved = dict(os.environ)
    try:
        configure_environment(home)
        served = current_path(home / "serving")
        version_before = os.readlink(home / "serving" / "current")
        bytes_before = _fingerprint(served)
        # Two free purchases on two days by a new member: frequency 1, monetary value 0, impossible for Gamma-Gamma.
        for day in pipeline_run.days[-3:-1]:
            folder = home / "landing" / "pos_transactions" / day
            (folder / "voucher.csv").write_text(
                "transaction_id,store_id,occurred_at,transaction_type,loyalty_id,amount\n"
                f"FREE-{day},S001,{day} 12:00:00,sale,LFREE0001,0.00\n"
            )
        result = run_pipeline(Settings.from_env(), (pipeline_run.days[0], pipeline_run.days[-1]))
        gate = [e for e in result.get_asset_check_evaluations() if e.check_name == "gx_customer_rfm_summary"]
        assert gate and not gate[0].passed
        assert "monetary_value" in str(gate[0].metadata["results"].value)
        materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert "marts/customer_rfm_summary" in materialised
        assert "clv/customer_clv" not in materialised
        assert "serving_snapshot" not in materialised
        assert os.readlink(home / "serving" / "current") == version_before
        assert _fingerprint(served) == bytes_before
    finally:
        os.environ.clear()
        os.environ.update(saved)
