"""The search for the cheapest plant design that meets a throughput target with a given probability.

Optuna's TPE sampler proposes candidates (whole numbers within the variables' bounds) and learns from
their cost and whether they meet the target: the cost is the objective, ``probability − share of
replications meeting the target`` a constraint. Every candidate runs the same replication seeds (common
random numbers). Candidates are asked for in batches, so the replications of a batch run in parallel
through the caller's mapper (processes or Ray).

The sampler's best is then polished: one unit less of each variable in turn, while the target is still
met. Then ranking and selection: a few replications cannot tell a candidate that meets the target 90 % of the
time from one that meets it 80 %. Candidates that could be the answer — the cheapest that looks
feasible, and any cheaper one whose share is within the noise of the probability — get more
replications, a batch at a time, up to ``max_replications``, until the cheapest feasible one is known
(sequential screening, as OCBA gives the extra runs to the designs whose ranking is uncertain).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aifactory.plant.design import Evaluation, Values, apply, current_values, frontier, weekly_cost
from aifactory.plant.distributions import mean_of
from aifactory.plant.model import Plant
from aifactory.plant.replications import PlantJob, PlantOutcome, run_job
from aifactory.sim.replications import replication_seeds

Mapper = Callable[[Callable[[PlantJob], PlantOutcome], list[PlantJob]], Iterable[PlantOutcome]]


@dataclass(frozen=True)
class SearchSettings:
    target: float
    """Racks a week to reach."""
    probability: float = 0.9
    trials: int = 50
    replications: int = 8
    max_replications: int = 32
    days: float = 28.0
    warmup_days: float = 7.0
    seed: int = 0
    batch: int = 4
    """Candidates asked for at once (their replications run together)."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.target) and self.target > 0):
            raise ValueError(f"target: must be a positive number of racks a week, got {self.target}")
        if not 0 < self.probability <= 1:
            raise ValueError(f"probability: must be in (0, 1], got {self.probability}")
        if self.trials < 1 or self.replications < 1 or self.batch < 1:
            raise ValueError("trials, replications and batch must be at least 1")
        if self.max_replications < self.replications:
            raise ValueError("max_replications must be at least replications")


@dataclass
class DesignResult:
    settings: SearchSettings
    names: list[str]
    evaluations: list[Evaluation]
    chosen: Evaluation | None
    largest: Evaluation
    """Every variable at its upper bound: the most the design space can do."""
    current: Evaluation
    caps: list[str]
    """Why no candidate meets the target (empty when one does)."""

    @property
    def frontier(self) -> list[Evaluation]:
        return frontier(self.evaluations)

    def binding(self) -> list[str]:
        """What binds in the chosen design: its busiest resources and variables at their upper bound."""
        if self.chosen is None:
            return []
        plant_vars = list(zip(self.names, self.chosen.values, strict=True))
        out = [f"{r} is {u:.0%} busy" for r, u in self.chosen.busiest(3)]
        highs = dict(zip(self.names, self.largest.values, strict=True))
        out += [f"{n} is at its upper bound ({v})" for n, v in plant_vars if v == highs[n]]
        return out


class _Evaluator:
    """Candidates' evaluations, cached; replications added in batches through the mapper."""

    def __init__(
        self, plant: Plant, settings: SearchSettings, mapper: Mapper | None, on_run: Callable[[], None]
    ):
        self.plant, self.settings, self.mapper, self.on_run = plant, settings, mapper, on_run
        self.seeds = replication_seeds(settings.seed, settings.max_replications)
        self.done: dict[Values, Evaluation] = {}

    def run(self, wanted: Mapping[Values, int]) -> None:
        """Bring each candidate to ``wanted[values]`` replications (the first seeds, in order)."""
        jobs: list[tuple[Values, PlantJob]] = []
        for values, n in wanted.items():
            e = self.done.get(values)
            if e is None:
                e = self.done[values] = Evaluation(values, weekly_cost(self.plant, values))
            seeds = self.seeds[e.replications : min(n, len(self.seeds))]
            if seeds:  # the plant with these values is built only when it has replications to run
                applied = apply(self.plant, values)
                jobs += [
                    (values, PlantJob(applied, self.settings.days, self.settings.warmup_days, s))
                    for s in seeds
                ]
        mapper = self.mapper or (lambda fn, js: (fn(j) for j in js))
        for (values, _), outcome in zip(jobs, mapper(run_job, [j for _, j in jobs]), strict=True):
            self.done[values].add(outcome.measures)
            self.on_run()


def search(
    plant: Plant,
    settings: SearchSettings,
    mapper: Mapper | None = None,
    on_run: Callable[[], None] = lambda: None,
) -> DesignResult:
    """The cheapest design of ``plant`` that meets ``settings.target`` in at least ``probability`` of the
    replications (``on_run`` is called after each replication, for a progress bar)."""
    import optuna

    assert plant.design is not None, "plant has no design: section"
    variables = plant.design.variables
    names = list(variables)
    ev = _Evaluator(plant, settings, mapper, on_run)
    base = settings.replications
    largest, current = tuple(v.high for v in variables.values()), current_values(plant)
    ev.run({largest: base, current: base})

    sampler = optuna.samplers.TPESampler(seed=settings.seed, n_startup_trials=8)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    for values in (largest, current):
        study.enqueue_trial(dict(zip(names, values, strict=True)))
    asked = 0
    while asked < settings.trials:
        trials = [study.ask() for _ in range(min(settings.batch, settings.trials - asked))]
        asked += len(trials)
        proposals = [tuple(t.suggest_int(n, v.low, v.high) for n, v in variables.items()) for t in trials]
        ev.run({p: base for p in proposals})
        for t, p in zip(trials, proposals, strict=True):
            e = ev.done[p]
            t.set_constraint("meets_target", settings.probability - e.share_meeting(settings.target))
            study.tell(t, e.cost.per_week)

    _polish(ev, settings, [(v.low, v.high) for v in variables.values()])
    _select(ev, settings)
    chosen = _cheapest_feasible(ev.done.values(), settings)
    caps = [] if chosen is not None else _caps(plant, ev.done[largest], settings)
    return DesignResult(
        settings, names, list(ev.done.values()), chosen, ev.done[largest], ev.done[current], caps
    )


