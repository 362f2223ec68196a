"""The AI-factory part of the report and the terminal: installed vs busy GPUs, waits per programme,
usage against the council's shares, idle GPUs while jobs waited."""

from __future__ import annotations

from html import escape
from typing import Any

import plotly.graph_objects as go
from rich.console import Console
from rich.table import Table

from aifactory.report.plotting import figure_html
from aifactory.twin.factory import FactoryTwin

HOUR = 3600.0


def factory_summary(twin: FactoryTwin, start_date: str) -> dict[str, Any]:
    """What summary.json records for one factory."""
    topo = twin.plan.topology
    daily = twin.daily()
    return {
        "racks": topo.racks,
        "gpus": topo.gpus,
        "facility_mw": twin.plan.facility_mw,
        "power_budget_mw": twin.plan.spec.power_budget_mw,
        "pue": twin.pue,
        "first_rack_online": start_date,
        "racks_arriving_later": len(twin.online_s),
        "days_simulated": twin.days,
        "utilization_of_installed": twin.utilization_of_installed,
        "peak_facility_mw": float(daily["facility_mw"].max()),
        "facility_energy_mwh": float(daily["facility_mw"].sum() * 24),
        "replay": twin.metrics,
    }


def print_factory_summary(console: Console, factory_id: str, twin: FactoryTwin, start_date: str) -> None:
    m = twin.metrics
    topo = twin.plan.topology
    console.print(
        f"[bold]AI factory {factory_id}[/bold]: {topo.racks} racks, {topo.gpus:,} GPUs, "
        f"{twin.plan.facility_mw:.1f} MW; first rack online {start_date}, "
        f"{len(twin.online_s)} more arriving; {twin.days:.0f} days of programme demand under "
        f"'{m['policy']}': utilisation of the installed GPUs {twin.utilization_of_installed:.0%} "
        f"(of all {topo.gpus:,} from day 0: {m['utilization']:.0%}), "
        f"average wait {m['avg_wait_s'] / HOUR:.1f} h, {m['preemptions']:,} preemptions"
        + (
            f", {m['tray_failures']:,} tray failures ({m['gpu_hours_lost']:,.0f} GPU-h of work lost)"
            if m.get("tray_failures")
            else ""
        )
    )
    table = Table("programme", "jobs", "usage share", "council share", "avg wait (h)", title_justify="left")
    for name, row in m["tenants"].items():
        table.add_row(
            name,
            f"{row['jobs']:,}",
            f"{row['usage_share']:.1%}",
            f"{row['entitlement']:.1%}",
            f"{row['avg_wait_s'] / HOUR:,.2f}",
        )
    console.print(table)


def factory_section_html(factory_id: str, twin: FactoryTwin, start_date: str) -> str:
    """HTML for the report: two charts and a short explanation."""
    daily = twin.daily()
    days = list(range(len(daily["installed_gpus"])))
    capacity = go.Figure()
    capacity.add_trace(
        go.Scatter(x=days, y=daily["installed_gpus"], name="installed GPUs", line={"width": 2})
    )
    capacity.add_trace(
        go.Scatter(x=days, y=daily["busy_gpus"], name="busy GPUs (daily mean)", fill="tozeroy")
    )
    capacity.update_layout(
        title=f"{factory_id}: installed vs busy GPUs (day 0 = {start_date})",
        xaxis_title="days since the first rack came online",
        yaxis_title="GPUs",
        template="plotly_white",
    )
    m = twin.metrics
    groups = m.get("programmes") or m["tenants"]  # the council's programmes when it has projects
    names = list(groups)
    shares = go.Figure()
    shares.add_trace(go.Bar(x=names, y=[groups[n]["usage_share"] for n in names], name="usage share"))
    shares.add_trace(go.Bar(x=names, y=[groups[n]["entitlement"] for n in names], name="council share"))
    shares.add_trace(
        go.Scatter(
            x=names,
            y=[groups[n]["avg_wait_s"] / HOUR for n in names],
            name="average wait (h)",
            yaxis="y2",
            mode="markers",
            marker={"size": 12},
        )
    )
    shares.update_layout(
        title="Usage against the council's shares, and waits per programme",
        barmode="group",
        yaxis={"title": "share", "tickformat": ".0%"},
        yaxis2={"title": "hours", "overlaying": "y", "side": "right"},
        template="plotly_white",
    )
    waits = go.Figure()
    for name, series in twin.daily_waits().items():
        waits.add_trace(go.Scatter(x=days, y=series, name=name, mode="lines+markers", connectgaps=False))
    waits.update_layout(
        title="Waits per programme over time (mean wait of the jobs started each day)",
        xaxis_title="days since the first rack came online",
        yaxis_title="hours",
        template="plotly_white",
    )
    idle = go.Figure()
    idle.add_trace(
        go.Scatter(
            x=days,
            y=daily["installed_gpus"] - daily["busy_gpus"],
            name="idle GPUs",
            line={"color": "#999"},
        )
    )
    idle.add_trace(
        go.Scatter(
            x=days,
            y=daily["idle_while_waiting_gpus"],
            name="idle while jobs waited (fragmentation, topology, limits)",
            fill="tozeroy",
        )
    )
    idle.update_layout(
        title="Idle GPUs, and those idle although jobs waited (daily means)",
        xaxis_title="days since the first rack came online",
        yaxis_title="GPUs",
        template="plotly_white",
    )
    power = go.Figure()
    power.add_trace(go.Scatter(x=days, y=daily["facility_mw"], name="facility (IT × PUE)", fill="tozeroy"))
    power.add_trace(go.Scatter(x=days, y=daily["it_mw"], name="IT"))
    budget = twin.plan.spec.power_budget_mw
    if budget is not None:
        power.add_hline(y=budget, line_dash="dash", annotation_text=f"power budget {budget:g} MW")
    power.update_layout(
        title=f"Power drawn (daily mean; PUE {twin.pue:g}, idle racks at {twin.idle_power_fraction:.0%})",
        xaxis_title="days since the first rack came online",
        yaxis_title="MW",
        template="plotly_white",
    )
    failures = (
        f" {m['tray_failures']:,} tray failures interrupted {m['jobs_interrupted']:,} jobs "
        f"({m['gpu_hours_lost']:,.0f} GPU-hours of work redone)."
        if m.get("tray_failures")
        else ""
    )
    text = (
        f"<p class='note'>Racks arrive as the supply twin delivers them (P50 over runs); the council's "
        f"programmes submit a Philly-calibrated workload, scaled to AI-factory job sizes, at 80 % of the "
        f"installed capacity, scheduled with '{escape(str(m['policy']))}'. Utilisation of the installed "
        f"GPUs {twin.utilization_of_installed:.0%}, average wait {m['avg_wait_s'] / HOUR:.1f} h, GPU-hours "
        f"idle while jobs waited {m['idle_while_waiting_gpu_hours']:,.0f}.{failures}</p>"
    )
    charts_html = "".join(
        f'<div class="chart">{figure_html(fig, 380)}</div>' for fig in (capacity, shares, waits, idle, power)
    )
    return text + charts_html
