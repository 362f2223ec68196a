"""The planning model: the supply network in time buckets, for K samples at once, as a MILP.

Per sample ``k``, stage ``s`` and bucket ``t``:

* ``x[k,s,t]`` units started, at most the bucket's capacity plus what the options add by then;
* good output ``gross × x`` leaves ``cycle_time_days`` later (spread over the buckets it lands in) and is
  shipped on the stage's lanes ``f`` and to its destinations ``g`` (what is not shipped is lost, which
  never pays);
* each consumed item has an input buffer ``b``: yesterday's, plus lane arrivals ``transit_days`` after
  shipping, minus ``qty × x``; never negative;
* destinations with a demand take no more than it.

First-stage (shared by all samples): ``z[o,t]`` capacity option ``o`` adds from bucket ``t`` on (in all a
whole number of blocks where the option has them), its running total ``Z``, and ``y[o]`` = the option is
used (for a fixed cost). Each target must be met in every sample but those it *discards*: the chance
constraint "met in at least P of the runs" is approximated by sampling and discarding (the planner
drops, one by one, the samples whose target rows cost most, keeping ``⌈P × K⌉``). A
target may fall short by a share ``short[j]`` of its goal at a price above any plan's cost, so the model
is always feasible and a positive shortfall says the target is out of reach. Minimise the cost of the
options, or with a budget maximise the mean delivered value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aifactory.planner.buckets import IntArray, arrived_by, ramp_share, shift_weights
from aifactory.planner.lp import INF, Model
from aifactory.planner.samples import Samples
from aifactory.scenario.model import Scenario, Target
from aifactory.scenario.options import StageOption
from aifactory.supply.metrics import destination_item, final_producers
from aifactory.supply.network import Network

LATER = 1e-4  # relative cost of an addition made at the horizon's end rather than its start: a tie-break


@dataclass(frozen=True)
class OptionRef:
    stage: str
    index: int
    option: StageOption

    @property
    def label(self) -> str:
        return f"{self.stage}/{self.option.name}"


@dataclass
class Layout:
    """Where each quantity sits in the model's variables and rows."""

    edges: IntArray
    options: list[OptionRef]
    starts: dict[str, IntArray] = field(default_factory=dict)  # stage → (K, T) x
    add: list[dict[int, int]] = field(default_factory=list)  # option → {bucket: z column}
    used: list[int | None] = field(default_factory=list)  # option → y column (fixed cost) or None
    capacity_rows: dict[str, IntArray] = field(default_factory=dict)  # stage → (K, T) rows
    target_rows: dict[int, list[int]] = field(default_factory=dict)  # target → per-sample row
    shortfall: dict[int, int] = field(default_factory=dict)  # target → slack column (diagnosis only)
    delivered: dict[int, list[list[tuple[int, float]]]] = field(
        default_factory=dict
    )  # target → per-sample terms
    cost_scale: float = 1.0  # USD per unit of option cost in the model
    objective_scale: float = 1.0  # USD per unit of the objective (cost, or value with a budget)
    shortfall_price: float = 1.0  # objective per unit of a target's shortfall share


@dataclass(frozen=True)
class Objective:
    """What the model optimises: option cost (default) or, with a budget, mean delivered value."""

    budget_usd: float | None = None
    value_target: int | None = None  # the target whose delivered value a budget plan maximises


def target_bounds(
    lay: Layout, scale: dict[int, float], discarded: dict[int, list[int]]
) -> tuple[IntArray, np.ndarray, np.ndarray]:
    """Row bounds of the target rows: ``≥ factor`` in kept samples, unbounded in discarded ones."""
    rows, lo = [], []
    for j, per_sample in lay.target_rows.items():
        drop = set(discarded.get(j, ()))
        for k, r in enumerate(per_sample):
            rows.append(r)
            lo.append(-INF if k in drop else scale.get(j, 1.0))
    return np.array(rows, dtype=np.int64), np.array(lo), np.full(len(rows), INF)


def option_refs(s: Scenario) -> list[OptionRef]:
    return [OptionRef(sid, i, o) for sid, st in s.stages.items() for i, o in enumerate(st.options)]


