"""The results of a fab run: its state's accumulators turned into lot and tool-group KPIs and completions."""

from __future__ import annotations

import numpy as np

from aifactory.fab.kpis import Completions, FabResult, LotKpis, ToolKpis
from aifactory.fab.state import FabState
from aifactory.fab.units import MINUTES_PER_DAY


def fab_result(sim: FabState) -> FabResult:
    """The KPIs of the finished run ``sim``: lots completed after the warm-up, tool time in the window."""
    m = sim.m
    lots: dict[str, LotKpis] = {}
    for i, name in enumerate(sim.type_names):
        n = sim.done_n[i]
        lots[name] = LotKpis(
            throughput=n,
            cycle_time_days=sim.done_ct[i] / n / MINUTES_PER_DAY if n else 0.0,
            on_time_pct=100.0 * sim.done_ontime[i] / n if n else 0.0,
        )
    window = max(sim.end - sim.warmup, 0.0)
    groups: dict[str, ToolKpis] = {}
    for f, name in enumerate(m.fam_names):
        tools = m.fam_tools[f]
        if m.fam_delay[f] or not tools:
            continue
        span = window * len(tools)

        def pct(acc: list[float], tools: list[int] = tools, span: float = span) -> float:
            return 100.0 * sum(acc[t] for t in tools) / span if span > 0 else 0.0

        br = pct(sim.acc_br)
        pm = pct(sim.acc_pm)
        up = 100.0 - br - pm
        groups[name] = ToolKpis(
            avail=up,
            util=100.0 * pct(sim.acc_util) / up if up > 0 else 0.0,
            br=br,
            pm=pm,
            setup=pct(sim.acc_setup),
        )
    return FabResult(
        events=sim.events,
        lots=lots,
        toolgroups=groups,
        released=len(sim.lot_step),
        completed=sim.completed,
        wip_end=len(sim.lot_step) - sim.completed,
        completions=completions(sim),
    )


def completions(sim: FabState) -> Completions:
    """Every lot completing after the warm-up, and the releases and WIP per lot type."""
    rows = sim.done_lots
    return Completions(
        type_names=tuple(sim.type_names),
        lot_type=np.array([r[0] for r in rows], dtype=np.int32),
        release_days=np.array([r[1] for r in rows], dtype=np.float64) / MINUTES_PER_DAY,
        done_days=np.array([r[2] for r in rows], dtype=np.float64) / MINUTES_PER_DAY,
        wafers=np.array([r[3] for r in rows], dtype=np.int32),
        released_lots=np.array([f[1] for f in sim.flow], dtype=np.int64),
        released_wafers=np.array([f[2] for f in sim.flow], dtype=np.int64),
        wip_start=np.array([f[0] - f[3] for f in sim.flow], dtype=np.int64),
        wip_end=np.array(
            [f[0] + f[1] - f[3] - n for f, n in zip(sim.flow, sim.done_n, strict=True)], dtype=np.int64
        ),
    )
