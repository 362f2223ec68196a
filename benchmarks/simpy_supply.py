"""A straightforward SimPy model of any aifactory scenario's supply network: the benchmark baseline.

Why this exists: the issue asks how much faster the Monte Carlo engine is than "the same network
written as a straightforward SimPy model", and that both give the same mean output. This module is
that model, written the way a SimPy user would write it, one run at a time and without vectorisation:

* a ``simpy.Environment`` whose clock counts days (day 0 is the scenario's ``start``);
* one *day driver* process that, each day, steps every stage in the network's processing order (a
  topological order of the lanes, so a zero-day lane reaches its consumer on the same day);
* one *timeout process* per day's batch for everything that takes time: units in process (they
  complete ``round(cycle_time_days)`` days after they start), units on a lane (``round(transit_days)``
  days, at least 1 on a back lane that closes a rework loop) and units on the way to a destination.
  When a batch's timeout fires it lands in the stage's finished output, in the consumer's receiving
  dock for that lane, or in the destination's delivered count;
* plain floats for buffers and stock (a fluid model: quantities are continuous, like the engine's).

Batches of zero units are not given a process (they would change nothing); that only makes the
baseline faster, so the speed ratio measured against it is if anything understated.

The semantics are those of ``aifactory.supply.engine`` (the numpy reference engine), restated per run:

1. *capacity* today = base curve × ``capacity_scale`` + each expansion × its linear ramp, times the
   ``capacity_factor`` of every disruption under way; a *closable* stage (all its outflows end in
   capped destinations) has capacity 0 once none of its outflows leads to unmet demand;
2. at its step a stage moves what its docks received into its input buffers, starts
   ``min(capacity, min_i buffer_i / qty_i)`` units (a source stage starts its capacity) and schedules
   ``starts × yield × output_per_unit`` good units to complete ``cycle_time_days`` later; a
   *demand-limited* stage (every outflow a destination with a demand) starts no more than that unmet
   demand less its own units in process and in stock allow;
3. units completing today join the stage's outbound stock, which is routed: pull lanes first (each
   consumer asks for ``cover_days × qty × its capacity`` less its buffer and what is on pull lanes to
   it; short stock is shared in proportion to the asks), then destinations with a demand (their share
   of all open weights, capped by what they still want), then the other open outflows by share weight
   (a number or a date schedule; ``capacity`` = weight × qty × the consumer's capacity today). A lane
   is open while its consumer has capacity today, a capped destination while it still wants units.
   What no open outflow takes stays in stock for a later day.

Per-run figures come from ``aifactory.supply.parameters`` (the same draws the Monte Carlo uses), so
run ``i`` here is run ``i`` of a Monte Carlo with the same seed and number of runs.

This model applies the routing rule on every day, to every stage; the engines skip it for a stage
whose single outflow never closes (``network.never_closes``), which gives the same result.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from aifactory.scenario.model import Scenario
from aifactory.supply.network import Network, Outflow, StageSpec, compile_network
from aifactory.supply.parameters import Parameters, block_sizes, concat, iter_blocks

Process = Generator[simpy.Event, Any, None]


def whole_days(value: float, minimum: int = 0) -> int:
    """A drawn delay as whole days (round half to even, like ``numpy.rint``), at least ``minimum``."""
    return max(int(np.rint(value)), minimum)


def draw_params(s: Scenario, runs: int, seed: int) -> Parameters:
    """The per-run draws of a Monte Carlo of ``runs`` runs with ``seed`` (identical to its ``params``)."""
    return concat(list(iter_blocks(s, seed, 0, block_sizes(runs))))


@dataclass
class _Stage:
    """One stage's fixed figures for this run and its state."""

    spec: StageSpec
    scale: float
    expansions: list[tuple[float, float, float]]  # start day, 1 / ramp days, units per day added at full ramp
    disruptions: list[tuple[float, float, float]]  # first day, day capacity returns, capacity factor
    gross: float  # good units out per unit started: yield × output_per_unit
    cycle_days: int
    buffers: dict[str, float]  # input item → on hand
    docks: dict[int, float] = field(default_factory=dict)  # lane index → landed, not yet received
    finished: float = 0.0  # completed batches landed, not yet taken to stock
    stock: float = 0.0  # outbound stock waiting for an open outflow
    in_process: float = 0.0  # good units started, not yet complete (kept for demand-limited stages)
    started: float = 0.0
    completed: float = 0.0
    capacity: float = 0.0  # today's
    capped: bool = False  # has an outflow to a destination with a demand
    pulls: bool = False  # has pull lanes


