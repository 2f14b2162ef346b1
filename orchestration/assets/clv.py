"""CLV: fit BG/NBD + Gamma-Gamma on the RFM summary and score every customer (orchestration.clv.model)."""

import json
from datetime import datetime, timedelta

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from orchestration.clv import plots
from orchestration.clv.model import ClvConfig, ClvFit, ImplausibleFit, fit, score, validate_on_holdout
from orchestration.resources import WAREHOUSE_POOL


class ClvSettings(dg.Config):
    penalizer: float = 0.0
    monthly_discount_rate: float = 0.01
    band_draws: int = 40
    # 1: refit every run. 7: refit weekly; the runs between score today's summary with the last good fit.
    refit_every_days: int = 1
    # A fitted parameter above this is implausible: the fit is rejected and yesterday's model kept.
    max_parameter: float = 1e5


FIT_CHECK = "clv_fit_succeeded"
RUNS_KEY = dg.AssetKey(["clv", "clv_model_runs"])
SCHEDULE_SLACK = timedelta(hours=2)  # a weekly refit at 02:00 is due even if last week's ran at 02:30


def _run_columns(conn) -> set[str]:  # noqa: ANN001
    """The columns clv.clv_model_runs has (none when it does not exist yet)."""
    return {r[0] for r in conn.execute("select column_name from information_schema.columns "
                                       "where table_schema = 'clv' and table_name = 'clv_model_runs'").fetchall()}


def _last_good_fit(conn) -> dict[str, object] | None:  # noqa: ANN001
    """The latest run that fitted a model (rows from before the status column count as fitted)."""
    columns = _run_columns(conn)
    if not columns:
        return None
    fitted = "coalesce(status, 'fitted') = 'fitted'" if "status" in columns else "true"
    rows = conn.execute(f"select * from clv.clv_model_runs where {fitted} order by run_at desc limit 1").df()
    return None if rows.empty else rows.iloc[0].to_dict()


def _append_run(conn, run: pd.DataFrame) -> None:  # noqa: ANN001
    """clv_model_runs is a history kept across releases: columns added since it was created are added to it."""
    conn.execute("create schema if not exists clv")
    conn.register("run_df", run)
    conn.execute("create table if not exists clv.clv_model_runs as select * from run_df limit 0")
    known = _run_columns(conn)
    for name, kind in conn.execute("select column_name, column_type from (describe run_df)").fetchall():
        if name not in known:
            conn.execute(f'alter table clv.clv_model_runs add column "{name}" {kind}')
    conn.execute("insert into clv.clv_model_runs by name select * from run_df")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["clv", "customer_clv"],
            skippable=True,  # a rejected fit leaves yesterday's scores in place
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
    check_specs=[
        dg.AssetCheckSpec(
            FIT_CHECK, asset=RUNS_KEY, blocking=True,
            description="BG/NBD and Gamma-Gamma converged to plausible parameters (or a recent good fit was reused); "
            "if not, yesterday's model and scores stay published and the reason is in the metadata.",
        )
    ],
    pool=WAREHOUSE_POOL,
)
def customer_lifetime_value(context: dg.AssetExecutionContext, config: ClvSettings, warehouse: DuckDBResource):  # noqa: ANN201
    """Fit lifetimes on the compressed summary (or reuse the last good fit between refits), validate on the
    holdout, write scores and the run record; a rejected fit keeps yesterday's model and scores."""
    with warehouse.get_connection() as conn:
        summary = conn.execute("select * from marts.customer_rfm_summary").df()
        holdout = conn.execute("select * from marts.customer_rfm_holdout").df()
        previous = _last_good_fit(conn)
    unit = float(summary["time_unit_days"].iloc[0]) if len(summary) else 1.0
    cfg = ClvConfig(
        penalizer=config.penalizer, monthly_discount_rate=config.monthly_discount_rate,
        time_unit_days=unit, band_draws=config.band_draws, max_parameter=config.max_parameter,
    )
    run_at = datetime.now()
    window = {"run_at": run_at, "data_start": summary["first_purchase_date"].min(), "cutoff_date": summary["cutoff_date"].max()}
    reuse = (
        config.refit_every_days > 1 and previous is not None and float(previous["time_unit_days"]) == unit
        and run_at - previous["run_at"] < timedelta(days=config.refit_every_days) - SCHEDULE_SLACK
    )
    if reuse:
        model = ClvFit.from_record(previous, cfg)
        bgf, metrics, calibration_model = None, {"holdout_fit_error": None}, None
        status = "reused"
    else:
        try:
            model, bgf, _ = fit(summary, cfg)
        except ImplausibleFit as exc:
            kept = f"the model fitted at {previous['run_at']} and its scores stay published" if previous else "no model yet"
            with warehouse.get_connection() as conn:
                _append_run(conn, pd.DataFrame([window | {"status": "failed", "error": str(exc)}]))
            context.log.error("CLV fit rejected: %s; %s", exc, kept)
            yield dg.MaterializeResult(asset_key=RUNS_KEY, metadata={"status": "failed", "error": str(exc)})
            yield dg.AssetCheckResult(check_name=FIT_CHECK, asset_key=RUNS_KEY, passed=False,
                                      severity=dg.AssetCheckSeverity.ERROR,
                                      metadata={"reason": str(exc), "kept": kept})
            return
        metrics, calibration_model = validate_on_holdout(holdout, cfg)
        status = "fitted"
    scores = score(summary, model)
    run = pd.DataFrame(
        [
            model.as_record()
            | metrics
            | window
            | {
                "status": status,
                "error": None,
                "fitted_at": previous["run_at"] if reuse else run_at,
                "library_versions": json.dumps(model.library_versions),
            }
        ]
    )
    for column in ("holdout_fit_error", "error", "status"):
        run[column] = run[column].astype("string")  # VARCHAR even when empty
    scores["scored_at"] = run_at
    with warehouse.get_connection() as conn:
        conn.execute("create schema if not exists clv")
        conn.register("scores_df", scores)
        conn.execute("create or replace table clv.customer_clv as select * from scores_df")
        _append_run(conn, run)
    context.log.info("BG/NBD %s, Gamma-Gamma %s, holdout %s", model.bgnbd, model.gamma_gamma, metrics)
    if metrics.get("holdout_fit_error"):
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
        asset_key=RUNS_KEY,
        metadata={"status": status}
        | {f"bgnbd_{k}": v for k, v in model.bgnbd.items()}
        | {f"gg_{k}": v for k, v in model.gamma_gamma.items()}
        | {"log_likelihood": model.bgnbd_log_likelihood, "customers": model.customers, "distinct_rows": model.distinct_rows}
        | {k: v for k, v in metrics.items() if v is not None and v == v}  # v == v drops NaN
        | (_fit_pictures(bgf, calibration_model, holdout) if bgf is not None else {}),
    )
    yield dg.AssetCheckResult(check_name=FIT_CHECK, asset_key=RUNS_KEY, passed=True,
                              metadata={"status": status, "fitted_at": str(run["fitted_at"].iloc[0])})


def _fit_pictures(bgf, calibration_model, holdout: pd.DataFrame) -> dict[str, dg.MetadataValue]:  # noqa: ANN001
    pictures = {"p_alive_matrix": dg.MetadataValue.md(plots.as_markdown_image(plots.p_alive_matrix(bgf), "P(alive) matrix"))}
    if calibration_model is not None:
        png = plots.calibration_vs_holdout(calibration_model, holdout)
        pictures["calibration_vs_holdout"] = dg.MetadataValue.md(plots.as_markdown_image(png, "calibration vs holdout"))
    return pictures