def build_model(
    s: Scenario,
    net: Network,
    sm: Samples,
    edges: IntArray,
    *,
    objective: Objective = Objective(),
) -> tuple[Model, Layout]:
    """The MILP. Its target rows' bounds are set by the planner (:func:`target_bounds`)."""
    m = Model()
    n_buckets = len(edges) - 1
    k_count = sm.count
    options = option_refs(s)
    lay = Layout(edges=edges, options=options)
    costs = [o.option.cost_usd_per_unit_per_day for o in options] + [o.option.fixed_cost_usd for o in options]
    lay.cost_scale = max([c for c in costs if c > 0], default=1.0)
    lay.objective_scale = lay.cost_scale
    budget_mode = objective.budget_usd is not None
    _options(m, s, lay, n_buckets, cost=not budget_mode)
    everything = sum(o.option.add_per_day.max * o.option.cost_usd_per_unit_per_day + o.option.fixed_cost_usd
                     for o in options)  # fmt: skip
    lay.shortfall_price = 10.0 * max(everything / lay.cost_scale, 1.0)
    for sid in net.order:
        lay.starts[sid] = m.var((k_count, n_buckets))
    ships = {i: m.var((k_count, n_buckets)) for i in range(len(net.lanes))}
    dest_ships: dict[tuple[str, str], IntArray] = {}
    for dest in net.destinations:
        for sid in dest.sources:
            dest_ships[sid, dest.id] = m.var((k_count, n_buckets))
    _flows(m, s, net, sm, lay, ships, dest_ships)
    _capacity(m, s, sm, lay)
    for j, target in enumerate(s.targets):
        _target(m, s, sm, lay, j, target, dest_ships, enforce=not budget_mode)
    if budget_mode:
        assert objective.budget_usd is not None
        terms = [(col, o.option.cost_usd_per_unit_per_day / lay.cost_scale)
                 for i, o in enumerate(options) for col in lay.add[i].values()]  # fmt: skip
        terms += [(used, o.option.fixed_cost_usd / lay.cost_scale)
                  for o, used in zip(options, lay.used, strict=True) if used is not None]  # fmt: skip
        m.row(terms, hi=objective.budget_usd / lay.cost_scale)
        _value_objective(m, s, sm, lay, objective.value_target, dest_ships)
    return m, lay


