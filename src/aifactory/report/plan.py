"""The plan's page: the actions on a timeline, cost by stage, the value delivered with and without the
plan against each target, the shadow prices of what binds, and how the plan was verified."""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go

from aifactory.report.charts import _iso, add_band, money_scale, target_marker
from aifactory.report.html import _chart, _p, _table
from aifactory.report.plotting import PALETTE, apply_layout, write_page
from aifactory.report.terminal import count, money
from aifactory.scenario.model import Scenario
from aifactory.supply.series import Series


def _value(metric: str, x: float | None) -> str:
    return money(x) if metric == "value_usd" else count(x)


def timeline_figure(s: Scenario, doc: dict[str, Any]) -> go.Figure:
    """Each action from the day it comes online (ramping, then at full capacity) to the horizon's end."""
    end = s.date(s.horizon_days - 1)
    fig = go.Figure()
    stages = list(dict.fromkeys(a["stage"] for a in doc["actions"]))
    for a in doc["actions"]:
        online = dt.date.fromisoformat(a["online"])
        full = min(online + dt.timedelta(days=round(a.get("ramp_days", 0.0))), end)
        label = f"{a['stage']} · {a['option']}"
        colour = PALETTE[stages.index(a["stage"]) % len(PALETTE)]
        text = f"+{a['add_per_day']:,.1f}/day, {money(a['cost_usd'])}"
        for x0, x1, width in ((online, full, 6), (full, end, 14)):
            if x1 > x0:
                fig.add_trace(
                    go.Scatter(
                        x=[x0.isoformat(), x1.isoformat()],
                        y=[label, label],
                        mode="lines",
                        line={"color": colour, "width": width},
                        showlegend=False,
                        hovertemplate=f"{escape(label)}: {text}, online {a['online']}<extra></extra>",
                    )
                )
        fig.add_annotation(
            x=online.isoformat(), y=label, text=text, showarrow=False, xanchor="left", yshift=12
        )
    apply_layout(fig, hovermode="closest")
    fig.update_xaxes(range=[s.start.isoformat(), end.isoformat()], title={"text": "online (thin: ramping)"})
    fig.update_yaxes(autorange="reversed")
    return fig


def cost_figure(doc: dict[str, Any]) -> go.Figure:
    costs = doc["cost_by_stage"]
    scale, suffix = money_scale(max(costs.values(), default=1.0))
    fig = go.Figure(
        go.Bar(
            x=list(costs),
            y=[v / scale for v in costs.values()],
            marker={"color": PALETTE[0]},
            hovertemplate="%{x}: $%{y:,.2f}" + suffix + "<extra></extra>",
        )
    )
    apply_layout(fig, hovermode="closest")
    fig.update_yaxes(title={"text": f"US$ ({suffix})"}, tickprefix="$", ticksuffix=suffix)
    return fig


def value_figure(
    s: Scenario, target: dict[str, Any], dests: list[str] | None, with_plan: Series, without: Series
) -> go.Figure | None:
    """Cumulative value to the target's destinations with and without the plan, against the target."""
    key = (
        f"destination/{dests[0]}/value_usd_cumulative"
        if dests and len(dests) == 1
        else "total/all/value_usd_cumulative"
    )
    if (dests and len(dests) > 1) or key not in with_plan.bands:
        return None
    largest = max(float(np.max(with_plan.bands[key].p90, initial=0.0)), target["target"])
    scale, suffix = money_scale(largest)
    fig = go.Figure()
    add_band(fig, _iso(without.dates), without.bands[key], PALETTE[6], "without the plan", scale=scale)
    add_band(fig, _iso(with_plan.dates), with_plan.bands[key], PALETTE[0], "with the plan", scale=scale)
    y = target["target"] / scale
    target_marker(fig, y, target["by"], f"target ${y:,.0f}{suffix} by {target['by']}", "#b03a2e")
    apply_layout(fig)
    fig.update_yaxes(title={"text": f"US$ ({suffix})"}, tickprefix="$", ticksuffix=suffix, rangemode="tozero")
    return fig


