"""Customer lifetime value with lifetimes: BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader & Hardie 2013).

Input contract, checked at the door: a frame with ``customer_id, frequency,
recency, T, monetary_value`` (``customer_id`` unique), as the dbt model
``customer_rfm_summary`` writes it.

Customers with the same (frequency, recency, T) have the same likelihood, so
BG/NBD is fitted once per distinct row with weights and scores are computed
per distinct row and joined back; the parameters equal the uncompressed fit.
Gamma-Gamma is fitted on repeat buyers only (its likelihood needs x > 0);
one-time buyers get the population mean spend p*v/(q-1).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import ConvergenceError
    from scipy.special import hyp2f1

SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value")
BGNBD_PARAMS = ("r", "alpha", "a", "b")
GG_PARAMS = ("p", "q", "v")
DAYS_PER_MONTH = 365.25 / 12
MAX_LOG_SD = 1.0
FIT_TOLERANCES = (1e-7, 1e-6, 1e-5)


class ImplausibleFit(RuntimeError):
    """The fit did not converge or its parameters make no sense; keep yesterday's model."""


@dataclass(frozen=True)
class ClvConfig:
    penalizer: float = 0.0
    monthly_discount_rate: float = 0.01
    horizon_months: int = 12
    time_unit_days: float = 1.0
    band_draws: int = 40
    seed: int = 7
    # Parameters beyond these bounds are treated as a failed fit.
    max_parameter: float = 1e5


@dataclass
class ClvFit:
    bgnbd: dict[str, float]
    bgnbd_se: dict[str, float]
    gamma_gamma: dict[str, float]
    gamma_gamma_se: dict[str, float]
    bgnbd_log_likelihood: float
    customers: int
    distinct_rows: int
    repeat_buyers: int
    config: ClvConfig
    library_versions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: dict[str, object], cfg: ClvConfig) -> ClvFit:
        """The model a ``clv_model_runs`` row describes (the inverse of ``as_record``), to score with it again."""
        def pick(prefix: str, keys: tuple[str, ...], suffix: str = "") -> dict[str, float]:
            values = {k: record.get(f"{prefix}_{k}{suffix}") for k in keys}
            return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(float(v))}

        return cls(
            bgnbd=pick("bgnbd", BGNBD_PARAMS), bgnbd_se=pick("bgnbd", BGNBD_PARAMS, "_se"),
            gamma_gamma=pick("gg", GG_PARAMS), gamma_gamma_se=pick("gg", GG_PARAMS, "_se"),
            bgnbd_log_likelihood=float(record["bgnbd_log_likelihood"]), customers=int(record["customers"]),
            distinct_rows=int(record["distinct_rows"]), repeat_buyers=int(record["repeat_buyers"]), config=cfg,
            library_versions=json.loads(str(record.get("library_versions") or "{}")),
        )

    def as_record(self) -> dict[str, object]:
        record: dict[str, object] = {f"bgnbd_{k}": v for k, v in self.bgnbd.items()}
        record |= {f"bgnbd_{k}_se": v for k, v in self.bgnbd_se.items()}
        record |= {f"gg_{k}": v for k, v in self.gamma_gamma.items()}
        record |= {f"gg_{k}_se": v for k, v in self.gamma_gamma_se.items()}
        record |= {
            "bgnbd_log_likelihood": self.bgnbd_log_likelihood,
            "customers": self.customers,
            "distinct_rows": self.distinct_rows,
            "repeat_buyers": self.repeat_buyers,
            "penalizer": self.config.penalizer,
            "time_unit_days": self.config.time_unit_days,
            "monthly_discount_rate": self.config.monthly_discount_rate,
        }
        return record


