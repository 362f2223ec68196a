"""The scenario's network compiled into index form: processing order, inflows, outflows, day schedules.

Stages are processed each day in a topological order of the lane graph, so that an item shipped with
zero transit reaches a downstream stage on the same day. Lanes that close a cycle (rework loops) are
*back lanes*: their consumer is processed first, so their delay is at least one day.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from aifactory.scenario.distributions import bounds
from aifactory.scenario.model import CapacityPoint, Scenario, Share

DayArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Outflow:
    """Where a stage's good output can go: a lane (to a stage) or a destination."""

    kind: str  # "lane" | "destination"
    key: str  # lane index as text, or destination id
    index: int  # position in Network.lanes or Network.destinations
    weight: DayArray  # share weight per day
    demand: float | None  # destinations only: total units wanted
    by_capacity: bool = False  # lanes only: weight × consuming stage's capacity today × its input per unit
    qty: float = 1.0  # lanes only: units of the item the consumer uses per unit started
    pull: bool = False  # lanes only: replenish the consumer up to cover_days of its capacity
    cover_days: float = 0.0
    slot: int = -1  # destinations only: index of this (source, destination) pair's delivery ring


@dataclass
class StageSpec:
    id: str
    item: str
    site: str
    consumes: dict[str, float]
    base_capacity: DayArray  # per day, before scale / expansions / disruptions
    inflows: list[int] = field(default_factory=list)  # lane indices into this stage
    outflows: list[Outflow] = field(default_factory=list)
    closable: bool = False  # all outflows end in capped destinations: idle once they are satisfied
    demand_limited: bool = False  # every outflow is a capped destination: start only what is still wanted
    always_open: bool = False  # has capacity on every day of every run (a lane into it never closes)


@dataclass(frozen=True)
class LaneSpec:
    index: int
    src: str
    dst: str
    item: str
    back: bool  # closes a cycle: delay at least one day
    pull: bool = False


@dataclass(frozen=True)
class DestinationSpec:
    id: str
    sources: list[str]
    demand: float | None


@dataclass
class Network:
    horizon: int
    items: list[str]
    order: list[str]  # stage processing order
    stages: dict[str, StageSpec]
    lanes: list[LaneSpec]
    destinations: list[DestinationSpec]
    downstream: dict[str, list[str]]  # stage → stages its forward lanes feed

    @property
    def sinks(self) -> list[str]:
        """Stages that feed a destination directly."""
        return [sid for sid, st in self.stages.items() if any(o.kind == "destination" for o in st.outflows)]


def piecewise_linear(points: list[CapacityPoint] | float, s: Scenario) -> DayArray:
    """Daily values of a capacity curve: constant before the first and after the last point."""
    days = np.arange(s.horizon_days, dtype=np.float64)
    if isinstance(points, float | int):
        return np.full(s.horizon_days, float(points))
    xs = np.array([s.day(p.date) for p in points], dtype=np.float64)
    ys = np.array([p.per_day for p in points], dtype=np.float64)
    return np.interp(days, xs, ys)


def step_schedule(share: Share, default: float, s: Scenario) -> DayArray:
    """Daily share weights: a step function of the given points (0 before the first point)."""
    if share is None or share in ("capacity", "pull"):
        return np.full(s.horizon_days, default)
    if isinstance(share, float | int):
        return np.full(s.horizon_days, float(share))
    out = np.zeros(s.horizon_days)
    assert isinstance(share, list)
    for point in share:
        out[max(0, s.day(point.date)) :] = point.value
    return out


def compile_network(s: Scenario) -> Network:
    """Index the scenario's network for the engine (pure; no randomness)."""
    stages = {
        sid: StageSpec(
            id=sid,
            item=st.produces,
            site=st.site,
            consumes=dict(st.consumes),
            base_capacity=piecewise_linear(st.capacity, s),
        )
        for sid, st in s.stages.items()
    }
    order = _processing_order(s)
    position = {sid: i for i, sid in enumerate(order)}
    lanes: list[LaneSpec] = []
    downstream: dict[str, list[str]] = {sid: [] for sid in s.stages}
    for i, lane in enumerate(s.lanes):
        back = position[lane.to] <= position[lane.from_]
        lanes.append(
            LaneSpec(i, lane.from_, lane.to, s.stages[lane.from_].produces, back, lane.share == "pull")
        )
        stages[lane.to].inflows.append(i)
        stages[lane.from_].outflows.append(
            Outflow(
                "lane",
                str(i),
                i,
                step_schedule(lane.share, 1.0, s),
                demand=None,
                by_capacity=lane.share == "capacity",
                qty=s.stages[lane.to].consumes[s.stages[lane.from_].produces],
                pull=lane.share == "pull",
                cover_days=lane.cover_days,
            )
        )
        if not back and lane.to not in downstream[lane.from_]:
            downstream[lane.from_].append(lane.to)  # forward lanes only: bottlenecks need an order
    destinations: list[DestinationSpec] = []
    slot = 0
    for j, (did, dest) in enumerate(s.destinations.items()):
        destinations.append(DestinationSpec(did, dest.sources, dest.demand))
        for sid in dest.sources:
            stages[sid].outflows.append(
                Outflow(
                    "destination", did, j, step_schedule(dest.share, 1.0, s), demand=dest.demand, slot=slot
                )
            )
            slot += 1
    for sid, st in s.stages.items():
        stages[sid].always_open = (
            bool(np.all(stages[sid].base_capacity > 0))
            and bounds(st.capacity_scale)[0] > 0
            and all(d.capacity_factor > 0 for d in st.disruptions)
        )
    for sid in reversed(order):
        outs = stages[sid].outflows
        stages[sid].demand_limited = bool(outs) and all(o.kind == "destination" and o.demand for o in outs)
        stages[sid].closable = all(
            (o.kind == "destination" and o.demand is not None)
            or (o.kind == "lane" and not lanes[o.index].back and stages[lanes[o.index].dst].closable)
            for o in outs
        )
        if stages[sid].closable:
            stages[sid].always_open = False  # idle once its demand is met
    return Network(
        horizon=s.horizon_days,
        items=list(s.items),
        order=order,
        stages=stages,
        lanes=lanes,
        destinations=destinations,
        downstream=downstream,
    )


def _processing_order(s: Scenario) -> list[str]:
    """Kahn's topological order; when only cycles remain, take the earliest-declared stage next."""
    indegree = {sid: 0 for sid in s.stages}
    for lane in s.lanes:
        indegree[lane.to] += 1
    order: list[str] = []
    remaining = dict(indegree)
    while remaining:
        ready = [sid for sid, d in remaining.items() if d == 0]
        nxt = ready[0] if ready else next(iter(remaining))
        order.append(nxt)
        del remaining[nxt]
        for lane in s.lanes:
            if lane.from_ == nxt and lane.to in remaining:
                remaining[lane.to] -= 1
    return order


def never_closes(out: Outflow, net: Network) -> bool:
    """An outflow that takes everything every day: an uncapped destination, or a push lane into a stage
    that has capacity on every day of every run (then shipping needs no routing decision)."""
    if not np.all(out.weight > 0):
        return False  # a share schedule that is 0 on some days closes it then
    if out.kind == "destination":
        return out.demand is None
    return not out.pull and net.stages[net.lanes[out.index].dst].always_open