def _shadow(doc: dict[str, Any]) -> str:
    rows = doc["shadow_prices"]
    if not rows:
        return _p(
            "No capacity binds in the chosen plan's model (or the plan is capped by the options' bounds)."
        )
    budget = doc.get("budget_usd") is not None
    top = rows[0]
    what = "adds" if budget else "saves"
    gain = "of mean delivered value" if budget else "of additions"
    lead = (
        f"One more {top['unit'].removesuffix(' per day')} a day at {top['stage']} through {top['year']} "
        f"{what} {money(top['worth_usd_per_unit_per_day'])} {gain}."
    )
    table = _table(
        ["stage", "year", "worth of one more unit a day", "unit"],
        [[r["stage"], str(r["year"]), money(r["worth_usd_per_unit_per_day"]), r["unit"]] for r in rows],
        left=2,
    )
    return (
        _p(lead, "lead")
        + table
        + _p(
            "Each figure is measured on the planning model (the LP with the integer choices fixed): its "
            "objective re-solved with one more unit a day at the stage through the year, in every sample. "
            "The duals of the capacity rows chose which stage-years to measure. Marginal values."
        )
    )


def write_plan_report(
    path: Path, s: Scenario, doc: dict[str, Any], with_plan: Series | None, without: Series
) -> None:
    body = [
        f"<h1>Plan — {escape(s.name)}</h1>",
        _p(f"{doc['message']}.", "lead"),
        _p(
            f"Cost of the additions {money(doc['cost_usd'])}; "
            f"probability asked {doc['probability']:.0%}; "
            f"{doc['runs']:,} verified Monte Carlo runs (seed {doc['seed']}); planning model of "
            f"{doc['samples']} samples in {doc['model']['buckets']} buckets of about {doc['bucket_days']} "
            f"days: {doc['model']['variables']:,} variables ({doc['model']['integer_variables']} integer), "
            f"{doc['model']['constraints']:,} constraints, solved by HiGHS in "
            f"{doc['model']['solve_seconds']:.1f} s."
        ),
    ]
    body.append("<h2>Targets, without and with the plan</h2>")
    body.append(
        _table(
            ["target", "by", "goal", "P50 without", "P(met) without", "P50 with", "P(met) with"],
            [
                [
                    t["name"] or t["metric"],
                    t["by"],
                    _value(t["metric"], t["target"]),
                    _value(t["metric"], t["p50_without_plan"]),
                    f"{t['probability_without_plan']:.0%}",
                    _value(t["metric"], t["p50"]),
                    f"{t['probability_met']:.0%}",
                ]
                for t in doc["targets"]
            ],
            left=2,
        )
    )
    if doc["unreachable"]:
        body.append("<h2>Out of reach</h2>")
        for u in doc["unreachable"]:
            capped = ", ".join(
                f"{c['stage']}/{c['option']} (max {c['max_add_per_day']:g}/day)" for c in u["capped_by"]
            )
            binding = ", ".join(u["binding_stages"]) or "none"
            body.append(
                _p(
                    f"'{u['target']}' by {u['by']}: at most {_value(u['metric'], u['reachable'])} of "
                    f"{_value(u['metric'], u['value'])}. Options at their bound: {capped or 'none'}; "
                    f"stages binding with no option left: {binding}."
                )
            )
    if doc["actions"]:
        body.append("<h2>Actions</h2>")
        body.append(_chart(timeline_figure(s, doc), 120 + 40 * len(doc["actions"])))
        body.append(
            _table(
                ["stage", "option", "online", "add per day", "cost"],
                [
                    [a["stage"], a["option"], a["online"], f"{a['add_per_day']:,.1f}", money(a["cost_usd"])]
                    for a in doc["actions"]
                ],
                left=3,
            )
        )
        body.append("<h2>Cost by stage</h2>")
        body.append(_chart(cost_figure(doc), 320))
    if with_plan is not None:
        for t, target in zip(s.targets, doc["targets"], strict=True):
            if t.metric != "value_usd":
                continue
            fig = value_figure(s, target, t.destinations, with_plan, without)
            if fig is not None:
                body.append(f"<h2>{escape(t.name or 'Value delivered')}</h2>")
                body.append(_chart(fig, 440))
    body.append("<h2>Shadow prices of the binding capacities</h2>")
    body.append(_shadow(doc))
    body.append("<h2>How the plan was verified</h2>")
    body.append(
        _table(
            ["round", "targets raised by", "cost", "P(met) per target", "solve s", "status"],
            [
                [
                    str(r["round"]),
                    ", ".join(f"{k} ×{v:.3f}" for k, v in r["target_factors"].items()) or "—",
                    money(r["cost_usd"]),
                    " / ".join(f"{p:.0%}" for p in r["probability_met"]),
                    f"{r['solve_seconds']:.1f}",
                    r["status"],
                ]
                for r in doc["rounds"]
            ],
            left=2,
        )
    )
    body.append(
        _p(
            "Each round solves the planning model, applies its actions to the scenario and runs the full "
            "Monte Carlo. A target met in fewer runs than asked is raised in the model and solved again."
        )
    )
    write_page(path, f"{s.name} — plan", body)
