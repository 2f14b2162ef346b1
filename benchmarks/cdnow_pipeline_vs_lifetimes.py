"""Does the pipeline fit the same model as lifetimes fitted directly on the same CDNOW log?

    CLIENTELE_HOME=/tmp/cdnow make run CDNOW=1
    CLIENTELE_HOME=/tmp/cdnow .venv/bin/python benchmarks/cdnow_pipeline_vs_lifetimes.py

Reads the newest row of clv.clv_model_runs from the warehouse, builds the RFM
summary with lifetimes' own summary_data_from_transaction_data from
CDNOW_master.txt at the pipeline's cut-off and time unit, fits BetaGeoFitter and
GammaGammaFitter plainly (no compression, no weights), and prints both
parameter sets with their relative differences. Exit code 1 above 1e-4.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestration.ingest.cdnow import read_cdnow  # noqa: E402
from orchestration.settings import Settings  # noqa: E402

TOLERANCE = 1e-4


def main() -> int:
    settings = Settings.from_env()
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        run = conn.execute("select * from clv.clv_model_runs order by run_at desc limit 1").df().iloc[0]
        unit = conn.execute("select max(time_unit_days) from marts.customer_rfm_summary").fetchall()[0][0]
    log = read_cdnow()
    summary = summary_data_from_transaction_data(
        log, "customer_id", "date", monetary_value_col="dollar_value",
        observation_period_end=run["cutoff_date"], freq="D", freq_multiplier=unit,
    )
    bgf = BetaGeoFitter(penalizer_coef=float(run.get("penalizer", 0.0) or 0.0))
    bgf.fit(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    ggf = GammaGammaFitter(penalizer_coef=float(run.get("penalizer", 0.0) or 0.0))
    ggf.fit(repeat["frequency"], repeat["monetary_value"])
    direct = {**{k: bgf.params_[k] for k in ("r", "alpha", "a", "b")}, **{k: ggf.params_[k] for k in ("p", "q", "v")}}
    print(f"CDNOW, {len(summary):,} customers, cut-off {run['cutoff_date']}, time unit {unit} days")
    print("| parameter | pipeline | lifetimes direct | relative difference |")
    print("| --- | --- | --- | --- |")
    worst = 0.0
    for name, value in direct.items():
        column = f"bgnbd_{name}" if name in ("r", "alpha", "a", "b") else f"gg_{name}"
        ours = float(run[column])
        rel = abs(ours - value) / abs(value)
        worst = max(worst, rel)
        print(f"| {name} | {ours:.6f} | {value:.6f} | {rel:.2e} |")
    print(f"largest relative difference {worst:.2e} (tolerance {TOLERANCE:g})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
