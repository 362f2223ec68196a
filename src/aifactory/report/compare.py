"""The side-by-side page of ``aifactory compare``: each study's outcomes, and each one's differences from
the first with their 95 % intervals on common random numbers."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from aifactory.report.html import _chart, _p, _table
from aifactory.report.plotting import PALETTE, apply_layout, write_page
from aifactory.report.terminal import count, money


def _fmt(key: str, x: float) -> str:
    return money(x) if "value" in key or "usd" in key else count(x)


def difference_figure(doc: dict[str, Any], key: str) -> go.Figure:
    """Each study's difference from the first in ``key``: mean with its paired and independent intervals."""
    fig = go.Figure()
    others = doc["studies"][1:]
    labels = [st["label"] for st in others]
    diffs = [st["differences"][key] for st in others if key in st["differences"]]
    fig.add_trace(
        go.Bar(
            x=labels,
            y=[d["mean"] for d in diffs],
            marker={"color": PALETTE[0]},
            error_y={"type": "data", "array": [d["ci95"] for d in diffs]},
            name="common random numbers",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=[d["mean"] for d in diffs],
            mode="markers",
            marker={"size": 1},
            error_y={"type": "data", "array": [d["ci95_independent"] for d in diffs], "color": "#c0392b"},
            name="independent runs",
        )
    )
    apply_layout(fig, hovermode="closest")
    fig.update_layout(title=f"{key}: difference from {doc['studies'][0]['label']} (mean, 95 % interval)")
    return fig


def write_compare_report(path: Path, doc: dict[str, Any]) -> None:
    studies = doc["studies"]
    first = studies[0]
    keys = list(first["measures"])
    head = ["measure (P50)"] + [st["label"] for st in studies]
    rows = []
    for key in keys:
        row = [key]
        for st in studies:
            q = st["measures"].get(key)
            cell = "–" if q is None else _fmt(key, q["p50"])
            d = st.get("differences", {}).get(key)
            if d is not None:
                cell += f"  (Δ {_fmt(key, d['mean'])} ± {_fmt(key, d['ci95'])})"
            row.append(cell)
        rows.append(row)
    targets = []
    for st in studies:
        for t in st["targets"]:
            targets.append(
                [
                    st["label"],
                    t["name"],
                    t["by"],
                    _fmt(t["metric"], t["target"]),
                    _fmt(t["metric"], t["p50"]),
                    f"{t['probability_met']:.0%}",
                ]
            )
    capex = [[st["label"], money(st["capex_usd"]) if st["capex_usd"] is not None else "–"] for st in studies]
    bottlenecks = [
        [st["label"], ", ".join(f"{k} {v:.0%}" for k, v in st["bottlenecks"].items() if v > 0.005)]
        for st in studies
    ]
    body = [
        f"<h1>Compare — {' vs '.join(escape(st['label']) for st in studies)}</h1>",
        _p(
            f"{doc['runs']:,} runs each with seed {doc['seed']}: the same runs for every study, so each "
            "difference is measured run by run (common random numbers); ± is its 95 % interval."
        ),
        "<h2>Targets</h2>",
        _table(["study", "target", "by", "goal", "P50", "P(met)"], targets, left=3),
        "<h2>Outcomes and differences from the first</h2>",
        _table(head, rows),
    ]
    for key in ("value_usd", "gpus_delivered"):
        if len(studies) > 1 and key in first["measures"]:
            body.append(_chart(difference_figure(doc, key), 380))
    body += [
        "<h2>Costs of additions (plans)</h2>",
        _table(["study", "additions"], capex),
        "<h2>Bottlenecks (share of run-days binding)</h2>",
        _table(["study", "stages"], bottlenecks, left=2),
    ]
    write_page(path, "compare", body)