class SupplyModel:
    """One run of a scenario's supply network as a SimPy simulation."""

    def __init__(self, s: Scenario, params: Parameters, run: int, network: Network | None = None) -> None:
        self.scenario = s
        self.net = network or compile_network(s)
        self.env = simpy.Environment()
        net = self.net

        def figure(path: str) -> float:
            return float(params[path][run])

        self.stages: dict[str, _Stage] = {}
        for sid in net.order:
            spec = net.stages[sid]
            stage = s.stages[sid]
            p = f"stages.{sid}"
            expansions = []
            for i, exp in enumerate(stage.expansions):
                start = s.day(exp.date) + float(np.rint(figure(f"{p}.expansions.{i}.delay_days")))
                ramp = max(float(np.rint(figure(f"{p}.expansions.{i}.ramp_days"))), 1.0)
                expansions.append((start, 1.0 / ramp, figure(f"{p}.expansions.{i}.add_per_day")))
            disruptions = []
            for i, dis in enumerate(stage.disruptions):
                base = f"{p}.disruptions.{i}"
                if figure(f"{base}.occurs") > 0:
                    start = s.day(dis.start) + float(np.rint(figure(f"{base}.start_offset_days")))
                    disruptions.append(
                        (start, start + float(np.rint(figure(f"{base}.days"))), dis.capacity_factor)
                    )
            self.stages[sid] = _Stage(
                spec=spec,
                scale=figure(f"{p}.capacity_scale"),
                expansions=expansions,
                disruptions=disruptions,
                gross=figure(f"{p}.yield") * figure(f"{p}.output_per_unit"),
                cycle_days=whole_days(figure(f"{p}.cycle_time_days")),
                buffers={item: float(stage.initial_inventory.get(item, 0.0)) for item in spec.consumes},
                docks={i: 0.0 for i in spec.inflows},
                capped=any(o.demand is not None for o in spec.outflows),
                pulls=any(o.pull for o in spec.outflows),
            )
        self.order = [self.stages[sid] for sid in net.order]
        self.closable = [self.stages[sid] for sid in reversed(net.order) if net.stages[sid].closable]
        self.lane_days = [
            whole_days(figure(f"lanes.{ln.index}.transit_days"), 1 if ln.back else 0) for ln in net.lanes
        ]
        self.lane_shipped = [0.0] * len(net.lanes)
        # Pull lanes into one consumer's input share what is on the way (the consumer's "on order").
        self.on_order: dict[tuple[str, str], float] = {(ln.dst, ln.item): 0.0 for ln in net.lanes if ln.pull}
        self.dest_days = [whole_days(figure(f"destinations.{d.id}.transit_days")) for d in net.destinations]
        self.remaining: list[float | None] = [d.demand for d in net.destinations]
        self.allotted = [0.0] * len(net.destinations)
        self.delivered = [0.0] * len(net.destinations)
        self.env.process(self._day_driver())

    # ----------------------------------------------------------------------------------- processes

    def _day_driver(self) -> Process:
        """Each day: let the batches due today land, then step every stage in processing order."""
        for day in range(self.net.horizon):
            # Batches due today were scheduled on earlier days; this zero timeout queues the driver
            # behind all of them, so every one has landed before any stage steps.
            yield self.env.timeout(0)
            self._run_day(day)
            yield self.env.timeout(1)

    def _in_process(self, st: _Stage, days: int, good: float) -> Process:
        """A day's good starts of a stage, completing ``days`` later."""
        yield self.env.timeout(days)
        st.finished += good

    def _in_transit(self, lane: int, days: int, amount: float) -> Process:
        """A day's shipment on a lane; it lands in the consumer's dock for that lane."""
        yield self.env.timeout(days)
        self.stages[self.net.lanes[lane].dst].docks[lane] += amount

    def _to_destination(self, dest: int, days: int, amount: float) -> Process:
        """A day's shipment to a destination; counted as delivered when it arrives."""
        yield self.env.timeout(days)
        self.delivered[dest] += amount

    # ------------------------------------------------------------------------------------- the day

    def _run_day(self, day: int) -> None:
        for st in self.order:
            st.capacity = self._capacity(st, day)
        for st in self.closable:  # reverse processing order: consumers are decided first
            if not self._any_open(st):
                st.capacity = st.capacity * 0.0
        for st in self.order:
            self._step(day, st)

    def _capacity(self, st: _Stage, day: int) -> float:
        cap = float(st.spec.base_capacity[day]) * st.scale
        for start, inv_ramp, add in st.expansions:
            cap = cap + add * min(max((day - start + 1) * inv_ramp, 0.0), 1.0)
        for start, end, factor in st.disruptions:
            if start <= day < end:
                cap = cap * factor
        return cap

    def _any_open(self, st: _Stage) -> bool:
        """Whether a closable stage still has an outflow leading to unmet demand."""
        for out in st.spec.outflows:
            if out.kind == "lane":
                if self.stages[self.net.lanes[out.index].dst].capacity > 0:
                    return True
            else:
                remaining = self.remaining[out.index]
                if remaining is not None and remaining > 0:
                    return True
        return False

    def _step(self, day: int, st: _Stage) -> None:
        """One stage's day: receive, start, complete, ship."""
        for lane in st.spec.inflows:
            arrived = st.docks[lane]
            st.docks[lane] = 0.0
            ln = self.net.lanes[lane]
            st.buffers[ln.item] += arrived
            if ln.pull:
                self.on_order[(ln.dst, ln.item)] -= arrived
        cap = st.capacity
        if st.spec.demand_limited:  # make no more than the capped destinations still want
            cap = min(cap, self._still_wanted(st))
        if st.spec.consumes:
            allow = min(st.buffers[item] / qty for item, qty in st.spec.consumes.items())
            starts = min(cap, allow)
            for item, qty in st.spec.consumes.items():
                st.buffers[item] -= starts * qty
        else:
            starts = cap
        st.started += starts
        good = starts * st.gross
        if st.cycle_days == 0:
            done = good
        else:
            if good > 0:
                self.env.process(self._in_process(st, st.cycle_days, good))
            done = st.finished
            st.finished = 0.0
        st.completed += done
        if st.spec.demand_limited:
            st.in_process += good - done
        st.stock += done
        self._route(day, st)

    def _still_wanted(self, st: _Stage) -> float:
        """Units a demand-limited stage may still start: its destinations' unmet demand less what it
        has in process or in stock, in units started."""
        remaining = 0.0
        for out in st.spec.outflows:
            wanted = self.remaining[out.index]
            assert wanted is not None  # every outflow of a demand-limited stage has a demand
            remaining += wanted
        want = max(remaining - st.in_process - st.stock, 0.0)
        return want / st.gross if st.gross > 0 else math.inf

    def _route(self, day: int, st: _Stage) -> None:
        """Split the outbound stock among the open outflows (pulls, capped destinations, by share)."""
        outflows = st.spec.outflows
        amounts = [0.0] * len(outflows)
        stock = st.stock
        if st.pulls:
            stock = self._serve_pulls(st, stock, amounts)
        weights = [0.0 if out.pull else self._open_weight(day, out) for out in outflows]
        if st.capped:
            total = sum(weights, 0.0)
            for k, out in enumerate(outflows):
                remaining = self.remaining[out.index] if out.kind == "destination" else None
                if remaining is not None and weights[k] != 0.0:
                    amounts[k] = min(stock * (weights[k] / total), remaining)
                    stock = stock - amounts[k]
        free_weight = sum((w for w, out in zip(weights, outflows, strict=True) if out.demand is None), 0.0)
        if free_weight > 0:
            for k, out in enumerate(outflows):
                if out.demand is None and not out.pull and weights[k] != 0.0:
                    amounts[k] = stock * (weights[k] / free_weight)
            stock = 0.0
        for out, amount in zip(outflows, amounts, strict=True):
            if amount > 0:
                self._send(out, amount)
        st.stock = stock

    def _serve_pulls(self, st: _Stage, stock: float, amounts: list[float]) -> float:
        """Pull lanes ask for ``cover_days`` of their consumer's capacity less what it holds or has on
        order; short stock is shared in proportion to the asks. Returns the stock left over."""
        asks: list[tuple[int, float]] = []
        for k, out in enumerate(st.spec.outflows):
            if out.pull:
                lane = self.net.lanes[out.index]
                consumer = self.stages[lane.dst]
                target = out.cover_days * out.qty * consumer.capacity
                held = consumer.buffers[lane.item] + self.on_order[(lane.dst, lane.item)]
                asks.append((k, max(target - held, 0.0)))
        total_ask = sum((a for _, a in asks), 0.0)
        if total_ask == 0.0:
            return stock
        fill = min(stock / total_ask, 1.0)
        for k, ask in asks:
            amounts[k] = ask * fill
        return stock - total_ask * fill

    def _open_weight(self, day: int, out: Outflow) -> float:
        """The outflow's share weight today, or 0 while it is closed."""
        w = float(out.weight[day])
        if w <= 0.0:
            return 0.0
        if out.kind == "lane":
            cap = self.stages[self.net.lanes[out.index].dst].capacity
            if out.by_capacity:
                return w * out.qty * cap
            return w if cap > 0 else 0.0
        remaining = self.remaining[out.index]
        return w if remaining is None or remaining > 0 else 0.0

    def _send(self, out: Outflow, amount: float) -> None:
        """Put a shipment on its way: a timeout process per batch, or straight into the dock if 0 days."""
        if out.kind == "lane":
            lane = self.net.lanes[out.index]
            self.lane_shipped[out.index] += amount
            if lane.pull:
                self.on_order[(lane.dst, lane.item)] += amount
            days = self.lane_days[out.index]
            if days == 0:  # the consumer steps later today (it is downstream in processing order)
                self.stages[lane.dst].docks[out.index] += amount
            else:
                self.env.process(self._in_transit(out.index, days, amount))
            return
        j = out.index
        self.allotted[j] += amount
        remaining = self.remaining[j]
        if remaining is not None:
            self.remaining[j] = remaining - amount
        days = self.dest_days[j]
        if days == 0:
            self.delivered[j] += amount
        else:
            self.env.process(self._to_destination(j, days, amount))

    # ---------------------------------------------------------------------------------------- run

    def run(self) -> dict[str, float]:
        """Simulate the horizon (batches due on or after its last day + 1 are not counted)."""
        self.env.run(until=self.net.horizon)
        return self.totals()

    def totals(self) -> dict[str, float]:
        """Totals over the horizon, keyed like the engine's ``RunResult.totals`` (plus value and GPUs)."""
        out: dict[str, float] = {}
        for sid, st in self.stages.items():
            out[f"stages.{sid}.started"] = st.started
            out[f"stages.{sid}.completed"] = st.completed
        for i, shipped in enumerate(self.lane_shipped):
            out[f"lanes.{i}.shipped"] = shipped
        for j, d in enumerate(self.net.destinations):
            out[f"destinations.{d.id}.allotted"] = self.allotted[j]
            out[f"destinations.{d.id}.delivered"] = self.delivered[j]
        return out


