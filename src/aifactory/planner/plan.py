"""``plan``: choose capacity additions that meet a scenario's targets, then verify them by Monte Carlo.

1. Draw K planning samples; build the bucketed MILP (``planner.model``); choose the samples each target
   may discard (sampling and discarding, on the LP's duals).
2. Each round: solve the LP with block counts rounded up (HiGHS, warm from the last basis), turn the
   amounts into actions (stage, option, amount, online date) and apply them to the scenario as
   expansions: the *planned scenario*.
3. Verify with the full Monte Carlo of the planned scenario (the supply engine, with its own routing
   rules, on runs the samples were not drawn from). If a target is met in fewer than P of the runs,
   raise it in the model (a damped first step, then interpolation between the factors found short and
   met) and solve again — up to ``max_rounds`` rounds, each recorded. The cheapest verified plan is
   the answer; a MILP started from it may find a cheaper one, kept if that verifies too.
4. A target the options cannot reach falls short in the solution (the model prices a shortfall above any
   plan's cost): the plan is infeasible, and says how far each target gets and which bounds cap it.

The core reads no clock: solve times are HiGHS's own.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aifactory.planner.buckets import bucket_edges
from aifactory.planner.lp import Model, Solution, Solver
from aifactory.planner.model import Layout, Objective, build_model, option_refs, target_bounds
from aifactory.planner.samples import build_samples, draw_samples
from aifactory.planner.shadow import shadow_prices
from aifactory.scenario.model import Scenario
from aifactory.supply.metrics import target_met, target_values
from aifactory.supply.montecarlo import Mapper, MonteCarlo, run_monte_carlo, serial_map
from aifactory.supply.network import compile_network

MIN_AMOUNT = 1e-6  # share of an option's bound below which an amount is solver noise
DAMPING = 0.75  # share of the first raise the verification suggests that is taken
DUAL_TINY = 1e-9  # a target row whose dual is below this costs nothing
SHORT = 1e-6  # a target's shortfall share above which it is out of reach


class PlanInputError(ValueError):
    """Bad planning input (a one-line message naming the option or field)."""


@dataclass(frozen=True)
class PlanSettings:
    probability: float = 0.5
    samples: int = 8
    bucket_days: int = 42
    runs: int = 1000
    seed: int = 0
    budget_usd: float | None = None
    max_rounds: int = 6
    time_limit_s: float = 300.0
    mip_gap: float = 1e-2
    improve_time_s: float = 3.0  # HiGHS's time for the MILP that improves on the rounded plan

    def check(self) -> None:
        if not 0 < self.probability < 1:
            raise PlanInputError(f"--probability: {self.probability:g} is not in (0, 1)")
        if self.budget_usd is not None and not (math.isfinite(self.budget_usd) and self.budget_usd >= 0):
            raise PlanInputError(f"--budget: {self.budget_usd} must be a finite amount >= 0")


@dataclass(frozen=True)
class Action:
    stage: str
    option: str
    add_per_day: float
    online: dt.date
    cost_usd: float
    ramp_days: float = 0.0
    blocks: int | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "stage": self.stage,
            "option": self.option,
            "add_per_day": self.add_per_day,
            "online": self.online.isoformat(),
            "cost_usd": self.cost_usd,
        }
        if self.ramp_days:
            out["ramp_days"] = self.ramp_days
        if self.blocks is not None:
            out["blocks"] = self.blocks
        return out


@dataclass
class Round:
    """One solve and its verification."""

    scale: dict[int, float]
    cost_usd: float
    objective_usd: float
    probabilities: list[float]
    solve_seconds: float
    status: str


@dataclass
class PlanResult:
    scenario: Scenario
    planned: Scenario
    settings: PlanSettings
    feasible: bool
    actions: list[Action]
    rounds: list[Round]
    verified: MonteCarlo | None
    baseline: MonteCarlo
    model_size: dict[str, int]
    shadow: list[dict[str, Any]] = field(default_factory=list)
    unreachable: list[dict[str, Any]] = field(default_factory=list)
    probabilities: list[float] = field(default_factory=list)  # each target's share of verified runs met

    @property
    def cost_usd(self) -> float:
        return float(sum(a.cost_usd for a in self.actions))

    @property
    def met(self) -> bool:
        return self.feasible and all(p >= self.settings.probability for p in self.probabilities)


def plan(
    s: Scenario,
    settings: PlanSettings,
    *,
    mapper: Mapper = serial_map,
    chunks: int = 1,
    on_round: Callable[[Round], None] | None = None,
) -> PlanResult:
    """The cheapest additions that meet every target of ``s`` in at least ``probability`` of the runs."""
    settings.check()
    net = compile_network(s)
    cuts = [s.day(t.by) + 1 for t in s.targets] + [s.day(t.window_start) for t in s.targets if t.window_start]
    cuts += [o.option.online_day(s.start) for o in option_refs(s)]
    edges = bucket_edges(s.horizon_days, settings.bucket_days, cuts)
    sm = build_samples(s, net, draw_samples(s, settings.seed, settings.samples), edges)
    value_target = next((j for j, t in enumerate(s.targets) if t.metric == "value_usd"), None)
    objective = Objective(budget_usd=settings.budget_usd, value_target=value_target)
    model, lay = build_model(s, net, sm, edges, objective=objective)
    solver = Solver(model, time_limit=settings.time_limit_s, mip_gap=settings.mip_gap)
    size = model_size(model, len(edges) - 1, sm.count)

    def simulate(scenario: Scenario) -> MonteCarlo:
        return run_monte_carlo(scenario, runs=settings.runs, seed=settings.seed, chunks=chunks, mapper=mapper)

    baseline = simulate(s)
    discarded, discard_seconds = choose_discards(solver, lay, sm.count, settings.probability)
    tightening = Tightening(settings.probability)
    rounds: list[Round] = []
    best: Candidate | None = None
    last: Candidate | None = None
    for _ in range(settings.max_rounds):
        scale = dict(tightening.scale)
        solver.row_bounds(*target_bounds(lay, scale, discarded))
        sol, bound = solver.rounded()
        if sol.x is None:
            raise RuntimeError(f"the planning model was not solved ({sol.status}): {sol.message}")
        seconds = sol.seconds + (discard_seconds if not rounds else 0.0)
        unreachable: list[dict[str, Any]] = []
        if any(sol.x[c] > SHORT for c in lay.shortfall.values()):
            sol, reach_lp = max_reach(solver, model, lay)
            seconds += sol.seconds + reach_lp.seconds
            assert reach_lp.x is not None
            unreachable = unreachable_targets(s, lay, reach_lp.x, scale, reach_lp.marginals)
        if any(u["index"] not in scale for u in unreachable):  # out of reach at its own value
            rounds.append(Round(scale, 0.0, float("nan"), [], seconds, "infeasible"))
            return PlanResult(
                s, s, settings, False, [], rounds, None, baseline, size, unreachable=unreachable
            )
        reach = {u["index"]: u["reachable"] / s.targets[u["index"]].value for u in unreachable}
        assert sol.x is not None
        actions = read_actions(s, lay, sol.x)
        planned = apply_actions(s, actions)
        verified = simulate(planned)
        probabilities, values = _verify(planned, verified)
        cost = float(sum(a.cost_usd for a in actions))
        objective_usd = sol.objective * lay.objective_scale if settings.budget_usd is not None else cost
        rounds.append(
            Round(scale, cost, objective_usd, probabilities, seconds, "capped" if reach else sol.status)
        )
        if on_round is not None:
            on_round(rounds[-1])
        last = Candidate(
            actions, planned, verified, sol, scale, cost, bound * lay.objective_scale, probabilities
        )
        if all(p >= settings.probability for p in probabilities) and (best is None or cost < best.cost):
            best = last
        if settings.budget_usd is not None or not tightening.update(probabilities, values, s, reach):
            break
    chosen = best or last
    assert chosen is not None and chosen.solution.x is not None
    solver.row_bounds(*target_bounds(lay, chosen.scale, discarded))
    if settings.budget_usd is None and any(model.integer):
        chosen = _improve(s, solver, lay, chosen, simulate, settings)
    x = chosen.solution.x
    assert x is not None
    capped = any(x[c] > SHORT for c in lay.shortfall.values())
    shadow = [] if capped else shadow_prices(s, solver, lay, chosen.solution, edges)
    return PlanResult(
        s,
        chosen.planned,
        settings,
        True,
        chosen.actions,
        rounds,
        chosen.verified,
        baseline,
        size,
        shadow=shadow,
        probabilities=chosen.probabilities,
    )


def _improve(
    s: Scenario, solver: Solver, lay: Layout, chosen: Candidate, simulate: Callable[[Scenario], MonteCarlo],
    settings: PlanSettings,
) -> Candidate:  # fmt: skip
    """Solve the MILP from the rounded plan (for at most ``improve_time_s``) unless the rounded plan is
    within ``mip_gap`` of the relaxation's bound; keep its plan if it is cheaper and still verifies."""
    assert chosen.solution.x is not None
    if chosen.cost - chosen.bound_usd <= settings.mip_gap * max(chosen.cost, 1e-9):
        return chosen
    mip = solver.solve_from(chosen.solution.x, time_limit=settings.improve_time_s)
    if mip.x is None:
        return chosen
    actions = read_actions(s, lay, mip.x)
    cost = float(sum(a.cost_usd for a in actions))
    if cost >= chosen.cost * (1 - 1e-6):
        return chosen
    planned = apply_actions(s, actions)
    verified = simulate(planned)
    probabilities, _ = _verify(planned, verified)
    if not all(p >= settings.probability for p in probabilities):
        return chosen
    return Candidate(actions, planned, verified, mip, chosen.scale, cost, chosen.bound_usd, probabilities)


