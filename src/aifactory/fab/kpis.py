"""What a fab run reports: per lot type and per tool family, in the shape of ``kpis.json``.

Lot KPIs count lots completing after the warm-up: ``throughput`` (lots), ``cycle_time_days`` (mean of
completion − release) and ``on_time_pct`` (completion ≤ due; a lot without a due date counts as on
time; a lot type with no completion reports 0, 0.0, 0.0). Tool-family KPIs are % of the measured window
``[warm-up, end]`` summed over the family's tools: ``br`` in breakdown, ``pm`` in PM, ``avail`` =
100 − br − pm, ``setup`` in setup (% of the window), and ``util`` = time occupied by a job — setup,
load, processing and unload — as % of the **available** (not down) time, the AutoSched definition
``reference_toolgroups.txt`` uses (there util can exceed avail: HVLM's litho has avail 86 %, util
96 %). A cascading tool holding two overlapping jobs counts the time once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LotKpis:
    throughput: int
    cycle_time_days: float
    on_time_pct: float


@dataclass(frozen=True, slots=True)
class ToolKpis:
    avail: float
    util: float
    br: float
    pm: float
    setup: float


@dataclass(frozen=True, slots=True)
class FabResult:
    """The outcome of one run of :func:`aifactory.fab.engine.simulate`."""

    events: int
    lots: dict[str, LotKpis]
    toolgroups: dict[str, ToolKpis]
    released: int = 0
    completed: int = 0
    """All completions, warm-up included."""
    wip_end: int = 0
    """Lots in the fab at the end."""

    def to_kpis(
        self, dataset_name: str, days: float, warmup_days: float, seed: int, wall_seconds: float
    ) -> dict[str, Any]:
        """The ``kpis.json`` document of CONTRACTS §4."""
        return {
            "dataset": dataset_name,
            "days": days,
            "warmup_days": warmup_days,
            "seed": seed,
            "wall_seconds": wall_seconds,
            "events": self.events,
            "lots": {
                name: {
                    "throughput": k.throughput,
                    "cycle_time_days": k.cycle_time_days,
                    "on_time_pct": k.on_time_pct,
                }
                for name, k in self.lots.items()
            },
            "toolgroups": {
                name: {"avail": k.avail, "util": k.util, "br": k.br, "pm": k.pm, "setup": k.setup}
                for name, k in self.toolgroups.items()
            },
        }
