"""Plotly figures of the HTML supply report: bands over time, value against targets, heat maps, tornado.

Every builder returns a ``plotly.graph_objects.Figure``; :func:`figure_html` turns one into an HTML
fragment that relies on plotly.js being loaded once by the page (no CDN, works offline).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from aifactory.report.plotting import PALETTE, apply_layout, rgba
from aifactory.scenario.model import Scenario
from aifactory.supply.series import Band, Series


def _iso(dates: Sequence[dt.date]) -> list[str]:
    return [d.isoformat() for d in dates]


def bucket_lengths(series: Series, start: dt.date) -> np.ndarray:
    """Days in each bucket (the last one may be shorter than ``bucket_days``)."""
    ends = [start - dt.timedelta(days=1), *series.dates]
    return np.array([max((b - a).days, 1) for a, b in itertools.pairwise(ends)], dtype=np.float64)


def money_scale(largest: float) -> tuple[float, str]:
    """Divisor and suffix to show dollar amounts up to ``largest`` on an axis."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(largest) >= scale:
            return scale, suffix
    return 1.0, ""


def add_band(
    fig: go.Figure,
    x: list[str],
    band: Band,
    colour: str,
    name: str,
    *,
    scale: float = 1.0,
    factor: np.ndarray | float = 1.0,
    mean: bool = True,
    row: int | None = None,
    col: int | None = None,
    hover_format: str = ",.0f",
) -> None:
    """P10–P90 shaded area, P50 solid line and (optionally) mean dashed line."""
    p10, p50, p90, avg = (
        np.asarray(getattr(band, k)) * factor / scale for k in ("p10", "p50", "p90", "mean")
    )
    where = {"row": row, "col": col} if row is not None else {}
    fig.add_trace(
        go.Scatter(
            x=x + x[::-1],
            y=np.concatenate([p90, p10[::-1]]),
            fill="toself",
            fillcolor=rgba(colour, 0.18),
            line={"width": 0},
            hoverinfo="skip",
            name=f"{name} P10–P90",
            legendgroup=name,
            showlegend=False,
        ),
        **where,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=p50,
            customdata=np.stack([p10, p90], axis=-1),
            line={"color": colour, "width": 2},
            name=name,
            legendgroup=name,
            hovertemplate=f"P50 %{{y:{hover_format}}} (P10 %{{customdata[0]:{hover_format}}}"
            f" – P90 %{{customdata[1]:{hover_format}}})",
        ),
        **where,
    )
    if mean:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=avg,
                line={"color": colour, "width": 1.2, "dash": "dash"},
                name=f"{name} mean",
                legendgroup=name,
                showlegend=False,
                hovertemplate=f"mean %{{y:{hover_format}}}",
            ),
            **where,
        )


def destination_figure(s: Scenario, series: Series, dest: str, item: str) -> go.Figure:
    """Cumulative units delivered (left) and the delivery rate per week (right) for one destination."""
    x = _iso(series.dates)
    per_week = 7.0 / bucket_lengths(series, s.start)
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.09,
        subplot_titles=(f"Cumulative {item} delivered", f"{item} delivered per week"),
    )
    add_band(
        fig, x, series.bands[f"destination/{dest}/{item}_cumulative"], PALETTE[0], "cumulative", row=1, col=1
    )
    add_band(
        fig,
        x,
        series.bands[f"destination/{dest}/{item}"],
        PALETTE[1],
        "per week",
        factor=per_week,
        row=1,
        col=2,
    )
    apply_layout(fig, showlegend=False)
    fig.update_yaxes(rangemode="tozero")
    return fig


def site_output_figure(s: Scenario, series: Series) -> go.Figure | None:
    """Output per week of each site's final producers, one row of panels per item."""
    per_week = 7.0 / bucket_lengths(series, s.start)
    by_item: dict[str, list[str]] = {}
    for name, band in series.bands.items():
        group, site, item = name.split("/", 2)
        if group == "site" and float(np.max(band.p90, initial=0.0)) > 0:
            by_item.setdefault(item, []).append(site)
    if not by_item:
        return None
    items = [i for i in s.items if i in by_item]
    fig = make_subplots(
        rows=len(items),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=[f"{i} per week" for i in items],
    )
    sites = list(s.sites)
    x = _iso(series.dates)
    for row, item in enumerate(items, start=1):
        for site in by_item[item]:
            colour = PALETTE[sites.index(site) % len(PALETTE)] if site in sites else PALETTE[-1]
            band = series.bands[f"site/{site}/{item}"]
            add_band(fig, x, band, colour, f"{site} · {item}", factor=per_week, mean=False, row=row, col=1)
    apply_layout(fig)
    fig.update_yaxes(rangemode="tozero")
    return fig


