"""CLV: fit BG/NBD + Gamma-Gamma on the RFM summary and score every customer (orchestration.clv.model)."""

import json
from datetime import datetime

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from orchestration.clv import plots
from orchestration.clv.model import ClvConfig, fit, score, validate_on_holdout
from orchestration.resources import WAREHOUSE_POOL


class ClvSettings(dg.Config):
    penalizer: float = 0.0
    monthly_discount_rate: float = 0.01
    band_draws: int = 40


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["clv", "customer_clv"],
            description="One row per customer in the RFM summary: P(alive), expected purchases (30/90/365 days), "
            "expected order value, 12-month discounted CLV with a p10-p90 band.",
            group_name="clv",
            kinds={"python", "duckdb"},
            owners=["team:data-science"],
            deps=[dg.AssetKey(["marts", "customer_rfm_summary"]), dg.AssetKey(["marts", "customer_rfm_holdout"])],
        ),
        dg.AssetSpec(
            ["clv", "clv_model_runs"],
            description="One row per model fit: parameters, standard errors, log-likelihood, data window, holdout metrics.",
            group_name="clv",
            kinds={"python", "duckdb"},
            owners=["team:data-science"],
            deps=[dg.AssetKey(["marts", "customer_rfm_summary"]), dg.AssetKey(["marts", "customer_rfm_holdout"])],
        ),
    ],
    pool=WAREHOUSE_POOL,
)
def customer_lifetime_value(context: dg.AssetExecutionContext, config: ClvSettings, warehouse: DuckDBResource):  # noqa: ANN201
    """Fit lifetimes on the compressed summary, validate on the holdout, write scores and the run record."""
    with warehouse.get_connection() as conn:
        summary = conn.execute("select * from marts.customer_rfm_summary").df()
        holdout = conn.execute("select * from marts.customer_rfm_holdout").df()
    unit = float(summary["time_unit_days"].iloc[0]) if len(summary) else 1.0
    cfg = ClvConfig(
        penalizer=config.penalizer, monthly_discount_rate=config.monthly_discount_rate,
        time_unit_days=unit, band_draws=config.band_draws,
    )
    model, bgf, _ = fit(summary, cfg)
    metrics, calibration_model = validate_on_holdout(holdout, cfg)
    scores = score(summary, model)
    run_at = datetime.now()
    run = pd.DataFrame(
        [
            model.as_record()
            | metrics
            | {
                "run_at": run_at,
                "data_start": summary["first_purchase_date"].min(),
                "cutoff_date": summary["cutoff_date"].max(),
                "library_versions": json.dumps(model.library_versions),
            }
        ]
    )
    run["holdout_fit_error"] = run["holdout_fit_error"].astype("string")  # VARCHAR even when empty
    scores["scored_at"] = run_at
    with warehouse.get_connection() as conn:
        conn.execute("create schema if not exists clv")
        conn.register("scores_df", scores)
        conn.execute("create or replace table clv.customer_clv as select * from scores_df")
        conn.register("run_df", run)
        conn.execute("create table if not exists clv.clv_model_runs as select * from run_df limit 0")
        # A history kept across releases: columns added since the table was created are added to it.
        known = {r[0] for r in conn.execute("select column_name from information_schema.columns "
                                            "where table_schema = 'clv' and table_name = 'clv_model_runs'").fetchall()}
        for name, kind in conn.execute("select column_name, column_type from (describe run_df)").fetchall():
            if name not in known:
                conn.execute(f'alter table clv.clv_model_runs add column "{name}" {kind}')
        conn.execute("insert into clv.clv_model_runs by name select * from run_df")
    context.log.info("BG/NBD %s, Gamma-Gamma %s, holdout %s", model.bgnbd, model.gamma_gamma, metrics)
    if metrics["holdout_fit_error"]:
        context.log.warning("holdout validation could not be fitted: %s", metrics["holdout_fit_error"])
    yield dg.MaterializeResult(
        asset_key=["clv", "customer_clv"],
        metadata={
            "dagster/row_count": len(scores),
            "total_clv_12m": float(scores["clv_12m"].sum()),
            "mean_p_alive": float(scores["p_alive"].mean()),
            "clv_distribution": dg.MetadataValue.md(
                plots.as_markdown_image(plots.clv_distribution(scores["clv_12m"]), "CLV distribution")
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key=["clv", "clv_model_runs"],
        metadata={f"bgnbd_{k}": v for k, v in model.bgnbd.items()}
        | {f"gg_{k}": v for k, v in model.gamma_gamma.items()}
        | {"log_likelihood": model.bgnbd_log_likelihood, "customers": model.customers, "distinct_rows": model.distinct_rows}
        | {k: v for k, v in metrics.items() if v is not None and v == v}  # v == v drops NaN
        | _fit_pictures(bgf, calibration_model, holdout),
    )


def _fit_pictures(bgf, calibration_model, holdout: pd.DataFrame) -> dict[str, dg.MetadataValue]:  # noqa: ANN001
    pictures = {"p_alive_matrix": dg.MetadataValue.md(plots.as_markdown_image(plots.p_alive_matrix(bgf), "P(alive) matrix"))}
    if calibration_model is not None:
        png = plots.calibration_vs_holdout(calibration_model, holdout)
        pictures["calibration_vs_holdout"] = dg.MetadataValue.md(plots.as_markdown_image(png, "calibration vs holdout"))
    return pictures
