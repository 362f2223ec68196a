"""The vectorised, daily time-stepped Monte Carlo of a supply network.

All runs advance together: every quantity is a numpy vector over runs, and one Python iteration
processes one day for every run. Per day, for each stage in processing order:

1. inputs that reach the stage today are added to its input buffers;
2. ``starts = min(capacity(day), min_i buffer_i / qty_i)`` units are started and their inputs consumed;
3. ``starts × yield × output_per_unit`` good units are scheduled to complete ``cycle_time_days`` later;
4. units completing today join the stage's outbound stock, which is split among the stage's *open*
   outflows by share (a lane is open while its consuming stage has capacity; a destination while it
   still wants units) and sent on their lanes or to destinations, arriving ``transit_days`` later.

Delays are whole days (figures are rounded per run). Quantities are continuous (a fluid model), so
expected counts are exact and conservation holds to floating-point precision.

Per-run delays differ, so pending work sits in ring buffers indexed ``(day mod L) × runs + run``. A
stage's completion ring is written with ``put`` (each run writes each slot once per cycle, so no
accumulation is needed); lane rings are written a row a day and read with ``take`` at each run's delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from aifactory.scenario.model import Scenario
from aifactory.supply.delays import Capacity, Lag, whole_days
from aifactory.supply.network import Network, Outflow, StageSpec, compile_network, never_closes
from aifactory.supply.parameters import Parameters
from aifactory.supply.results import MILLI, RunResult

FloatArray = npt.NDArray[np.float64]
Vector = npt.NDArray[Any] | float


@dataclass
class _StageState:
    spec: StageSpec
    capacity: Capacity
    gross: FloatArray  # yield × output_per_unit
    completion: Lag  # good units started, due cycle_time_days later
    inputs: list[tuple[str, float, FloatArray]]  # item, qty per unit, buffer
    arrivals: list[tuple[Lag, FloatArray, FloatArray | None]]  # lane ring, input buffer, pull pipeline
    buffers: dict[str, FloatArray]  # input item → on hand
    stock: FloatArray
    in_process: FloatArray  # good units started, not yet complete
    started: FloatArray
    completed: FloatArray
    cap_total: FloatArray
    bound_days: FloatArray
    bottleneck_days: FloatArray
    direct: bool  # one outflow that never closes: completions are sent on at once
    capped: bool  # has an outflow to a destination with a demand
    pulls: bool  # has pull lanes
    cap_today: Vector = 0.0
    open_today: Vector = 1.0  # closable stages: 0 where all their demand is met (idle, not binding)
    bound_today: np.ndarray | bool = False


class _Flows:
    """Lane and destination rings and their per-run totals."""

    def __init__(self, net: Network, s: Scenario, params: Parameters, runs: int) -> None:
        self.lanes = [
            Lag(whole_days(params[f"lanes.{ln.index}.transit_days"], 1 if ln.back else 0), runs)
            for ln in net.lanes
        ]
        self.lane_shipped = [np.zeros(runs) for _ in net.lanes]
        # One delivery ring per (source stage, destination): several stages may feed one destination.
        self.dests: list[Lag] = []
        self.dest_of_slot: list[int] = []
        for j, d in enumerate(net.destinations):
            for _ in d.sources:
                self.dests.append(Lag(whole_days(params[f"destinations.{d.id}.transit_days"]), runs))
                self.dest_of_slot.append(j)
        self.allotted = [np.zeros(runs) for _ in net.destinations]
        self.delivered = [np.zeros(runs) for _ in net.destinations]
        self.remaining: list[FloatArray | None] = [
            np.full(runs, d.demand) if d.demand is not None else None for d in net.destinations
        ]
        # Pull lanes: what is on the way to each consumer's input buffer (shared by its pull lanes).
        self.pipeline: dict[int, FloatArray] = {}
        pipes: dict[tuple[str, str], FloatArray] = {}
        for ln in net.lanes:
            if ln.pull:
                self.pipeline[ln.index] = pipes.setdefault((ln.dst, ln.item), np.zeros(runs))

    def send(self, day: int, out: Outflow, amount: Vector) -> None:
        if out.kind == "lane":
            self.lanes[out.index].push(day, amount)
            self.lane_shipped[out.index] += amount
            if out.pull:
                self.pipeline[out.index] += amount
        else:
            self.dests[out.slot].push(day, amount)
            self.allotted[out.index] += amount
            remaining = self.remaining[out.index]
            if remaining is not None:
                remaining -= amount


def simulate(
    s: Scenario,
    params: Parameters,
    *,
    bucket_days: int = 7,
    checkpoint_days: tuple[int, ...] = (),
    network: Network | None = None,
) -> RunResult:
    """Run every run of ``params`` over the scenario's horizon (pure: no I/O, no global state)."""
    net = network or compile_network(s)
    runs = len(next(iter(params.values())))
    horizon = net.horizon
    flows = _Flows(net, s, params, runs)
    stages = _build_stages(net, s, params, runs, flows)
    recorder = _Recorder(net, stages, flows, runs, horizon, bucket_days, checkpoint_days)
    reverse = list(reversed(net.order))
    closable = [stages[sid] for sid in reverse if stages[sid].spec.closable]
    ordered = [stages[sid] for sid in net.order]

    for day in range(horizon):
        for st in ordered:
            st.cap_today = st.capacity.at(day)
        for st in closable:
            st.open_today = _any_open(st, stages, net, flows)
            st.cap_today = st.cap_today * st.open_today
        for st in ordered:
            _step_stage(day, st, runs, stages, net, flows)
        for slot, lag in enumerate(flows.dests):
            flows.delivered[flows.dest_of_slot[slot]] += lag.pull(day)
        _mark_bottlenecks(reverse, stages, net)
        recorder.after(day)
    return recorder.result(s, params)