@dataclass(frozen=True)
class Candidate:
    """A solved and verified plan."""

    actions: list[Action]
    planned: Scenario
    verified: MonteCarlo
    solution: Solution
    scale: dict[int, float]
    cost: float
    bound_usd: float  # the LP relaxation's cost: no plan for these targets is cheaper
    probabilities: list[float]  # each target's share of the verified runs met


def choose_discards(
    solver: Solver, lay: Layout, samples: int, probability: float
) -> tuple[dict[int, list[int]], float]:
    """Sampling and discarding: each target drops the samples whose rows cost most, until ``⌈P × K⌉``
    remain. Chosen on the LP relaxation by the duals of the targets' rows, up to half of what is left
    to drop per solve; a target whose rows cost nothing stops dropping. Returns the discards and the
    solver's seconds."""
    allowed = samples - max(1, math.ceil(probability * samples - 1e-9))
    discarded: dict[int, list[int]] = {j: [] for j in lay.target_rows}
    done: set[int] = set()
    seconds = 0.0
    while True:
        pending = [j for j in lay.target_rows if j not in done and len(discarded[j]) < allowed]
        if not pending:
            break
        solver.row_bounds(*target_bounds(lay, {}, discarded))
        lp = solver.solve(integral=False)
        seconds += lp.seconds
        if lp.marginals is None:
            break
        for j in pending:
            kept = [k for k in range(samples) if k not in discarded[j]]
            cost = np.abs(lp.marginals[np.array(lay.target_rows[j])[kept]])
            if cost.max() <= DUAL_TINY:
                done.add(j)
                continue
            batch = max(1, (allowed - len(discarded[j])) // 2)
            discarded[j] += [kept[i] for i in np.argsort(-cost)[:batch] if cost[i] > DUAL_TINY]
    return discarded, seconds


class Tightening:
    """Raise a target the verification finds short, and lower it again where that overshot.

    Per target, the largest factor found short (``low``, met in ``p_low`` of the runs) and the smallest
    found met (``high``, ``p_high``) bracket the factor the plan needs. The next factor interpolates
    between them to the probability asked (regula falsi, kept off the bracket's ends); with no met
    factor yet, it is the ratio of the goal to what the verified runs reached at that probability."""

    def __init__(self, probability: float, tolerance: float = 0.03) -> None:
        self.probability = probability
        self.tolerance = tolerance
        self.scale: dict[int, float] = {}
        self.low: dict[int, tuple[float, float]] = {}
        self.high: dict[int, tuple[float, float]] = {}

    def update(
        self, probabilities: list[float], values: list[np.ndarray], s: Scenario, reach: dict[int, float]
    ) -> bool:
        """Record a verification; set the next factors. False when there is nothing left to try."""
        again = False
        for j, p in enumerate(probabilities):
            factor = min(self.scale.get(j, 1.0), reach.get(j, np.inf))
            if p >= self.probability:
                if j not in self.high or factor < self.high[j][0]:
                    self.high[j] = (factor, p)
            else:
                if j not in self.low or factor > self.low[j][0]:
                    self.low[j] = (factor, p)
                if j in reach:  # the options cannot do more
                    continue
            if j not in self.low:
                continue
            low, p_low = self.low[j]
            if j not in self.high:
                reached = float(np.quantile(values[j], 1 - self.probability))
                ratio = s.targets[j].value / reached if reached > 0 else 2.0
                # damped: raising a target in the model raises what the runs reach more than in proportion
                nxt = low * float(min(max(1 + DAMPING * (ratio - 1), 1.02), 3.0))
            else:
                high, p_high = self.high[j]
                if (high - low) / high <= self.tolerance:
                    continue
                aim = min(self.probability + 0.02, (self.probability + p_high) / 2)
                share = (aim - p_low) / (p_high - p_low) if p_high > p_low else 0.5
                nxt = low + float(np.clip(share, 0.15, 0.85)) * (high - low)
            if abs(nxt - self.scale.get(j, 1.0)) > 1e-9:
                self.scale[j] = nxt
                again = True
        return again


def model_size(model: Model, buckets: int, samples: int) -> dict[str, int]:
    return {
        "variables": model.n_vars,
        "integer_variables": int(sum(model.integer)),
        "constraints": model.n_rows,
        "nonzeros": model.nonzeros,
        "buckets": buckets,
        "samples": samples,
    }


def read_actions(s: Scenario, lay: Layout, x: np.ndarray) -> list[Action]:
    """One action per option used: its total amount, online from its first tranche. Moving a later
    tranche earlier only adds capacity at the same cost, so the merged plan is at least as good."""
    actions: list[Action] = []
    for i, ref in enumerate(lay.options):
        opt = ref.option
        tranches = [(t, float(x[col])) for t, col in sorted(lay.add[i].items())]
        used = [(t, a) for t, a in tranches if a > MIN_AMOUNT * max(opt.add_per_day.max, 1.0)]
        if not used:
            continue
        amount = min(sum(a for _, a in used), opt.add_per_day.max)
        blocks = None
        if opt.add_per_day.block:
            blocks = round(amount / opt.add_per_day.block)
            amount = blocks * opt.add_per_day.block
        actions.append(
            Action(
                ref.stage,
                opt.name,
                amount,
                s.date(int(lay.edges[used[0][0]])),
                amount * opt.cost_usd_per_unit_per_day + opt.fixed_cost_usd,
                opt.ramp_days,
                blocks,
            )
        )
    return sorted(actions, key=lambda a: (a.online, a.stage, a.option))


def apply_actions(s: Scenario, actions: list[Action]) -> Scenario:
    """The scenario with each action as an expansion of its stage (what ``aifactory run`` simulates)."""
    data = s.model_dump(mode="json", by_alias=True, exclude_unset=True)
    for a in actions:
        stage = data["stages"][a.stage]
        stage.setdefault("expansions", []).append(
            {
                "date": a.online.isoformat(),
                "add_per_day": a.add_per_day,
                "ramp_days": a.ramp_days,
                "note": f"plan: option {a.option}, ${a.cost_usd:,.0f}",
            }
        )
    return Scenario.model_validate(data)


def _verify(s: Scenario, mc: MonteCarlo) -> tuple[list[float], list[np.ndarray]]:
    """Each target's share of runs met, and what each run reached."""
    values = [target_values(s, t, mc.result, mc.params) for t in s.targets]
    met = [float(np.mean(target_met(t, v))) for t, v in zip(s.targets, values, strict=True)]
    return met, values


def max_reach(solver: Solver, model: Model, lay: Layout) -> tuple[Solution, Solution]:
    """Where a target is out of reach: first the least shortfall whatever it costs (its LP's duals say
    which capacities limit the reach), then the cheapest plan that reaches that far. Returns both."""
    cols = np.array(list(lay.shortfall.values()), dtype=np.int64)
    everything = np.arange(model.n_vars)
    only = np.zeros(model.n_vars)
    only[cols] = 1.0
    solver.costs(everything, only)
    try:
        reach, _ = solver.rounded()
    finally:
        solver.costs(everything, np.array(model.cost))
    assert reach.x is not None
    least = reach.x[cols]
    solver.col_bounds(cols, np.zeros(len(cols)), np.minimum(least + 1e-9, 1.0))
    try:
        cheapest, _ = solver.rounded()
    finally:
        solver.col_bounds(cols, np.zeros(len(cols)), np.ones(len(cols)))
    return (cheapest if cheapest.x is not None else reach), reach


def unreachable_targets(
    s: Scenario, lay: Layout, x: np.ndarray, scale: dict[int, float], duals: np.ndarray | None
) -> list[dict[str, Any]]:
    """The targets the least-shortfall solution ``x`` falls short of: how far each gets, the options at
    their bound, and the stages whose capacity limits the reach (a dual of that LP) with no option left."""
    short = {j: float(x[col]) for j, col in lay.shortfall.items() if x[col] > SHORT}
    if not short:
        return []
    capped, headroom = [], set()
    for i, ref in enumerate(lay.options):
        total = sum(float(x[c]) for c in lay.add[i].values())
        bound = ref.option.add_per_day.max
        if total >= bound * (1 - 1e-6):
            capped.append({"stage": ref.stage, "option": ref.option.name, "max_add_per_day": bound})
        else:
            headroom.add(ref.stage)
    binding = [
        sid
        for sid, rows in lay.capacity_rows.items()
        if duals is not None and sid not in headroom and float(np.abs(duals[rows]).sum()) > DUAL_TINY
    ]
    out: list[dict[str, Any]] = []
    for j, share in short.items():
        t = s.targets[j]
        goal = t.value * scale.get(j, 1.0)
        out.append(
            {
                "index": j,
                "target": t.name or t.metric,
                "metric": t.metric,
                "by": t.by.isoformat(),
                "value": t.value,
                "reachable": goal * (1 - share),
                "capped_by": capped,
                "binding_stages": binding,
            }
        )
    return out
