"""``factory.html`` and the AI-factory section of ``aifactory run``'s report: utilisation fan chart,
histograms of outcomes, usage against shares, waits, energy and PUE, money, and what moves them."""

from __future__ import annotations

import datetime as dt
import warnings
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from aifactory.report.charts import add_band, money_scale, tornado_figure
from aifactory.report.plotting import PALETTE, apply_layout, figure_html, write_page
from aifactory.report.terminal import money
from aifactory.supply.series import Band
from aifactory.twin.factory_study import FactoryStudy


def _band(study: FactoryStudy, name: str, factor: float = 1.0) -> Band:
    p10, p50, p90 = study.daily_band(name) * factor
    stack = np.vstack([o.daily[name] for o in study.outcomes]) * factor
    with warnings.catch_warnings():  # days with no value in any run stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(stack, axis=0) if np.isnan(stack).any() else stack.mean(axis=0)
    return Band(mean=mean, p10=p10, p50=p50, p90=p90)


def _dates(study: FactoryStudy, n: int) -> list[str]:
    return [(study.setup.start + dt.timedelta(days=d)).isoformat() for d in range(n)]


def utilisation_figure(study: FactoryStudy) -> go.Figure:
    band = _band(study, "utilization", 100.0)
    x = _dates(study, len(band.p50))
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    add_band(fig, x, band, PALETTE[0], "utilisation", hover_format=".1f", row=1, col=1)
    installed = _band(study, "installed_gpus")
    fig.add_trace(
        go.Scatter(x=x, y=installed.p50, name="GPUs installed (P50)", line={"color": "#999", "dash": "dot"}),
        secondary_y=True,
    )
    apply_layout(fig)
    fig.update_yaxes(title_text="utilisation of the installed GPUs (%)", ticksuffix=" %", secondary_y=False)
    fig.update_yaxes(title_text="schedulable GPUs online", secondary_y=True, showgrid=False)
    return fig


def histogram_figure(study: FactoryStudy) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("utilisation per run", "margin per run"))
    fig.add_trace(
        go.Histogram(x=study.values("utilization") * 100, marker={"color": PALETTE[0]}, name="utilisation"),
        row=1,
        col=1,
    )
    margin = study.values("margin_usd")
    scale, suffix = money_scale(float(np.abs(margin).max()) if len(margin) else 0.0)
    fig.add_trace(go.Histogram(x=margin / scale, marker={"color": PALETTE[2]}, name="margin"), row=1, col=2)
    apply_layout(fig, showlegend=False, hovermode="closest")
    fig.update_xaxes(ticksuffix=" %", row=1, col=1)
    fig.update_xaxes(tickprefix="$", ticksuffix=suffix, row=1, col=2)
    fig.update_yaxes(title_text="runs", row=1, col=1)
    return fig


def shares_figure(doc: dict[str, Any]) -> go.Figure:
    progs = doc["programmes"]
    names = list(progs)

    def err(field: str, factor: float = 1.0) -> dict[str, Any]:
        q = [progs[n][field] for n in names]
        p50 = np.array([r["p50"] or 0.0 for r in q]) * factor
        return {
            "type": "data",
            "symmetric": False,
            "array": np.array([r["p90"] or 0.0 for r in q]) * factor - p50,
            "arrayminus": p50 - np.array([r["p10"] or 0.0 for r in q]) * factor,
        }

    fig = make_subplots(rows=1, cols=2, subplot_titles=("usage against the council's shares", "average wait"))
    fig.add_trace(
        go.Bar(
            x=names,
            y=[progs[n]["usage_share"]["p50"] * 100 for n in names],
            error_y=err("usage_share", 100),
            name="usage share (P50, P10–P90)",
            marker={"color": PALETTE[0]},
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=names,
            y=[progs[n]["entitlement"] * 100 for n in names],
            name="council share",
            marker={"color": "#bbb"},
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=names,
            y=[progs[n]["avg_wait_hours"]["p50"] or 0.0 for n in names],
            error_y=err("avg_wait_hours"),
            name="average wait, hours (P50, P10–P90)",
            marker={"color": PALETTE[3]},
        ),
        row=1,
        col=2,
    )
    apply_layout(fig, barmode="group", hovermode="closest")
    fig.update_yaxes(ticksuffix=" %", row=1, col=1)
    fig.update_yaxes(title_text="hours", row=1, col=2)
    return fig


def waits_figure(study: FactoryStudy) -> go.Figure:
    fig = go.Figure()
    for k, (name, series) in enumerate(study.daily_waits_p50().items()):
        fig.add_trace(
            go.Scatter(
                x=_dates(study, len(series)),
                y=series,
                name=name,
                mode="lines",
                line={"color": PALETTE[k % len(PALETTE)]},
                connectgaps=False,
            )
        )
    idle = _band(study, "idle_while_waiting_gpus")
    fig.add_trace(
        go.Scatter(
            x=_dates(study, len(idle.p50)),
            y=idle.p50,
            name="GPUs idle while jobs waited (P50)",
            yaxis="y2",
            line={"color": "#999", "dash": "dot"},
        )
    )
    apply_layout(
        fig,
        yaxis={"title": "mean wait of the jobs started that day (h, P50)"},
        yaxis2={"title": "GPUs", "overlaying": "y", "side": "right", "showgrid": False},
    )
    return fig


