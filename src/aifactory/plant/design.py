"""A plant design: decision values applied to a plant, their cost per week, and what the simulation says.

Pure: :func:`apply` gives the plant with a candidate's values, :func:`weekly_cost` prices it, and
:class:`Evaluation` holds what replications of it measured — with the same seeds for every candidate
(common random numbers), so two candidates differ by their design, not by their luck.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aifactory.plant.design_model import WEEKS_PER_YEAR, Design
from aifactory.plant.model import Plant

Values = tuple[int, ...]
"""A candidate: one whole number per decision variable, in the order the plant file lists them."""


def current_values(plant: Plant) -> Values:
    """The plant's own values of its design's variables (clamped into their bounds)."""
    design = _design(plant)
    out = []
    for v in design.variables.values():
        if v.kind == "station":
            now = plant.stations[v.target].servers
        elif v.kind == "robots":
            now = plant.robots[v.target].count
        elif v.kind == "operators":
            now = plant.operators[v.target].count
        elif v.kind == "arms_at":
            st = plant.stations[v.target]
            now = int(st.robots == [v.fleet] and st.robot_mode == "replace" and not st.operators)
        else:
            now = len(plant.operators[v.target].shifts)
        out.append(min(max(now, v.low), v.high))
    return tuple(out)


def apply(plant: Plant, values: Sequence[int]) -> Plant:
    """``plant`` with the design's variables set to ``values`` (a shift's own ``count`` is kept)."""
    design = _design(plant)
    if len(values) != len(design.variables):
        raise ValueError(f"{len(values)} values for {len(design.variables)} variables")
    stations, robots, pools = dict(plant.stations), dict(plant.robots), dict(plant.operators)
    for (name, v), value in zip(design.variables.items(), values, strict=True):
        if not v.low <= value <= v.high:
            raise ValueError(f"{name}: {value} is outside {v.low} … {v.high}")
        if v.kind == "station":
            stations[v.target] = stations[v.target].model_copy(update={"servers": value})
        elif v.kind == "robots":
            robots[v.target] = robots[v.target].model_copy(update={"count": value})
        elif v.kind == "operators":
            pools[v.target] = pools[v.target].model_copy(update={"count": value})
        elif v.kind == "arms_at":
            if value == 1:  # the fleet's robots do the work; no operator is needed there
                robots_only = {"robot": v.fleet, "robot_mode": "replace", "operator": None}
                stations[v.target] = stations[v.target].model_copy(update=robots_only)
        else:
            pools[v.target] = pools[v.target].model_copy(update={"shifts": pools[v.target].shifts[:value]})
    return plant.model_copy(update={"stations": stations, "robots": robots, "operators": pools})


@dataclass(frozen=True)
class Cost:
    capital_per_week: float
    labour_per_week: float

    @property
    def per_week(self) -> float:
        return self.capital_per_week + self.labour_per_week


def weekly_cost(plant: Plant, values: Sequence[int]) -> Cost:
    """What the quantities the variables count cost a week: capital spread over the amortisation, and
    the operator-hours on duty of every pool a variable prices."""
    design = _design(plant)
    applied = apply(plant, values)
    capital = 0.0
    rate: dict[str, float] = {}
    for v, value in zip(design.variables.values(), values, strict=True):
        if v.capex_usd is not None:
            capital += value * v.capex_usd
        if v.labour_usd_per_hour is not None:
            rate.setdefault(v.target, v.labour_usd_per_hour)
    labour = sum(r * operator_hours_per_week(applied, pool) for pool, r in rate.items())
    return Cost(capital / (design.amortisation_years * WEEKS_PER_YEAR), labour)


def operator_hours_per_week(plant: Plant, pool: str) -> float:
    """Operator-hours on duty a week in ``pool``: each shift's operators × its hours × its days."""
    p = plant.operators[pool]
    if not p.shifts:
        return p.count * 168.0
    total = 0.0
    for shift in p.shifts:
        start, end = shift.hours()
        days = len(shift.days) if shift.days is not None else 7
        total += (shift.count if shift.count is not None else p.count) * (end - start) * days
    return total


@dataclass
class Evaluation:
    """What the replications of one candidate measured (seeds in the same order for every candidate)."""

    values: Values
    cost: Cost
    racks_per_week: list[float] = field(default_factory=list)
    utilisation: dict[str, list[float]] = field(default_factory=dict)
    """Station, operator pool or robot fleet → its utilisation in each replication."""

    @property
    def replications(self) -> int:
        return len(self.racks_per_week)

    def share_meeting(self, target: float) -> float:
        """Share of the replications whose throughput reached ``target`` racks a week."""
        if not self.racks_per_week:
            return 0.0
        return sum(t >= target for t in self.racks_per_week) / len(self.racks_per_week)

    @property
    def mean_racks_per_week(self) -> float:
        return sum(self.racks_per_week) / len(self.racks_per_week) if self.racks_per_week else 0.0

    def add(self, measures: Mapping[str, object]) -> None:
        """Record one replication's measures (``run_measures``)."""
        self.racks_per_week.append(float(measures["racks_per_week"]))  # type: ignore[arg-type]
        for group in ("stations", "operators", "robots"):
            for name, m in measures.get(group, {}).items():  # type: ignore[attr-defined]
                if isinstance(m, Mapping) and "utilization" in m:
                    self.utilisation.setdefault(f"{group}.{name}", []).append(float(m["utilization"]))

    def busiest(self, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` resources with the highest mean utilisation."""
        means = {k: sum(v) / len(v) for k, v in self.utilisation.items() if v}
        return sorted(means.items(), key=lambda kv: -kv[1])[:n]


def frontier(evaluations: Sequence[Evaluation]) -> list[Evaluation]:
    """The cost-throughput frontier: every candidate no other is both cheaper (or as cheap) and
    faster than, cheapest first."""
    ranked = sorted(evaluations, key=lambda e: (e.cost.per_week, -e.mean_racks_per_week))
    out: list[Evaluation] = []
    best = float("-inf")
    for e in ranked:
        if e.mean_racks_per_week > best:
            out.append(e)
            best = e.mean_racks_per_week
    return out


def _design(plant: Plant) -> Design:
    if plant.design is None:
        raise ValueError(f"plant {plant.name!r} has no design: section (its decision variables)")
    return plant.design
