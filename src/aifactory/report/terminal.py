"""The terminal summary of a supply study (Rich tables)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def money(x: float | None) -> str:
    if x is None:
        return "–"
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"${x / scale:,.1f}{unit}"
    return f"${x:,.0f}"


def count(x: float | None) -> str:
    if x is None:
        return "–"
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.2f}M"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"


def _q(q: dict[str, float], fmt: Any = count) -> tuple[str, str, str]:
    return fmt(q["p10"]), fmt(q["p50"]), fmt(q["p90"])


def _target_value(metric: str, x: float | None) -> str:
    return money(x) if metric == "value_usd" else count(x)


def print_supply_summary(console: Console, summary: dict[str, Any]) -> None:
    runs, seed = summary["runs"], summary["seed"]
    console.print(
        f"[bold]{summary['scenario']}[/bold] — {runs:,} Monte Carlo runs, seed {seed}, "
        f"{summary['horizon_days']:,} days from {summary['start']} ({summary['wall_seconds']:.2f} s)"
    )

    targets = Table(title="Targets", title_justify="left")
    for col in ("target", "by", "goal", "P50", "P(met)"):
        targets.add_column(col, justify="left" if col == "target" else "right")
    for t in summary["targets"]:
        p = t["probability_met"]
        style = "green" if p >= 0.8 else ("yellow" if p >= 0.2 else "red")
        targets.add_row(
            t.get("name") or t["metric"],
            t["by"],
            _target_value(t["metric"], t["target"]),
            _target_value(t["metric"], t["p50"]),
            f"[{style}]{p:.0%}[/{style}]",
        )
    console.print(targets)

    dests = Table(title="Delivered to destinations (P10 / P50 / P90)", title_justify="left")
    for col in ("destination", "units", "GPUs", "value"):
        dests.add_column(col, justify="left" if col == "destination" else "right")
    for did, d in summary["destinations"].items():
        item = next(k for k in d if k not in ("gpus", "value_usd"))
        dests.add_row(
            f"{did} ({item})",
            " / ".join(_q(d[item])),
            " / ".join(_q(d["gpus"])),
            " / ".join(_q(d["value_usd"], money)),
        )
    console.print(dests)

    stages = Table(title="Stages (P50 over runs)", title_justify="left")
    for col in ("stage", "started", "good output", "utilisation", "capacity-bound days", "bottleneck share"):
        stages.add_column(col, justify="left" if col == "stage" else "right")
    shares = summary.get("bottlenecks", {})
    for sid, st in summary["stages"].items():
        stages.add_row(
            sid,
            count(st["started"]["p50"]),
            count(st["good_output"]["p50"]),
            f"{st['utilization']['p50']:.0%}",
            count(st["binding_days"]["p50"]),
            f"{shares.get(sid, 0.0):.0%}",
        )
    console.print(stages)

    sens = summary.get("sensitivity", {}).get("inputs", [])
    if sens:
        table = Table(
            title="What moves the delivered value most (rank correlation, P90–P10 decile swing)",
            title_justify="left",
        )
        table.add_column("uncertain input")
        table.add_column("Spearman ρ", justify="right")
        table.add_column("swing", justify="right")
        for row in sens[:6]:
            table.add_row(row["input"], f"{row['spearman']:+.2f}", money(row["swing"]))
        console.print(table)
    costs = summary.get("costs")
    if costs:
        p50 = {key: money(costs[key]["p50"]) for key in ("stages_usd", "lanes_usd", "tariffs_usd")}
        console.print(
            f"Costs (P50): stages {p50['stages_usd']}, lanes {p50['lanes_usd']}, tariffs {p50['tariffs_usd']}"
        )