def destination_item(s: Scenario, dest_id: str) -> str:
    """The item a destination receives (all its source stages make the same item)."""
    return s.stages[s.destinations[dest_id].sources[0]].produces


def simulate_one(
    s: Scenario, params: Parameters, run_index: int, network: Network | None = None
) -> dict[str, float]:
    """Run ``run_index`` of ``params`` through the SimPy model; totals over the horizon.

    Keys: ``stages.<s>.started`` / ``.completed`` (good output), ``lanes.<i>.shipped``,
    ``destinations.<d>.allotted`` / ``.delivered``, and ``value_usd`` / ``gpus_delivered`` (what all
    destinations received, valued with this run's item values, as in the Monte Carlo summary).
    """
    totals = SupplyModel(s, params, run_index, network).run()
    value = 0.0
    gpus = 0.0
    for did in s.destinations:
        item = destination_item(s, did)
        units = totals[f"destinations.{did}.delivered"]
        value += units * float(params[f"items.{item}.value_usd"][run_index])
        gpus += units * s.items[item].gpus
    totals["value_usd"] = value
    totals["gpus_delivered"] = gpus
    return totals


def simulate_runs(s: Scenario, params: Parameters, runs: Iterator[int] | range) -> list[dict[str, float]]:
    """``simulate_one`` for each run index (the network is compiled once)."""
    net = compile_network(s)
    return [simulate_one(s, params, i, net) for i in runs]