def _build_stages(
    net: Network, s: Scenario, params: Parameters, runs: int, flows: _Flows
) -> dict[str, _StageState]:
    stages: dict[str, _StageState] = {}
    for sid in net.order:
        spec = net.stages[sid]
        p = f"stages.{sid}"
        inputs = [
            (item, qty, np.full(runs, float(s.stages[sid].initial_inventory.get(item, 0.0))))
            for item, qty in spec.consumes.items()
        ]
        buffer_of = {item: buf for item, _, buf in inputs}
        outs = spec.outflows
        stages[sid] = _StageState(
            spec=spec,
            capacity=Capacity(spec, s, params, runs),
            gross=params[f"{p}.yield"] * params[f"{p}.output_per_unit"],
            completion=Lag(whole_days(params[f"{p}.cycle_time_days"]), runs),
            inputs=inputs,
            arrivals=[
                (flows.lanes[i], buffer_of[net.lanes[i].item], flows.pipeline.get(i)) for i in spec.inflows
            ],
            buffers=buffer_of,
            stock=np.zeros(runs),
            in_process=np.zeros(runs),
            started=np.zeros(runs),
            completed=np.zeros(runs),
            cap_total=np.zeros(runs),
            bound_days=np.zeros(runs),
            bottleneck_days=np.zeros(runs),
            direct=len(outs) == 1 and never_closes(outs[0], net),
            capped=any(o.demand is not None for o in outs),
            pulls=any(o.pull for o in outs),
        )
    return stages


def _step_stage(
    day: int, st: _StageState, runs: int, stages: dict[str, _StageState], net: Network, flows: _Flows
) -> None:
    """One stage's day: receive, start, complete, ship."""
    cap = st.cap_today
    wanted: Vector = np.inf
    if st.spec.demand_limited:
        wanted = _still_wanted(st, flows)
        cap = np.minimum(cap, wanted)
    for lag, buf, pipeline in st.arrivals:
        arrived = lag.pull(day)
        buf += arrived
        if pipeline is not None:
            pipeline -= arrived
    if st.inputs:
        allow: FloatArray | None = None
        for _, qty, buf in st.inputs:
            a = buf / qty if qty != 1.0 else buf
            allow = a if allow is None else np.minimum(allow, a)
        assert allow is not None
        starts = np.minimum(cap, allow)
        # decide "capacity-bound" before consuming: with qty 1, ``allow`` is the buffer itself
        # binds: scheduled to run, and capacity (not inputs) limits the starts
        st.bound_today = (cap <= allow) & (allow > 0) & st.capacity.scheduled_positive
        if st.spec.closable:
            st.bound_today &= st.open_today > 0
        if st.spec.demand_limited:
            st.bound_today &= st.cap_today <= wanted
        for _, qty, buf in st.inputs:
            buf -= starts * qty if qty != 1.0 else starts
    else:
        starts = cap if isinstance(cap, np.ndarray) else np.full(runs, cap)
        # a source binds whenever it is scheduled to run: at full capacity, or down (disrupted)
        st.bound_today = st.capacity.scheduled_positive
        if st.spec.closable:
            st.bound_today = st.bound_today & (st.open_today > 0)
    st.started += starts
    st.cap_total += cap
    good = starts * st.gross
    st.completion.push(day, good)
    done = st.completion.pull(day)
    st.completed += done
    if st.spec.demand_limited:
        st.in_process += good - done
    if st.direct:
        flows.send(day, st.spec.outflows[0], done)
    else:
        st.stock += done
        _route(day, st, stages, net, flows)