def _options(m: Model, s: Scenario, lay: Layout, n_buckets: int, *, cost: bool) -> None:
    """``z[o,t] ≥ 0`` from the option's first online bucket; their total is at most the bound, a whole
    number of blocks (one integer per option) and, with a fixed cost, zero unless ``y[o]``."""
    for ref in lay.options:
        opt = ref.option
        block = opt.add_per_day.block
        online = max(0, opt.online_day(s.start))
        eligible = [t for t in range(n_buckets) if lay.edges[t] >= online]
        per_unit = opt.cost_usd_per_unit_per_day / lay.cost_scale if cost else 0.0
        limit = opt.add_per_day.max
        cols = m.var(len(eligible), ub=limit, cost=per_unit)
        for t, col in zip(eligible, cols, strict=True):  # where it does not matter when, the earliest
            m.cost[int(col)] *= 1.0 + LATER * t / n_buckets
        lay.add.append(dict(zip(eligible, (int(c) for c in cols), strict=True)))
        total = [(int(c), 1.0) for c in cols]
        if block:
            blocks = int(m.var(1, ub=float(limit // block), integer=True)[0])
            m.row([*total, (blocks, -block)], lo=0.0, hi=0.0)
        if opt.fixed_cost_usd > 0:
            y = int(
                m.var(1, ub=1.0, cost=opt.fixed_cost_usd / lay.cost_scale if cost else 0.0, integer=True)[0]
            )
            lay.used.append(y)
            m.row([*total, (y, -limit)], hi=0.0)
        else:
            lay.used.append(None)
            m.row(total, hi=limit)


def _flows(
    m: Model,
    s: Scenario,
    net: Network,
    sm: Samples,
    lay: Layout,
    ships: dict[int, IntArray],
    dest_ships: dict[tuple[str, str], IntArray],
) -> None:
    edges = lay.edges
    n_buckets = len(edges) - 1
    shifts: dict[int, list[list[tuple[int, float]]]] = {}

    def shift(delay: int) -> list[list[tuple[int, float]]]:
        if delay not in shifts:
            shifts[delay] = shift_weights(edges, int(delay))
        return shifts[delay]

    for k in range(sm.count):
        for sid, spec in net.stages.items():
            x = lay.starts[sid][k]
            out: list[list[tuple[int, float]]] = [[] for _ in range(n_buckets)]
            gross = float(sm.gross[sid][k])
            for tau, pairs in enumerate(shift(int(sm.cycle[sid][k]))):
                for t, w in pairs:
                    out[t].append((int(x[tau]), -gross * w))
            shipped = [ships[o.index][k] for o in spec.outflows if o.kind == "lane"]
            shipped += [dest_ships[sid, o.key][k] for o in spec.outflows if o.kind == "destination"]
            for t in range(n_buckets):
                m.row(out[t] + [(int(v[t]), 1.0) for v in shipped], hi=0.0)
            for item, qty in spec.consumes.items():
                buf = m.var(n_buckets)
                arrive: list[list[tuple[int, float]]] = [[] for _ in range(n_buckets)]
                for li in spec.inflows:
                    if net.lanes[li].item != item:
                        continue
                    for tau, pairs in enumerate(shift(int(sm.lane_transit[li][k]))):
                        for t, w in pairs:
                            arrive[t].append((int(ships[li][k][tau]), -w))
                initial = s.stages[sid].initial_inventory.get(item, 0.0)
                for t in range(n_buckets):
                    terms = [(int(buf[t]), 1.0), (int(x[t]), qty), *arrive[t]]
                    if t:
                        terms.append((int(buf[t - 1]), -1.0))
                    rhs = initial if t == 0 else 0.0
                    m.row(terms, lo=rhs, hi=rhs)
        for dest in net.destinations:
            if dest.demand is not None:
                terms = [(int(c), 1.0) for sid in dest.sources for c in dest_ships[sid, dest.id][k]]
                m.row(terms, hi=dest.demand)
    for i, lane in enumerate(net.lanes):  # a lane whose share is 0 for a whole bucket is closed then
        weight = next(o.weight for o in net.stages[lane.src].outflows if o.kind == "lane" and o.index == i)
        _close(m, ships[i], weight, edges)
    for dest in net.destinations:
        for sid in dest.sources:
            weight = next(
                o.weight for o in net.stages[sid].outflows if o.kind == "destination" and o.key == dest.id
            )
            _close(m, dest_ships[sid, dest.id], weight, edges)


def _close(m: Model, cols: IntArray, weight: np.ndarray, edges: IntArray) -> None:
    for t in range(len(edges) - 1):
        if not np.any(weight[edges[t] : edges[t + 1]] > 0):
            for c in cols[:, t]:
                m.upper[int(c)] = 0.0


def _capacity(m: Model, s: Scenario, sm: Samples, lay: Layout) -> None:
    """``x ≤ capacity + what the options add``. A unit of option added in bucket ``τ`` gives, in bucket
    ``t``, its ramped capacity-days (times the disruption factors); once fully ramped that is the bucket's
    factor-days, so those additions enter through their running total ``Z[τ*]`` (one term, not one per
    bucket)."""
    edges = lay.edges
    n_buckets = len(edges) - 1
    by_stage: dict[str, list[int]] = {}
    for i, ref in enumerate(lay.options):
        by_stage.setdefault(ref.stage, []).append(i)
    for sid, x in lay.starts.items():
        factor_days = np.add.reduceat(sm.factors[sid], edges[:-1], axis=1)  # (K, T)
        extra: list[list[list[tuple[int, float]]]] = [[[] for _ in range(n_buckets)] for _ in range(sm.count)]
        for i in by_stage.get(sid, []):
            opt = lay.options[i].option
            ramp = max(round(opt.ramp_days), 1)
            running = _running_total(m, lay, i, n_buckets)
            for t in range(n_buckets):
                full = int(np.searchsorted(edges[: t + 1], edges[t] + 1 - ramp, side="right")) - 1
                if full >= 0:
                    for k in range(sm.count):
                        extra[k][t].append((int(running[full]), -float(factor_days[k, t])))
                for tau in range(full + 1, t + 1):
                    if tau not in lay.add[i]:
                        continue
                    share = ramp_share(edges, int(edges[tau]), opt.ramp_days, t, sm.factors[sid])
                    for k in range(sm.count):
                        extra[k][t].append((lay.add[i][tau], -float(share[k])))
        cap = sm.capacity[sid]
        rows = np.empty((sm.count, n_buckets), dtype=np.int64)
        for k in range(sm.count):
            for t in range(n_buckets):
                rows[k, t] = m.row([(int(x[k, t]), 1.0), *extra[k][t]], hi=float(cap[k, t]))
        lay.capacity_rows[sid] = rows


def _running_total(m: Model, lay: Layout, i: int, n_buckets: int) -> IntArray:
    """``Z[t] = Σ_{τ ≤ t} z[τ]`` for option ``i`` (in the option's units)."""
    running = m.var(n_buckets)
    for t in range(n_buckets):
        terms = [(int(running[t]), 1.0)]
        if t:
            terms.append((int(running[t - 1]), -1.0))
        if t in lay.add[i]:
            terms.append((lay.add[i][t], -1.0))
        m.row(terms, lo=0.0, hi=0.0)
    return running


def target_terms(
    s: Scenario, sm: Samples, lay: Layout, target: Target, k: int, dest_ships: dict[tuple[str, str], IntArray]
) -> list[tuple[int, float]]:
    """The target's measure in sample ``k`` as a linear expression (a total by its date)."""
    cutoff = min(s.day(target.by) + 1, s.horizon_days)
    terms: list[tuple[int, float]] = []
    for did in target.destinations or list(s.destinations):
        item = destination_item(s, did)
        if target.metric == "value_usd":
            unit = float(sm.value[item][k])
        elif target.metric == "gpus_delivered":
            unit = s.items[item].gpus
        else:
            unit = 1.0 if item == target.item else 0.0
        if unit == 0.0:
            continue
        share = arrived_by(lay.edges, int(sm.dest_transit[did][k]), cutoff)
        for sid in s.destinations[did].sources:
            cols = dest_ships[sid, did][k]
            terms += [(int(c), unit * float(w)) for c, w in zip(cols, share, strict=True) if w > 0]
    return terms


def _target(
    m: Model, s: Scenario, sm: Samples, lay: Layout, j: int, target: Target,
    dest_ships: dict[tuple[str, str], IntArray], *, enforce: bool,
) -> None:  # fmt: skip
    """One row per sample: ``measure / goal + short ≥ factor``. The planner sets the bound: the factor
    (1, or more once verification raised the target), or no bound where the sample is discarded."""
    goal = target.value
    if goal <= 0 or not enforce:
        if target.metric != "production_rate":
            lay.delivered[j] = [target_terms(s, sm, lay, target, k, dest_ships) for k in range(sm.count)]
        return
    # A shortfall (a share of the goal, in every sample) keeps the model feasible; its price exceeds what
    # any set of options costs, so it is used only where no options reach the target.
    col = int(m.var(1, ub=1.0, cost=lay.shortfall_price)[0])
    lay.shortfall[j] = col
    rows: list[int] = []
    if target.metric == "production_rate":
        for k in range(sm.count):
            rows.append(m.row([*_rate_terms(s, sm, lay, target, goal, k), (col, 1.0)], lo=1.0))
    else:
        lay.delivered[j] = []
        for k in range(sm.count):
            terms = target_terms(s, sm, lay, target, k, dest_ships)
            lay.delivered[j].append(terms)
            rows.append(m.row([(c, v / goal) for c, v in terms] + [(col, 1.0)], lo=1.0))
    lay.target_rows[j] = rows


def _rate_terms(
    s: Scenario, sm: Samples, lay: Layout, target: Target, goal: float, k: int
) -> list[tuple[int, float]]:
    """A production rate reached by the end of the window: the output of the last ``per_days`` days
    before the target's date (work done in a bucket taken as spread over its days). Capacity ramps up,
    so this is where a window's best rate usually is; it is never above the best, so the row is safe.
    Coefficients are per unit of the goal."""
    assert target.item is not None
    edges = lay.edges
    end = min(s.day(target.by) + 1, s.horizon_days)
    begin = max(0, end - target.per_days)
    per_window = target.per_days / max(end - begin, 1)
    starts, ends = edges[:-1], edges[1:]
    overlap = np.clip(np.minimum(ends, end) - np.maximum(starts, begin), 0, None) / (ends - starts)
    stages = [
        sid for sid in final_producers(s, target.item)
        if target.sites_country is None
        or (s.sites.get(s.stages[sid].site) and s.sites[s.stages[sid].site].country == target.sites_country)
    ]  # fmt: skip
    terms: list[tuple[int, float]] = []
    for sid in stages:
        gross = float(sm.gross[sid][k])
        for tau, pairs in enumerate(shift_weights(edges, int(sm.cycle[sid][k]))):
            weight = sum(share * overlap[t] for t, share in pairs)
            if weight > 0:
                terms.append((int(lay.starts[sid][k][tau]), gross * weight * per_window / goal))
    return terms


def _value_objective(
    m: Model,
    s: Scenario,
    sm: Samples,
    lay: Layout,
    j: int | None,
    dest_ships: dict[tuple[str, str], IntArray],
) -> None:
    """Budget mode: maximise the mean, over samples, of the delivered value (of target ``j``, else of all
    destinations by the end of the horizon)."""
    if j is not None and j in lay.delivered:
        per_sample = lay.delivered[j]
    else:
        everything = Target(metric="value_usd", by=s.date(s.horizon_days - 1), value=0.0)
        per_sample = [target_terms(s, sm, lay, everything, k, dest_ships) for k in range(sm.count)]
    scale = max((abs(v) for terms in per_sample for _, v in terms), default=1.0)
    lay.objective_scale = -scale  # the objective is minus the mean delivered value, over scale
    for terms in per_sample:
        for col, v in terms:
            m.cost[col] -= v / scale / sm.count


__all__ = ["INF", "Layout", "Objective", "OptionRef", "build_model", "option_refs"]
