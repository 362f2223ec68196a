"""The plant design page: cost against throughput of every candidate tried, the frontier, the target, and
the chosen design with what binds in it."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from aifactory.report.plotting import figure_html
from aifactory.report.style import CSS


def frontier_figure(summary: dict[str, Any]) -> go.Figure:
    """Every candidate (cost a week against mean racks a week), the frontier, the target, the choice."""
    target = summary["target_racks_per_week"]

    def hover(row: dict[str, Any]) -> str:
        values = "<br>".join(f"{k} = {v}" for k, v in row["values"].items())
        share = f"target met in {row['share_meeting_target']:.0%} of {row['replications']} runs"
        cost = f"${row['cost_per_week_usd']:,.0f} a week"
        return f"{cost}<br>{row['racks_per_week_mean']:.1f} racks a week<br>{share}<br>{values}"

    fig = go.Figure()
    for feasible in (True, False):
        rows = [
            r
            for r in summary["candidates"]
            if (r["share_meeting_target"] >= summary["probability"]) == feasible
        ]
        fig.add_trace(
            go.Scatter(
                x=[r["cost_per_week_usd"] for r in rows],
                y=[r["racks_per_week_mean"] for r in rows],
                mode="markers",
                name="meets the target" if feasible else "falls short",
                marker={"size": 8, "color": "#2a7" if feasible else "#bbb", "symbol": "circle"},
                hovertext=[hover(r) for r in rows],
                hoverinfo="text",
            )
        )
    front = summary["frontier"]
    fig.add_trace(
        go.Scatter(
            x=[r["cost_per_week_usd"] for r in front],
            y=[r["racks_per_week_mean"] for r in front],
            mode="lines",
            line={"shape": "hv", "color": "#345"},
            name="frontier",
            hoverinfo="skip",
        )
    )
    if summary["chosen"] is not None:
        c = summary["chosen"]
        fig.add_trace(
            go.Scatter(
                x=[c["cost_per_week_usd"]],
                y=[c["racks_per_week_mean"]],
                mode="markers",
                name="chosen",
                marker={"size": 16, "color": "#d62", "symbol": "star"},
                hovertext=[hover(c)],
                hoverinfo="text",
            )
        )
    fig.add_hline(y=target, line_dash="dash", line_color="#d62", annotation_text=f"target {target:g}")
    fig.update_layout(
        title="Cost against throughput of every design tried",
        xaxis_title="cost per week (USD: capital amortised, labour)",
        yaxis_title="racks a week (mean of the replications)",
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 60, "r": 20, "t": 50, "b": 60},
    )
    return fig


def _values_table(summary: dict[str, Any]) -> str:
    rows = [
        ("chosen", summary["chosen"]),
        ("as written", summary["current"]),
        ("largest", summary["largest"]),
    ]
    shown = [(label, r) for label, r in rows if r is not None]
    names = list(summary["current"]["values"])
    head = "".join(f"<th>{html.escape(label)}</th>" for label, _ in shown)
    body = "".join(
        f"<tr><td class='l'>{html.escape(n)}</td>"
        + "".join(f"<td>{r['values'][n]}</td>" for _, r in shown)
        + "</tr>"
        for n in names
    )
    body += (
        "<tr><td class='l'>cost a week</td>"
        + "".join(f"<td>${r['cost_per_week_usd']:,.0f}</td>" for _, r in shown)
        + "</tr>"
    )
    body += (
        "<tr><td class='l'>racks a week</td>"
        + "".join(f"<td>{r['racks_per_week_mean']:.1f}</td>" for _, r in shown)
        + "</tr>"
    )
    body += (
        "<tr><td class='l'>target met in</td>"
        + "".join(f"<td>{r['share_meeting_target']:.0%} of {r['replications']}</td>" for _, r in shown)
        + "</tr>"
    )
    head = f"<thead><tr><th class='l'>variable</th>{head}</tr></thead>"
    return f"<table class='narrow'>{head}<tbody>{body}</tbody></table>"


def design_body(summary: dict[str, Any]) -> str:
    target, p = summary["target_racks_per_week"], summary["probability"]
    if summary["chosen"] is not None:
        c = summary["chosen"]
        headline = (
            f"The cheapest design that makes <b>{target:g} racks a week</b> in at least {p:.0%} of the runs "
            f"costs <b>${c['cost_per_week_usd']:,.0f} a week</b> and makes {c['racks_per_week_mean']:.1f} on "
            f"average ({c['share_meeting_target']:.0%} of {c['replications']} runs meet it)."
        )
        why = "".join(f"<li>{html.escape(b)}</li>" for b in summary["binding"])
        detail = f"<h2>What binds</h2><ul>{why}</ul>"
    else:
        headline = f"No design within the bounds makes <b>{target:g} racks a week</b> in {p:.0%} of the runs."
        caps = "".join(f"<li>{html.escape(b)}</li>" for b in summary["caps"])
        detail = f"<h2>What caps it</h2><ul>{caps}</ul>"
    tried = (
        f"{len(summary['candidates'])} designs tried ({summary['trials']} trials), "
        f"{summary['replications']}–{summary['max_replications']} replications each "
        f"of {summary['days']:g} days "
        f"({summary['warmup_days']:g} warm-up), the same seeds for every design; seed {summary['seed']}."
    )
    return (
        f"<p class='headline'>{headline}</p>\n<p class='meta'>{html.escape(tried)}</p>\n"
        f"<div class='chart'>{figure_html(frontier_figure(summary), 460)}</div>\n{detail}\n"
        f"<h2>Designs</h2>{_values_table(summary)}"
    )


def write_design_report(path: Path, plant_name: str, summary: dict[str, Any]) -> None:
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(plant_name)} — plant design</title>\n<style>{CSS}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n</head>\n<body>\n<main>\n'
        f"<header><h1>Plant design: {html.escape(plant_name)}</h1></header>\n"
        + design_body(summary)
        + "\n</main>\n</body>\n</html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
