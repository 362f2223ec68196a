"""Observed durations against the distribution a supply-twin stage will draw from (fab and plant
calibration pages)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
from scipy import stats

from aifactory.report.plotting import PALETTE, apply_layout


def fitted_law(value: float | dict[str, Any]) -> Any | None:
    """The scipy distribution of a scenario duration (None for a fixed number)."""
    if not isinstance(value, dict):
        return None
    d = value["dist"]
    if d == "lognormal":
        return stats.lognorm(s=max(value["sigma"], 1e-12), scale=value["median"])
    if d == "normal":
        sd = max(value["sd"], 1e-12)
        lo = value.get("low", -np.inf)
        hi = value.get("high", np.inf)
        return stats.truncnorm((lo - value["mean"]) / sd, (hi - value["mean"]) / sd, value["mean"], sd)
    if d == "triangular" and value["high"] > value["low"]:
        width = value["high"] - value["low"]
        return stats.triang((value["mode"] - value["low"]) / width, loc=value["low"], scale=width)
    return None


def fit_figure(
    values: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64],
    value: float | dict[str, Any],
    mean: float,
    *,
    title: str,
    x_title: str,
    sample: str,
) -> go.Figure:
    """A weighted histogram of ``values`` with the fitted density of ``value`` and the mean."""
    fig = go.Figure()
    fig.add_trace(
        go.Histogram(
            x=values, y=weights, histfunc="sum", histnorm="probability density", nbinsx=80, name=sample,
            marker_color=PALETTE[0], opacity=0.6,
        )
    )  # fmt: skip
    law = fitted_law(value)
    if law is not None and isinstance(value, dict):
        lo, hi = float(min(values.min(), law.ppf(0.001))), float(max(values.max(), law.ppf(0.999)))
        x = np.linspace(lo, hi, 400)
        fig.add_trace(
            go.Scatter(x=x, y=law.pdf(x), mode="lines", name=f"{value['dist']} (stage)",
                       line={"color": PALETTE[1], "width": 2.5})
        )  # fmt: skip
    fig.add_vline(x=mean, line={"color": PALETTE[2], "dash": "dash"}, annotation_text=f"mean {mean:.1f} d")
    apply_layout(
        fig, title=title, xaxis_title=x_title, yaxis_title="density", hovermode="closest", bargap=0.02
    )
    return fig
