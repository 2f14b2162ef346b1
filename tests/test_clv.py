"""CLV against published truths (the BG/NBD paper, the Gamma-Gamma note) and lifetimes itself."""

from __future__ import annotations

import importlib.resources
import warnings

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.clv.model import ClvConfig, ImplausibleFit, fit, score, validate_on_holdout

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter
    from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data


@pytest.fixture(scope="module")
def cdnow_summary() -> pd.DataFrame:
    path = importlib.resources.files("lifetimes") / "datasets" / "cdnow_customers_summary_with_transactions.csv"
    return pd.read_csv(str(path)).rename(
        columns={"ID": "customer_id", "x": "frequency", "t_x": "recency", "zbar": "monetary_value"}
    )


def test_reproduces_the_papers_cdnow_estimates(cdnow_summary: pd.DataFrame) -> None:
    model, _, _ = fit(cdnow_summary, ClvConfig(time_unit_days=7))
    for key, published in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert model.bgnbd[key] == pytest.approx(published, abs=0.01), key
    for key, published in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert model.gamma_gamma[key] == pytest.approx(published, abs=0.01), key
    assert model.bgnbd_log_likelihood == pytest.approx(-9582.4, abs=0.1)


def test_weighted_fit_equals_uncompressed_fit(cdnow_summary: pd.DataFrame) -> None:
    model, _, _ = fit(cdnow_summary, ClvConfig(time_unit_days=7))
    plain = BetaGeoFitter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain.fit(cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"])
    for key, value in plain.params_.items():
        assert model.bgnbd[key] == pytest.approx(float(value), rel=1e-6), key
    assert model.distinct_rows < len(cdnow_summary)


def test_scores_match_lifetimes_per_customer(cdnow_summary: pd.DataFrame) -> None:
    model, bgf, _ = fit(cdnow_summary, ClvConfig(time_unit_days=7, band_draws=10))
    scores = score(cdnow_summary, model)
    assert len(scores) == len(cdnow_summary) and scores["customer_id"].is_unique
    expected = bgf.conditional_probability_alive(cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"])
    np.testing.assert_allclose(scores["p_alive"].to_numpy(), np.asarray(expected), rtol=1e-9)
    assert ((scores["p_alive"] >= 0) & (scores["p_alive"] <= 1)).all()
    # Expected purchases are computed per distinct (frequency, T) pair and recency applied after: same numbers.
    f, r, t = (cdnow_summary[c] for c in ("frequency", "recency", "T"))
    for days in (30, 90, 365):
        expected = bgf.conditional_expected_number_of_purchases_up_to_time(days / 7, f, r, t)
        np.testing.assert_allclose(scores[f"expected_purchases_{days}d"], np.asarray(expected), rtol=1e-10)
    cumulative = [np.zeros(len(f))] + [
        np.asarray(bgf.conditional_expected_number_of_purchases_up_to_time(m * 365.25 / 12 / 7, f, r, t))
        for m in range(1, 13)]
    discounted = sum((cumulative[m] - cumulative[m - 1]) / 1.01**m for m in range(1, 13))
    np.testing.assert_allclose(scores["clv_12m"], discounted * scores["expected_avg_order_value"], rtol=1e-10)
    assert np.isfinite(scores["clv_12m"]).all() and (scores["clv_12m"] >= 0).all()
    assert (scores["clv_12m_p10"] <= scores["clv_12m_p90"]).all()
    one_timers = scores[scores["frequency"] == 0]["expected_avg_order_value"]
    p, q, v = (model.gamma_gamma[k] for k in ("p", "q", "v"))
    np.testing.assert_allclose(one_timers.to_numpy(), p * v / (q - 1))


def test_implausible_input_is_refused() -> None:
    bad = pd.DataFrame({"customer_id": [1, 2], "frequency": [1, 2], "recency": [5.0, 20.0], "T": [10.0, 10.0],
                        "monetary_value": [3.0, 4.0]})
    with pytest.raises(ValueError, match="impossible rows"):
        fit(bad, ClvConfig())
    tiny = pd.DataFrame({"customer_id": [1, 2, 3], "frequency": [0, 0, 1], "recency": [0.0, 0.0, 2.0],
                         "T": [10.0, 12.0, 10.0], "monetary_value": [0.0, 0.0, 5.0]})
    with pytest.raises(ImplausibleFit):
        fit(tiny, ClvConfig())


def test_sql_summary_matches_lifetimes_exactly(pipeline_run) -> None:  # noqa: ANN001
    with duckdb.connect(str(pipeline_run.warehouse), read_only=True) as conn:
        orders = conn.execute(
            "select customer_id, order_date, cast(amount as double) as amount from marts.orders where customer_id is not null"
        ).df()
        sql = conn.execute("select * from marts.customer_rfm_summary").df().set_index("customer_id").sort_index()
        holdout_sql = conn.execute("select * from marts.customer_rfm_holdout").df().set_index("customer_id").sort_index()
    end = sql["cutoff_date"].max()
    expected = summary_data_from_transaction_data(
        orders, "customer_id", "order_date", monetary_value_col="amount", observation_period_end=end, freq="D"
    ).sort_index()
    assert list(expected.index) == list(sql.index)
    for col in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(sql[col].to_numpy(dtype=float), expected[col].to_numpy(dtype=float), rtol=1e-9, err_msg=col)
    cal_end = holdout_sql["calibration_end"].max()
    expected_h = calibration_and_holdout_data(
        orders, "customer_id", "order_date", calibration_period_end=cal_end, observation_period_end=end,
        freq="D", monetary_value_col="amount",
    ).sort_index()
    assert list(expected_h.index) == list(holdout_sql.index)
    for col in ("frequency_cal", "recency_cal", "T_cal", "monetary_value_cal", "frequency_holdout",
                "monetary_value_holdout", "duration_holdout"):
        np.testing.assert_allclose(holdout_sql[col].to_numpy(dtype=float), expected_h[col].to_numpy(dtype=float),
                                   rtol=1e-9, err_msg=col)


def test_holdout_validation_reports_a_failed_calibration_fit_instead_of_raising(cdnow_summary: pd.DataFrame) -> None:
    holdout = pd.DataFrame({
        "frequency_cal": cdnow_summary["frequency"], "recency_cal": cdnow_summary["recency"], "T_cal": cdnow_summary["T"],
        "frequency_holdout": 0.0, "duration_holdout": 13.0,
    })
    metrics, model = validate_on_holdout(holdout, ClvConfig(time_unit_days=7))
    assert model is not None and metrics["holdout_fit_error"] is None
    assert 0 < metrics["holdout_predicted_total"] and metrics["holdout_actual_total"] == 0
    # The same data with a bound no fit can meet: reported, not raised, and no numbers pretend otherwise.
    metrics, model = validate_on_holdout(holdout, ClvConfig(time_unit_days=7, max_parameter=0.5))
    assert model is None and "not a plausible" in metrics["holdout_fit_error"]
    assert np.isnan(metrics["holdout_mae_per_customer"]) and metrics["holdout_customers"] == len(holdout)