def target_marker(fig: go.Figure, y: float, by: str, text: str, colour: str) -> None:
    """A target as dotted lines: its level across the chart and its date down it, labelled."""
    line = {"color": colour, "width": 2, "dash": "dot"}
    fig.add_shape(type="line", xref="paper", x0=0, x1=1, yref="y", y0=y, y1=y, line=line)
    fig.add_shape(type="line", xref="x", x0=by, x1=by, yref="paper", y0=0, y1=1, line=line)
    fig.add_annotation(
        xref="paper", x=0.01, yref="y", y=y, xanchor="left", yanchor="bottom", showarrow=False, text=text,
        font={"color": colour},
    )  # fmt: skip


def value_figure(s: Scenario, series: Series, targets: list[dict[str, Any]]) -> go.Figure | None:
    """Cumulative value delivered (all destinations, and each one if several) against value targets."""
    total = series.bands.get("total/all/value_usd_cumulative")
    if total is None:
        return None
    value_targets = [t for t in targets if t["metric"] == "value_usd"]
    largest = max([float(np.max(total.p90, initial=0.0))] + [float(t["target"]) for t in value_targets])
    scale, suffix = money_scale(largest)
    x = _iso(series.dates)
    fig = go.Figure()
    hover = ",.1f"
    add_band(fig, x, total, PALETTE[0], "all destinations", scale=scale, hover_format=hover)
    dests = [d for d in s.destinations if f"destination/{d}/value_usd_cumulative" in series.bands]
    if len(dests) > 1:
        for i, did in enumerate(dests, start=1):
            band = series.bands[f"destination/{did}/value_usd_cumulative"]
            add_band(
                fig, x, band, PALETTE[i % len(PALETTE)], did, scale=scale, mean=False, hover_format=hover
            )
    for i, t in enumerate(value_targets):
        colour = ("#b03a2e", "#6c3483", "#1e8449")[i % 3]
        label = t.get("name") or f"value target by {t['by']}"
        y = t["target"] / scale
        target_marker(fig, y, t["by"], f"target ${y:,.0f}{suffix} by {t['by']} ({label})", colour)
    last = max([series.dates[-1]] + [dt.date.fromisoformat(t["by"]) for t in value_targets])
    apply_layout(fig)
    fig.update_xaxes(range=[x[0], (last + dt.timedelta(days=14)).isoformat()])
    fig.update_yaxes(
        title={"text": f"US$ ({suffix or 'units'})"}, tickprefix="$", ticksuffix=suffix, rangemode="tozero"
    )
    return fig


def heatmap_figure(
    s: Scenario, series: Series, measure: str, title: str, colourscale: str
) -> go.Figure | None:
    """Stages (scenario order, top to bottom) × bucket dates, coloured by ``measure`` in [0, 1]."""
    stages = [sid for sid in s.stages if sid in series.stage_heat]
    if not stages:
        return None
    z = [
        [None if not math.isfinite(float(v)) else float(v) for v in series.stage_heat[sid][measure]]
        for sid in stages
    ]
    fig = go.Figure(
        go.Heatmap(
            x=_iso(series.dates),
            y=stages,
            z=z,
            zmin=0,
            zmax=1,
            colorscale=colourscale,
            colorbar={"title": {"text": title}, "tickformat": ".0%", "thickness": 14},
            xgap=0,
            ygap=1,
            hovertemplate="%{y}<br>week to %{x}<br>" + title + " %{z:.0%}<extra></extra>",
        )
    )
    apply_layout(fig, hovermode="closest", margin={"l": 130, "r": 30, "t": 40, "b": 40})
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(showgrid=False)
    return fig


def tornado_figure(inputs: list[dict[str, Any]], labels: list[str], outcome: str) -> go.Figure | None:
    """Horizontal bars of each input's decile swing, strongest rank correlation on top."""
    rows = [(lab, r) for lab, r in zip(labels, inputs, strict=True) if math.isfinite(float(r["swing"]))]
    if not rows:
        return None
    rows.sort(key=lambda lr: abs(float(lr[1]["spearman"])))
    is_money = outcome.endswith("_usd")
    scale, suffix = money_scale(max(abs(float(r["swing"])) for _, r in rows)) if is_money else (1.0, "")
    swings = [float(r["swing"]) / scale for _, r in rows]
    fig = go.Figure(
        go.Bar(
            y=[f"{lab}  (ρ {float(r['spearman']):+.2f})" for lab, r in rows],
            x=swings,
            orientation="h",
            marker={"color": [PALETTE[2] if v >= 0 else PALETTE[4] for v in swings]},
            hovertemplate="%{y}<br>swing %{x:,.1f}" + suffix + "<extra></extra>",
        )
    )
    apply_layout(fig, hovermode="closest", margin={"l": 20, "r": 60, "t": 20, "b": 50}, showlegend=False)
    prefix = "$" if is_money else ""
    fig.update_xaxes(
        title={"text": f"{outcome}: mean of top-decile runs − mean of bottom-decile runs"},
        tickprefix=prefix,
        ticksuffix=suffix,
        zeroline=True,
        zerolinecolor="#555",
    )
    fig.update_yaxes(automargin=True)
    return fig