def _still_wanted(st: _StageState, flows: _Flows) -> FloatArray:
    """Units a demand-limited stage may still start: unmet demand less what it has in process or in
    stock, in units started (so that it makes no more than its destinations want)."""
    remaining = np.zeros_like(st.stock)
    for o in st.spec.outflows:
        wanted = flows.remaining[o.index]
        assert wanted is not None
        remaining += wanted
    want = np.maximum(remaining - st.in_process - st.stock, 0.0)
    return np.divide(want, st.gross, out=np.full_like(want, np.inf), where=st.gross > 0)


def _mark_bottlenecks(reverse: list[str], stages: dict[str, _StageState], net: Network) -> None:
    """A stage binds when its capacity is the constraint; it is *the* bottleneck of its path when no
    stage downstream of it binds too (stages downstream of a bottleneck are starved)."""
    downstream_bound: dict[str, np.ndarray | bool] = {}
    for sid in reverse:
        st = stages[sid]
        below: np.ndarray | bool = False
        for child in net.downstream[sid]:
            below = below | stages[child].bound_today | downstream_bound[child]
        downstream_bound[sid] = below
        st.bound_days += st.bound_today
        st.bottleneck_days += st.bound_today & ~below if below is not False else st.bound_today


class _Recorder:
    """Bucketed series, checkpoints and end-of-horizon totals of one batch."""

    def __init__(
        self,
        net: Network,
        stages: dict[str, _StageState],
        flows: _Flows,
        runs: int,
        horizon: int,
        bucket_days: int,
        checkpoint_days: tuple[int, ...],
    ) -> None:
        self.net, self.stages, self.flows = net, stages, flows
        self.horizon, self.bucket_days = horizon, bucket_days
        self.out = RunResult(runs=runs, bucket_days=bucket_days)
        buckets = -(-horizon // bucket_days)
        self.series_sources = {f"stages.{sid}.completed": st.completed for sid, st in stages.items()}
        self.series_sources |= {
            f"destinations.{d.id}.delivered": flows.delivered[j] for j, d in enumerate(net.destinations)
        }
        self.sum_sources: dict[str, FloatArray] = {}
        for sid, st in stages.items():
            self.sum_sources |= {
                f"stages.{sid}.started": st.started,
                f"stages.{sid}.capacity": st.cap_total,
                f"stages.{sid}.bound_days": st.bound_days,
                f"stages.{sid}.bottleneck_days": st.bottleneck_days,
            }
        self.series = {k: np.zeros((buckets, runs), dtype=np.float32) for k in self.series_sources}
        self.sums = {k: np.zeros(buckets, dtype=np.int64) for k in self.sum_sources}
        self.last = {k: np.zeros(runs) for k in (*self.series_sources, *self.sum_sources)}
        self.checkpoint_days = set(checkpoint_days)

    def after(self, day: int) -> None:
        if day + 1 in self.checkpoint_days:
            for j, d in enumerate(self.net.destinations):
                self.out.checkpoints[f"{d.id}@{day + 1}"] = self.flows.delivered[j].copy()
        if (day + 1) % self.bucket_days and day + 1 != self.horizon:
            return
        w = day // self.bucket_days
        for key, src in self.series_sources.items():
            self.series[key][w] = src - self.last[key]
            self.last[key][:] = src
        for key, src in self.sum_sources.items():
            self.sums[key][w] = np.rint((src - self.last[key]) * MILLI).astype(np.int64).sum()
            self.last[key][:] = src

    def result(self, s: Scenario, params: Parameters) -> RunResult:
        out = self.out
        for sid, st in self.stages.items():
            p = f"stages.{sid}"
            out.totals |= {
                f"{p}.started": st.started,
                f"{p}.completed": st.completed,
                f"{p}.capacity": st.cap_total,
                f"{p}.bound_days": st.bound_days,
                f"{p}.bottleneck_days": st.bottleneck_days,
                f"{p}.cost_usd": st.started * params[f"{p}.cost_per_unit_usd"],
                f"{p}.in_process": st.completion.pending(self.horizon),
                f"{p}.stock": st.stock,
            }
            for item, _, buf in st.inputs:
                out.totals[f"{p}.buffer.{item}"] = buf
        flows = self.flows
        for ln in self.net.lanes:
            i = ln.index
            shipped = flows.lane_shipped[i]
            value = params[f"items.{ln.item}.value_usd"]
            out.totals |= {
                f"lanes.{i}.shipped": shipped,
                f"lanes.{i}.in_transit": flows.lanes[i].pending(self.horizon),
                f"lanes.{i}.cost_usd": shipped * params[f"lanes.{i}.cost_per_unit_usd"],
                f"lanes.{i}.tariff_usd": shipped * value * params[f"lanes.{i}.tariff_rate"],
            }
        for j, d in enumerate(self.net.destinations):
            out.totals |= {
                f"destinations.{d.id}.allotted": flows.allotted[j],
                f"destinations.{d.id}.delivered": flows.delivered[j],
                f"destinations.{d.id}.in_transit": sum(
                    (
                        lag.pending(self.horizon)
                        for k, lag in enumerate(flows.dests)
                        if flows.dest_of_slot[k] == j
                    ),
                    np.zeros(self.out.runs),
                ),
            }
        out.series = self.series
        out.sums = self.sums
        return out


def _route(day: int, st: _StageState, stages: dict[str, _StageState], net: Network, flows: _Flows) -> None:
    """Split the stage's outbound stock among its open outflows by share and send it.

    Capped destinations take their share up to what they still want; the rest of the stock is split
    among the open uncapped outflows. What no open outflow can take stays in stock for a later day.
    """
    outflows = st.spec.outflows
    amounts: list[Vector] = [0.0] * len(outflows)
    stock: Vector = st.stock
    if st.pulls:
        stock = _serve_pulls(st, stock, amounts, stages, net, flows)
    weights = [0.0 if out.pull else _open_weight(day, out, stages, net, flows) for out in outflows]
    if st.capped:
        total = _positive(sum(weights, start=0.0))
        for k, out in enumerate(outflows):
            remaining = flows.remaining[out.index] if out.kind == "destination" else None
            if remaining is not None and _nonzero(weights[k]):
                amounts[k] = np.minimum(stock * (weights[k] / total), remaining)
                stock = stock - amounts[k]
    free_weight: Vector = sum(
        (w for w, out in zip(weights, outflows, strict=True) if out.demand is None), 0.0
    )
    if _nonzero(free_weight):
        free_total = _positive(free_weight)
        for k, out in enumerate(outflows):
            if out.demand is None and not out.pull and _nonzero(weights[k]):
                amounts[k] = stock * (weights[k] / free_total)  # weight share first: no overflow
        stock = stock * (free_weight <= 0) if isinstance(free_weight, np.ndarray) else 0.0
    for k, out in enumerate(outflows):
        flows.send(day, out, amounts[k])
    st.stock[:] = stock


def _serve_pulls(
    st: _StageState,
    stock: Vector,
    amounts: list[Vector],
    stages: dict[str, _StageState],
    net: Network,
    flows: _Flows,
) -> Vector:
    """Pull lanes first: each consumer asks for ``cover_days × capacity × qty`` less what it holds and
    what is already on the way; short stock is shared in proportion to the asks. Returns what is left."""
    asks: list[tuple[int, Vector]] = []
    for k, out in enumerate(st.spec.outflows):
        if out.pull:
            lane = net.lanes[out.index]
            consumer = stages[lane.dst]
            target = out.cover_days * out.qty * consumer.cap_today
            held = consumer.buffers[lane.item] + flows.pipeline[out.index]
            asks.append((k, np.maximum(target - held, 0.0)))
    total_ask: Vector = sum((a for _, a in asks), 0.0)
    if not _nonzero(total_ask):
        return stock
    fill = np.minimum(stock / _positive(total_ask), 1.0)
    for k, ask in asks:
        amounts[k] = ask * fill
    return stock - total_ask * fill


def _open_weight(
    day: int, out: Outflow, stages: dict[str, _StageState], net: Network, flows: _Flows
) -> Vector:
    """The outflow's share weight today, or 0 where it is closed (no capacity / no demand left)."""
    w = float(out.weight[day])
    if w <= 0.0:
        return 0.0
    if out.kind == "lane":
        cap = stages[net.lanes[out.index].dst].cap_today
        if out.by_capacity:
            return w * out.qty * cap
        return w * (cap > 0) if isinstance(cap, np.ndarray) else (w if cap > 0 else 0.0)
    remaining = flows.remaining[out.index]
    return w if remaining is None else w * (remaining > 0)


def _any_open(st: _StageState, stages: dict[str, _StageState], net: Network, flows: _Flows) -> Vector:
    """1 where at least one outflow of a closable stage still leads to unmet demand, else 0."""
    is_open: Vector = 0.0
    for out in st.spec.outflows:
        if out.kind == "lane":
            is_open = np.maximum(is_open, stages[net.lanes[out.index].dst].cap_today > 0)
        else:
            remaining = flows.remaining[out.index]
            assert remaining is not None
            is_open = np.maximum(is_open, remaining > 0)
    return is_open


def _nonzero(value: Vector) -> bool:
    return bool(np.any(value)) if isinstance(value, np.ndarray) else value != 0.0


def _positive(total: Vector) -> Vector:
    """``total`` with zeros replaced by 1, safe as a divisor (the numerators are then zero too)."""
    if isinstance(total, np.ndarray):
        return np.where(total > 0, total, 1.0)
    return total if total > 0 else 1.0