def check_summary(summary: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise ValueError(f"RFM summary lacks columns {missing}")
    if summary["customer_id"].duplicated().any():
        raise ValueError("RFM summary has duplicate customer_id values")
    bad = summary[(summary["frequency"] < 0) | (summary["recency"] > summary["T"] + 1e-9) | (summary["recency"] < 0)]
    if len(bad):
        raise ValueError(f"RFM summary has {len(bad)} impossible rows (frequency < 0 or recency outside [0, T])")
    return summary


def compress(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Distinct rows of ``columns`` with a ``weight`` column counting them."""
    return frame.groupby(columns, sort=True).size().rename("weight").reset_index()


def _standard_errors(fitter: object) -> dict[str, float]:
    try:
        se = fitter.summary["se(coef)"]  # type: ignore[attr-defined]
        return {str(k): float(v) for k, v in se.items()}
    except Exception:  # noqa: BLE001 - lifetimes raises several kinds when the Hessian is singular
        return {}


def _check_params(name: str, params: dict[str, float], cfg: ClvConfig) -> None:
    for key, value in params.items():
        if not math.isfinite(value) or value <= 0 or value > cfg.max_parameter:
            raise ImplausibleFit(f"{name} parameter {key}={value!r} is not a plausible positive finite value")


def _fit_with_retries(name: str, fit_once: Callable[[float], object]) -> None:
    """Fit, retrying at looser tolerances: scipy reports "precision loss" near the optimum on some data sets."""
    last_error: Exception | None = None
    for tol in FIT_TOLERANCES:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit_once(tol)
            return
        except ConvergenceError as exc:
            last_error = exc
    raise ImplausibleFit(f"{name} fit did not converge at tol {FIT_TOLERANCES}: {str(last_error).strip()}")


def fit_bgnbd(
    rows: pd.DataFrame, cfg: ClvConfig, initial_params: dict[str, float] | None = None
) -> BetaGeoFitter:
    """Fit BG/NBD on distinct (frequency, recency, T) rows with a ``weight`` column (see ``compress``)."""
    start = None
    if initial_params:  # lifetimes optimises log-parameters with time scaled by 10 / max(T)
        scale = 10.0 / float(rows["T"].max())
        p = initial_params
        start = np.log([p["r"], p["alpha"] * scale, p["a"], p["b"]])
    bgf = BetaGeoFitter(penalizer_coef=cfg.penalizer)
    _fit_with_retries(
        "BG/NBD",
        lambda tol: bgf.fit(
            rows["frequency"], rows["recency"], rows["T"], weights=rows["weight"], initial_params=start, tol=tol
        ),
    )
    _check_params("BG/NBD", _params(bgf), cfg)
    return bgf


def fit_gamma_gamma(summary: pd.DataFrame, cfg: ClvConfig) -> tuple[GammaGammaFitter, int]:
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(repeat) < 10:
        raise ImplausibleFit(f"Gamma-Gamma needs repeat buyers; only {len(repeat)} found")
    rows = compress(repeat, ["frequency", "monetary_value"])
    ggf = GammaGammaFitter(penalizer_coef=cfg.penalizer)
    _fit_with_retries(
        "Gamma-Gamma", lambda tol: ggf.fit(rows["frequency"], rows["monetary_value"], weights=rows["weight"], tol=tol)
    )
    _check_params("Gamma-Gamma", _params(ggf), cfg)
    return ggf, len(repeat)


def _params(fitter: BetaGeoFitter | GammaGammaFitter) -> dict[str, float]:
    return {str(k): float(v) for k, v in fitter.params_.items()}


def fit(summary: pd.DataFrame, cfg: ClvConfig, initial_params: dict[str, float] | None = None) -> tuple[ClvFit, BetaGeoFitter, GammaGammaFitter]:
    check_summary(summary)
    rows = compress(summary, ["frequency", "recency", "T"])
    bgf = fit_bgnbd(rows, cfg, initial_params)
    ggf, repeat_buyers = fit_gamma_gamma(summary, cfg)
    bgnbd = _params(bgf)
    result = ClvFit(
        bgnbd=bgnbd,
        bgnbd_se=_standard_errors(bgf),
        gamma_gamma=_params(ggf),
        gamma_gamma_se=_standard_errors(ggf),
        bgnbd_log_likelihood=bgnbd_log_likelihood(bgnbd, rows),
        customers=len(summary),
        distinct_rows=len(rows),
        repeat_buyers=repeat_buyers,
        config=cfg,
        library_versions={p: metadata.version(p) for p in ("lifetimes", "numpy", "scipy", "pandas")},
    )
    return result, bgf, ggf


def bgnbd_log_likelihood(params: dict[str, float], rows: pd.DataFrame) -> float:
    """Total BG/NBD log-likelihood of weighted distinct rows, in the data's own time unit (paper eq. 6; CDNOW weeks: -9582.4)."""
    log_params = np.log([params["r"], params["alpha"], params["a"], params["b"]])
    mean_nll = BetaGeoFitter._negative_log_likelihood(
        log_params, rows["frequency"].to_numpy(), rows["recency"].to_numpy(), rows["T"].to_numpy(),
        rows["weight"].to_numpy(), 0.0,
    )
    return float(-mean_nll * rows["weight"].sum())


def _purchase_numerator(params: dict[str, float], t: np.ndarray | float, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Numerator of E[Y(t) | x, t_x, T] (paper eq. 10, as lifetimes computes it): depends on (x, T), not on t_x.

    Its Gauss hypergeometric term is the costly part of scoring, so it is evaluated once per distinct
    (frequency, T) pair: far fewer than distinct (frequency, recency, T) rows.
    """
    r, alpha, a, b = (params[k] for k in BGNBD_PARAMS)
    _a, _b, _c = r + x, b + x, a + b + x - 1
    _z = t / (alpha + T + t)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        ln_hyp = np.log(hyp2f1(_a, _b, _c, _z))
        inf = np.isinf(ln_hyp)
        if inf.any():  # lifetimes' fallback: Euler's transformation of the same function
            _a, _b, _c, _z = (np.broadcast_to(v, ln_hyp.shape)[inf] for v in (_a, _b, _c, _z))
            ln_hyp[inf] = np.log(hyp2f1(_c - _a, _c - _b, _c, _z)) + (_c - _a - _b) * np.log(1 - _z)
        return (a + b + x - 1) / (a - 1) * (1 - np.exp(ln_hyp + (r + x) * np.log((alpha + T) / (alpha + t + T))))


def _purchase_denominator(params: dict[str, float], x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, a, b = (params[k] for k in BGNBD_PARAMS)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return 1 + (x > 0) * (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x)


@dataclass(frozen=True)
class _DistinctRows:
    """Distinct (frequency, recency, T) rows and, inside them, the distinct (frequency, T) pairs."""

    x: np.ndarray
    tx: np.ndarray
    T: np.ndarray
    pair_x: np.ndarray
    pair_T: np.ndarray
    pair_of_row: np.ndarray

    @classmethod
    def of(cls, rows: pd.DataFrame) -> _DistinctRows:
        x, tx, T = (rows[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
        pairs, pair_of_row = np.unique(np.column_stack([x, T]), axis=0, return_inverse=True)
        return cls(x, tx, T, pairs[:, 0], pairs[:, 1], pair_of_row.ravel())

    def expected_purchases(self, params: dict[str, float], t: float) -> np.ndarray:
        numerator = _purchase_numerator(params, t, self.pair_x, self.pair_T)
        return numerator[self.pair_of_row] / _purchase_denominator(params, self.x, self.tx, self.T)

    def discounted_purchases(self, params: dict[str, float], cfg: ClvConfig) -> np.ndarray:
        """Sum over months m of E[purchases in month m] / (1 + d)^m (the CLV of one unit of spend)."""
        months = np.arange(1, cfg.horizon_months + 1, dtype=float)[:, None]
        cumulative = _purchase_numerator(params, months * DAYS_PER_MONTH / cfg.time_unit_days, self.pair_x, self.pair_T)
        in_month = np.diff(cumulative, axis=0, prepend=0.0)  # E[Y(0)] = 0
        discounted = (in_month / (1 + cfg.monthly_discount_rate) ** months).sum(axis=0)
        return discounted[self.pair_of_row] / _purchase_denominator(params, self.x, self.tx, self.T)


def _expected_spend(gg: dict[str, float], frequency: np.ndarray, monetary: np.ndarray) -> np.ndarray:
    """Gamma-Gamma conditional mean spend; the population mean p*v/(q-1) where frequency is 0."""
    p, q, v = gg["p"], gg["q"], gg["v"]
    population = p * v / (q - 1)
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary, dtype=float)
    weight = p * x / (p * x + q - 1)
    return np.where(x > 0, (1 - weight) * population + weight * m, population)


def score(summary: pd.DataFrame, model: ClvFit) -> pd.DataFrame:
    """Per customer: P(alive), expected purchases at 30/90/365 days, expected spend, 12-month CLV and its p10-p90 band."""
    cfg = model.config
    rows = compress(summary, ["frequency", "recency", "T"])
    distinct = _DistinctRows.of(rows)
    bgf = BetaGeoFitter()
    bgf.params_ = pd.Series(model.bgnbd)
    rows["p_alive"] = np.clip(
        np.asarray(bgf.conditional_probability_alive(distinct.x, distinct.tx, distinct.T), dtype=float), 0.0, 1.0)
    for days in (30, 90, 365):
        rows[f"expected_purchases_{days}d"] = distinct.expected_purchases(model.bgnbd, days / cfg.time_unit_days)
    rows["discounted_purchases"] = distinct.discounted_purchases(model.bgnbd, cfg)

    # Parameter uncertainty: draw (log-)parameters from the fits' asymptotic normal distribution.
    rng = np.random.default_rng(cfg.seed)
    draws = []
    for _ in range(cfg.band_draws):
        bg = _draw(model.bgnbd, model.bgnbd_se, rng)
        draws.append((distinct.discounted_purchases(bg, cfg), _draw(model.gamma_gamma, model.gamma_gamma_se, rng)))

    out = summary[list(SUMMARY_COLUMNS)].merge(rows, on=["frequency", "recency", "T"], how="left")
    out["expected_avg_order_value"] = _expected_spend(model.gamma_gamma, out["frequency"], out["monetary_value"])
    out["clv_12m"] = out["expected_avg_order_value"] * out["discounted_purchases"]
    if draws:
        index = rows.set_index(["frequency", "recency", "T"]).index
        position = index.get_indexer(pd.MultiIndex.from_frame(out[["frequency", "recency", "T"]]))
        frequency, monetary = out["frequency"].to_numpy(dtype=float), out["monetary_value"].to_numpy(dtype=float)
        samples = np.empty((len(out), len(draws)))
        for i, (purchases, gg) in enumerate(draws):
            samples[:, i] = purchases[position] * _expected_spend(gg, frequency, monetary)
        out["clv_12m_p10"], out["clv_12m_p90"] = _band(samples, out["clv_12m"].to_numpy())
    else:
        out["clv_12m_p10"] = out["clv_12m_p90"] = out["clv_12m"]
    return out.drop(columns=["weight", "discounted_purchases"])


def _band(samples: np.ndarray, point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p10 and p90 of each row's draws.

    A draw far in the tail can make the hypergeometric terms non-finite for some rows: such draws are left
    out for those rows (the slower nan-aware percentile runs on those rows only); a row with no usable
    draw gets its point estimate.
    """
    finite = np.isfinite(samples)
    low, high = np.percentile(samples, [10, 90], axis=1)
    partial = ~finite.all(axis=1)
    if partial.any():
        masked = np.where(finite[partial], samples[partial], np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-nan rows: handled below
            low[partial], high[partial] = np.nanpercentile(masked, [10, 90], axis=1)
        none = ~finite.any(axis=1)
        low[none], high[none] = point[none], point[none]
    return low, high


def _draw(params: dict[str, float], se: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    """One parameter draw, log-normal so parameters stay positive (delta method: sd(log k) = se/k)."""
    drawn = {}
    for key, value in params.items():
        sd = se.get(key, 0.0) / value if value > 0 and math.isfinite(se.get(key, 0.0)) else 0.0
        sd = min(sd, MAX_LOG_SD)  # a poorly identified parameter must not explode the band
        drawn[key] = float(value * math.exp(rng.normal(0.0, sd)))
    if "q" in drawn and drawn["q"] <= 1.0001:
        drawn["q"] = 1.0001
    return drawn


HOLDOUT_METRICS = ("holdout_customers", "holdout_mae_per_customer", "holdout_predicted_total",
                   "holdout_actual_total", "holdout_aggregate_error")


def validate_on_holdout(holdout: pd.DataFrame, cfg: ClvConfig) -> tuple[dict[str, float | str | None], BetaGeoFitter | None]:
    """Fit on the calibration period, predict the holdout: per-customer MAE, aggregate error, and that model.

    The holdout is a diagnostic: a calibration window too short to fit (a and b running off to infinity
    when few customers have dropped out yet) is reported in ``holdout_fit_error``, not raised.
    """
    cal = holdout.rename(columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T"})
    metrics: dict[str, float | str | None] = dict.fromkeys(HOLDOUT_METRICS, math.nan) | {
        "holdout_customers": float(len(cal)), "holdout_fit_error": None}
    if cal.empty:
        metrics["holdout_fit_error"] = "no customers in the calibration period"
        return metrics, None
    try:
        bgf = fit_bgnbd(compress(cal, ["frequency", "recency", "T"]), cfg)
    except ImplausibleFit as exc:
        metrics["holdout_fit_error"] = str(exc)
        return metrics, None
    duration = cal["duration_holdout"].to_numpy(dtype=float)
    predicted = np.asarray(
        bgf.conditional_expected_number_of_purchases_up_to_time(duration, cal["frequency"], cal["recency"], cal["T"]),
        dtype=float,
    )
    actual = cal["frequency_holdout"].to_numpy(dtype=float)
    return metrics | {
        "holdout_mae_per_customer": float(np.mean(np.abs(predicted - actual))),
        "holdout_predicted_total": float(predicted.sum()),
        "holdout_actual_total": float(actual.sum()),
        "holdout_aggregate_error": float((predicted.sum() - actual.sum()) / max(actual.sum(), 1e-9)),
    }, bgf