def _polish(ev: _Evaluator, settings: SearchSettings, bounds: Sequence[tuple[int, int]]) -> None:
    """From the cheapest feasible design, one unit less of each variable in turn (one batch), moving to
    the cheapest neighbour that still meets the target, until none does: the sampler's answer made
    locally minimal (a design one server too big is the sampler's typical near miss)."""
    tried: set[Values] = set()
    while (incumbent := _cheapest_feasible(ev.done.values(), settings)) is not None:
        if incumbent.values in tried:
            return
        tried.add(incumbent.values)
        neighbours = []
        for i, (low, _) in enumerate(bounds):
            if incumbent.values[i] > low:
                smaller = list(incumbent.values)
                smaller[i] -= 1
                neighbours.append(tuple(smaller))
        ev.run({n: settings.replications for n in neighbours if n not in ev.done})


def _cheapest_feasible(evaluations: Iterable[Evaluation], settings: SearchSettings) -> Evaluation | None:
    feasible = [e for e in evaluations if e.share_meeting(settings.target) >= settings.probability]
    return min(feasible, key=lambda e: (e.cost.per_week, e.values), default=None)


def _uncertain(e: Evaluation, settings: SearchSettings) -> bool:
    """The share of ``e`` is within two standard errors of the probability (at the most replications,
    it is what it is)."""
    if e.replications >= settings.max_replications:
        return False
    p = settings.probability
    noise = 2 * math.sqrt(max(p * (1 - p), 0.25 / e.replications) / e.replications)
    return abs(e.share_meeting(settings.target) - p) <= noise


def _select(ev: _Evaluator, settings: SearchSettings) -> None:
    """More replications for the candidates that could still be the answer, until it is clear."""
    step = settings.replications
    while True:
        incumbent = _cheapest_feasible(ev.done.values(), settings)
        bar = incumbent.cost.per_week if incumbent is not None else math.inf
        contenders = [
            e
            for e in ev.done.values()
            if e.cost.per_week <= bar
            and (e is incumbent or _uncertain(e, settings))
            and e.replications < settings.max_replications
        ]
        if not contenders:
            return
        ev.run({e.values: e.replications + step for e in contenders})


def _caps(plant: Plant, largest: Evaluation, settings: SearchSettings) -> list[str]:
    """Why even every variable at its upper bound does not meet the target."""
    out: list[str] = []
    weekly = released_per_week(plant)
    if weekly is not None and weekly < settings.target:
        out.append(f"release: {weekly:g} units a week are released, below the target of {settings.target:g}")
    mean = largest.mean_racks_per_week
    share = largest.share_meeting(settings.target)
    head = f"with every variable at its upper bound the plant makes {mean:.1f} racks a week"
    out.append(f"{head} (the target {settings.target:g} met in {share:.0%} of runs)")
    out += [f"{r} is {u:.0%} busy" for r, u in largest.busiest(3)]
    return out


def released_per_week(plant: Plant) -> float | None:
    """Units the release lets in a week on average (None: a CONWIP plant, released as units leave)."""
    r = plant.release
    if r.per_day is not None:
        per_day = r.per_day
    elif r.interarrival_hours is not None:
        gap = mean_of(r.interarrival_hours)
        per_day = 24.0 / gap if gap > 0 else math.inf
    else:
        return None
    return per_day * r.quantity * 7


def summary(result: DesignResult) -> dict[str, Any]:
    """design.json: the settings, the chosen design, the frontier and every candidate tried."""
    s = result.settings

    def row(e: Evaluation) -> dict[str, Any]:
        return {
            "values": dict(zip(result.names, e.values, strict=True)),
            "cost_per_week_usd": e.cost.per_week,
            "capital_per_week_usd": e.cost.capital_per_week,
            "labour_per_week_usd": e.cost.labour_per_week,
            "racks_per_week_mean": e.mean_racks_per_week,
            "share_meeting_target": e.share_meeting(s.target),
            "replications": e.replications,
        }

    return {
        "target_racks_per_week": s.target,
        "probability": s.probability,
        "trials": s.trials,
        "replications": s.replications,
        "max_replications": s.max_replications,
        "days": s.days,
        "warmup_days": s.warmup_days,
        "seed": s.seed,
        "met": result.chosen is not None,
        "chosen": row(result.chosen) if result.chosen is not None else None,
        "binding": result.binding(),
        "caps": result.caps,
        "current": row(result.current),
        "largest": row(result.largest),
        "frontier": [row(e) for e in result.frontier],
        "candidates": [row(e) for e in sorted(result.evaluations, key=lambda e: e.cost.per_week)],
    }


def chosen_plant(plant: Plant, result: DesignResult) -> Plant | None:
    return apply(plant, result.chosen.values) if result.chosen is not None else None
