"""A fab run against a data set's reference results (``reference_lots.txt``, ``reference_toolgroups.txt``).

Cycle times compare directly (mean days). Throughput compares as a *rate* — lots per day over the
measured window — because a run may be shorter than the reference's ``REFERENCE_DAYS`` (two simulated
years). The reference's ``th`` counts lots both released and completed within those two years: for every
HVLM lot type ``th ≈ release rate × (730 − mean cycle time)`` to within 0.2 % (Lot_3: 27.86 lots/day ×
(730 − 51.21) = 18,911 against 18,914.6), so its steady rate is ``th / (730 − cycle time)``, which is
what a run's completions per day after its warm-up estimate. Tool groups compare utilisation in
percentage points; the *bottlenecks* are the tool groups with the highest reference utilisation.
Tolerances are the fab-twin issue's: ±10 % cycle time, ±3 % throughput, 5 points of utilisation on the
lithography bottlenecks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aifactory.fab.dataset import Reference

REFERENCE_DAYS = 730.0
CYCLE_TIME_TOLERANCE = 0.10
THROUGHPUT_TOLERANCE = 0.03
UTILISATION_TOLERANCE_POINTS = 5.0


@dataclass(frozen=True, slots=True)
class LotComparison:
    lot_type: str
    cycle_time_days: float
    reference_cycle_time_days: float
    lots_per_day: float
    reference_lots_per_day: float
    on_time_pct: float
    reference_on_time_pct: float

    @property
    def cycle_time_delta(self) -> float:
        """Relative difference of the mean cycle time (0.05 = 5 % longer than the reference)."""
        ref = self.reference_cycle_time_days
        return (self.cycle_time_days - ref) / ref if ref else float("nan")

    @property
    def throughput_delta(self) -> float:
        ref = self.reference_lots_per_day
        return (self.lots_per_day - ref) / ref if ref else float("nan")

    @property
    def within(self) -> bool:
        return abs(self.cycle_time_delta) <= CYCLE_TIME_TOLERANCE and (
            abs(self.throughput_delta) <= THROUGHPUT_TOLERANCE
        )


@dataclass(frozen=True, slots=True)
class ToolComparison:
    name: str
    util: float
    reference_util: float
    avail: float
    reference_avail: float
    bottleneck: bool

    @property
    def util_delta_points(self) -> float:
        return self.util - self.reference_util

    @property
    def within(self) -> bool:
        return abs(self.util_delta_points) <= UTILISATION_TOLERANCE_POINTS


@dataclass(frozen=True, slots=True)
class Validation:
    lots: list[LotComparison]
    toolgroups: list[ToolComparison]
    measured_days: float

    @property
    def bottlenecks_within(self) -> bool:
        return all(t.within for t in self.toolgroups if t.bottleneck)

    @property
    def lots_within(self) -> bool:
        return all(lot.within for lot in self.lots)

    def to_json(self) -> dict[str, Any]:
        return {
            "measured_days": self.measured_days,
            "reference_days": REFERENCE_DAYS,
            "lots": {
                c.lot_type: {
                    "cycle_time_days": c.cycle_time_days,
                    "reference_cycle_time_days": c.reference_cycle_time_days,
                    "cycle_time_delta_pct": 100 * c.cycle_time_delta,
                    "lots_per_day": c.lots_per_day,
                    "reference_lots_per_day": c.reference_lots_per_day,
                    "throughput_delta_pct": 100 * c.throughput_delta,
                    "on_time_pct": c.on_time_pct,
                    "reference_on_time_pct": c.reference_on_time_pct,
                    "within_tolerance": c.within,
                }
                for c in self.lots
            },
            "toolgroups": {
                t.name: {
                    "util": t.util,
                    "reference_util": t.reference_util,
                    "util_delta_points": t.util_delta_points,
                    "avail": t.avail,
                    "reference_avail": t.reference_avail,
                    "bottleneck": t.bottleneck,
                    "within_tolerance": t.within,
                }
                for t in self.toolgroups
            },
            "lots_within_tolerance": self.lots_within,
            "bottlenecks_within_tolerance": self.bottlenecks_within,
        }


def compare(kpis: dict[str, Any], reference: Reference, *, bottlenecks: int = 10) -> Validation:
    """Compare a run's ``kpis.json`` document with the reference; ``bottlenecks``: how many of the
    most utilised reference tool groups count as bottlenecks."""
    measured = float(kpis["days"]) - float(kpis["warmup_days"])
    if measured <= 0:
        raise ValueError("the run measured no time after its warm-up")
    lots = []
    for name, ref in reference.lots.items():
        run = kpis["lots"].get(name, {"throughput": 0, "cycle_time_days": 0.0, "on_time_pct": 0.0})
        lots.append(
            LotComparison(
                lot_type=name,
                cycle_time_days=float(run["cycle_time_days"]),
                reference_cycle_time_days=ref.cycle_time_days,
                lots_per_day=float(run["throughput"]) / measured,
                reference_lots_per_day=ref.throughput / (REFERENCE_DAYS - ref.cycle_time_days),
                on_time_pct=float(run["on_time_pct"]),
                reference_on_time_pct=ref.on_time_pct,
            )
        )
    ranked = sorted(reference.toolgroups.values(), key=lambda t: (-t.util, t.name))
    top = {t.name for t in ranked[:bottlenecks]}
    tools = []
    for group in ranked:
        run = kpis["toolgroups"].get(group.name)
        if run is None:
            continue
        tools.append(
            ToolComparison(
                name=group.name,
                util=float(run["util"]),
                reference_util=group.util,
                avail=float(run["avail"]),
                reference_avail=group.avail,
                bottleneck=group.name in top,
            )
        )
    return Validation(lots, tools, measured)
