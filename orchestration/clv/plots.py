"""Pictures of a CLV fit for people in the UI: PNG bytes, drawn with lifetimes' own plotting where it has one."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from lifetimes import BetaGeoFitter  # noqa: E402
from lifetimes.plotting import (  # noqa: E402
    plot_calibration_purchases_vs_holdout_purchases,
    plot_probability_alive_matrix,
)


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def calibration_vs_holdout(calibration_model: BetaGeoFitter, holdout: pd.DataFrame, max_frequency: int = 7) -> bytes:
    """Mean predicted vs actual holdout purchases, by purchases in the calibration period."""
    axis = plot_calibration_purchases_vs_holdout_purchases(calibration_model, holdout, n=max_frequency)
    return _png(axis.get_figure())


def p_alive_matrix(model: BetaGeoFitter) -> bytes:
    axis = plot_probability_alive_matrix(model)
    return _png(axis.get_figure())


def clv_distribution(clv: pd.Series) -> bytes:
    """How value is spread: a histogram of 12-month CLV up to the 99th percentile, median and p90 marked."""
    values = clv.to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    figure, axis = plt.subplots(figsize=(6, 4))
    if len(values):
        top = float(np.quantile(values, 0.99))
        axis.hist(np.minimum(values, top), bins=50, color="#4c72b0")
        for q, style in ((0.5, "--"), (0.9, ":")):
            axis.axvline(np.quantile(values, q), color="#c44e52", linestyle=style,
                         label=f"p{int(q * 100)} = {np.quantile(values, q):,.2f}")
        axis.legend()
        axis.set_xlabel(f"CLV (values above the 99th percentile, {top:,.2f}, in the last bin)")
    axis.set_title(f"12-month CLV of {len(values):,} customers")
    axis.set_ylabel("customers")
    return _png(figure)


def as_markdown_image(png: bytes, alt: str) -> str:
    """Dagster renders Markdown metadata; an inline data URI keeps the picture with the materialisation."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