def power_figure(study: FactoryStudy, doc: dict[str, Any]) -> go.Figure:
    facility = _band(study, "facility_mw")
    x = _dates(study, len(facility.p50))
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    add_band(fig, x, facility, PALETTE[4], "facility power (MW)", hover_format=".2f", row=1, col=1)
    pue = _band(study, "pue")
    fig.add_trace(go.Scatter(x=x, y=pue.p50, name="PUE (P50)", line={"color": PALETTE[1]}), secondary_y=True)
    budget = doc.get("power_budget_mw")
    if budget is not None:
        fig.add_hline(y=budget, line_dash="dash", annotation_text=f"power budget {budget:g} MW")
    apply_layout(fig)
    fig.update_yaxes(title_text="MW (daily mean)", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text="PUE", secondary_y=True, showgrid=False)
    return fig


def money_figure(doc: dict[str, Any]) -> go.Figure:
    names = ["revenue_usd", "electricity_usd", "depreciation_usd", "operations_usd", "cost_usd", "margin_usd"]
    labels = ["revenue", "electricity", "depreciation", "operations", "cost", "margin"]
    qs = [doc[n] for n in names]
    scale, suffix = money_scale(max(abs(q["p50"] or 0.0) for q in qs))
    p50 = np.array([q["p50"] for q in qs]) / scale
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=p50,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": np.array([q["p90"] for q in qs]) / scale - p50,
                "arrayminus": p50 - np.array([q["p10"] for q in qs]) / scale,
            },
            marker={"color": [PALETTE[2], PALETTE[4], PALETTE[4], PALETTE[4], PALETTE[3], PALETTE[0]]},
            hovertemplate="%{x}: P50 $%{y:,.1f}" + suffix + "<extra></extra>",
        )
    )
    apply_layout(fig, showlegend=False, hovermode="closest")
    fig.update_yaxes(tickprefix="$", ticksuffix=suffix, title_text="over the simulated days (P50, P10–P90)")
    return fig


def _label(path: str) -> str:
    return path.replace("demand.", "").replace("_usd_per_gpu_hour", " (US$/GPU-h)").replace("_", " ")


def factory_body(study: FactoryStudy, doc: dict[str, Any], *, heading: bool = True) -> list[str]:
    """The page's fragments (also the section of ``aifactory run``'s report)."""
    u, m = doc["utilization"], doc["margin_usd"]
    be = doc["break_even_utilization"]["p50"]
    text = (
        f"<p><strong>P50 utilisation {u['p50']:.0%} (P10 {u['p10']:.0%} … P90 {u['p90']:.0%})</strong> "
        "of the "
        f"installed GPUs over {doc['days']:g} days from {escape(doc['start'])}, {doc['runs']} runs of "
        f"'{escape(doc['policy'])}' on {doc['gpus']:,} schedulable GPUs. Margin P50 {money(m['p50'])} "
        f"(P10 {money(m['p10'])} … P90 {money(m['p90'])}); break-even utilisation "
        f"{f'{be:.0%}' if be is not None else 'out of reach at these rates'}, break-even price "
        f"${doc['break_even_price_usd_per_gpu_hour']['p50'] or float('nan'):.2f} per GPU-hour (P50).</p>"
    )
    parts = [f"<h1>AI factory {escape(doc['factory'])}</h1>" if heading else "", text]
    charts: list[tuple[str, go.Figure | None, int]] = [
        ("Utilisation over time", utilisation_figure(study), 380),
        ("Outcomes over runs", histogram_figure(study), 320),
        ("Programmes", shares_figure(doc), 360),
        ("Waits per programme over time", waits_figure(study), 340),
        ("Energy and PUE", power_figure(study, doc), 360),
        ("Money", money_figure(doc), 340),
    ]
    for outcome, label in (("utilization", "utilisation"), ("margin_usd", "margin")):
        rows = doc["sensitivity"][outcome]
        fig = tornado_figure(rows, [_label(r["input"]) for r in rows], outcome) if rows else None
        charts.append((f"What moves the {label}", fig, 60 + 34 * max(len(rows), 1)))
    for title, fig, height in charts:
        if fig is None:
            parts.append(
                f"<h2>{escape(title)}</h2><p class='note'>No input moves it significantly at "
                f"{doc['runs']} runs.</p>"
            )
        else:
            parts.append(f"<h2>{escape(title)}</h2><div class='chart'>{figure_html(fig, height)}</div>")
    return parts


def write_factory_page(path: Path, study: FactoryStudy, doc: dict[str, Any]) -> None:
    write_page(path, f"AI factory {doc['factory']}", factory_body(study, doc))
