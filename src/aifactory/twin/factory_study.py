"""The AI factory under uncertain demand: R Monte Carlo runs, each a replay through the real scheduler.

Run *k* draws the factory's uncertain figures (``factory_demand.draw_run``), takes the racks online as
the supply twin's run *k* delivers them (or all from day 0 for a factory of fixed size), generates every
programme's jobs, and replays them with the council's shares, tray failures and the power budget held by
the scheduler, for ``days`` days from the first rack; ``factory_measures.measure`` turns the replay into
figures. Runs are independent and keyed by (seed, run), so any mapper (serial, processes, Ray) gives the
same study as a serial loop.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from aifactory.cluster.factory import FactoryPlan, plan_factory
from aifactory.cluster.power import PowerModel, hourly_temperature
from aifactory.replay.runner import ReplayResult, replay
from aifactory.replay.setup import ReplaySetup, replay_setup
from aifactory.replay.synthetic import PhillyStats
from aifactory.scenario.distributions import bounds
from aifactory.scenario.model import Scenario
from aifactory.scheduler.admission import PowerCap
from aifactory.supply.metrics import rank_sensitivity
from aifactory.supply.results import RunResult
from aifactory.twin.factory_demand import Capacity, draw_run, run_jobs, uncertain_paths
from aifactory.twin.factory_measures import RunOutcome, measure

DAY = 86_400.0
HOUR = 3_600.0
Mapper = Callable[[Callable[[Any], Any], list[Any]], Iterable[Any]]


@dataclass(frozen=True)
class FactorySetup:
    """Everything a run needs, built once (and sent to worker processes)."""

    scenario: str
    plan: FactoryPlan
    start: dt.date  # factory day 0 (the first rack online)
    origin_day: float  # its scenario day
    days: float
    seed: int
    policy: str
    warmup_days: float
    replay: ReplaySetup
    online_by_run: tuple[Mapping[int, float], ...]  # per supply run: rack → seconds it comes online
    tenants_of: Mapping[str, Mapping[str, float]]  # programme → its tenants' weights
    stats: Mapping[str, PhillyStats | None]
    rack_price_usd: float

    @property
    def hours(self) -> int:
        return math.ceil(self.days * 24 - 1e-9)

    @property
    def racks(self) -> int:
        return self.plan.topology.racks

    @property
    def gpus(self) -> int:
        return self.plan.topology.gpus


def build_setup(
    s: Scenario,
    factory_id: str,
    *,
    days: float,
    seed: int,
    supply: RunResult | None = None,
    policy: str = "quota",
    warmup_days: float = 0.0,
    stats: Mapping[str, PhillyStats | None] | None = None,
) -> FactorySetup:
    """Check the factory's inputs (ValueError naming the field) and resolve what every run shares."""
    if not (math.isfinite(days) and days > 0):
        raise ValueError(f"days: must be a finite number > 0, got {days:g}")
    if not (math.isfinite(warmup_days) and warmup_days >= 0):
        raise ValueError(f"warmup_days: must be a finite number ≥ 0, got {warmup_days:g}")
    plan = plan_factory(s, factory_id, cap_by_budget=False)
    spec = plan.spec
    where = f"ai_factories.{factory_id}"
    if not spec.demand:
        raise ValueError(f"{where}.demand: no programme has a demand (give demand.<programme>.offered_load)")
    online_by_run: tuple[Mapping[int, float], ...] = ({},)
    origin = 0.0
    if spec.racks_from is not None:
        if supply is None:
            raise ValueError(f"{where}: its racks come from the supply twin; run it first")
        per_run = delivery_days(supply, spec.racks_from, plan.topology.racks)
        p50_first = float(np.percentile(per_run[:, 0], 50))
        if not math.isfinite(p50_first):
            raise ValueError(f"{where}: no rack reaches it within the horizon (P50)")
        origin = p50_first
        online_by_run = tuple(
            {rack: max(d - origin, 0.0) * DAY for rack, d in enumerate(row) if d > origin} for row in per_run
        )
    setup = replay_setup(plan.topology.gpus, factory=spec)
    tenancy = setup.tenancy
    tenants_of: dict[str, dict[str, float]] = {}
    for tenant, share in tenancy.entitlements.items():
        if share > 0:
            tenants_of.setdefault(tenancy.programme_of(tenant), {})[tenant] = share
    rack = plan.topology.rack
    start = s.date(int(origin))
    result = FactorySetup(
        scenario=s.name,
        plan=plan,
        start=start,
        origin_day=origin,
        days=days,
        seed=seed,
        policy=policy,
        warmup_days=warmup_days,
        replay=setup,
        online_by_run=online_by_run,
        tenants_of=tenants_of,
        stats=dict(stats or {}),
        rack_price_usd=spec.economics.rack_price_usd or rack.price_usd,
    )
    if spec.power_budget_mw is not None:
        _check_budget(result, where)
    return result


def delivery_days(supply: RunResult, destination: str, racks: int) -> npt.NDArray[np.float64]:
    """(runs, racks): the day (from the scenario's start, end of the bucket) each rack reaches the
    destination in each supply run; infinite when it does not within the horizon."""
    per_bucket = supply.series[f"destinations.{destination}.delivered"].astype(np.float64)
    cumulative = np.cumsum(per_bucket, axis=0)  # (buckets, runs)
    out = np.full((cumulative.shape[1], racks), math.inf)
    for k in range(racks):
        reached = cumulative >= k + 1 - 1e-6
        first = reached.argmax(axis=0)
        ok = reached.any(axis=0)
        out[ok, k] = (first[ok] + 1) * supply.bucket_days
    return out


def power_model(setup: FactorySetup, draws: Mapping[str, float]) -> PowerModel:
    spec = setup.plan.spec
    return PowerModel(
        racks=setup.racks,
        rack_gpus=setup.plan.topology.rack.gpus,
        gpu_idle_kw=draws["power.gpu_idle_w"] / 1000,
        gpu_busy_kw=draws["power.gpu_busy_w"] / 1000,
        rack_overhead_kw=draws["power.rack_overhead_kw"],
        design_pue=spec.pue,
        fixed_share=spec.power.fixed_overhead_share,
        cooling_per_degree=spec.power.cooling_per_degree,
        reference_c=spec.power.reference_temperature_c,
    )


def temperatures(setup: FactorySetup, offset_c: float) -> npt.NDArray[np.float64]:
    climate = setup.plan.spec.power.climate
    return hourly_temperature(
        climate.monthly_mean_c,
        climate.diurnal_amplitude_c,
        climate.peak_hour,
        setup.start,
        setup.hours,
        offset_c,
    )


def _check_budget(setup: FactorySetup, where: str) -> None:
    """Even the hungriest draws must leave the idle factory within the budget on the hottest hour."""
    p = setup.plan.spec.power
    worst = {
        "power.gpu_idle_w": bounds(p.gpu_idle_w)[1],
        "power.gpu_busy_w": bounds(p.gpu_busy_w)[1],
        "power.rack_overhead_kw": bounds(p.rack_overhead_kw)[1],
    }
    if not all(math.isfinite(v) for v in worst.values()):
        return  # an unbounded figure: each run checks its own draw
    hottest = float(temperatures(setup, bounds(p.climate.offset_c)[1]).max())
    budget_kw = float(setup.plan.spec.power_budget_mw or 0) * 1000
    try:
        power_model(setup, worst).max_busy_gpus(budget_kw, hottest)
    except ValueError as exc:
        raise ValueError(f"{where}.{exc}") from None


@dataclass
class RunTrace:
    """One run in full: the replay, and the power model and temperatures it was measured with."""

    result: ReplayResult
    power: PowerModel
    temperature_c: npt.NDArray[np.float64]
    outcome: RunOutcome


def run_once(setup: FactorySetup, run: int) -> RunTrace:
    """Run ``run`` of the study. Its figures are drawn for the run; the arrivals and tray failures come
    from streams of the seed that every run shares (common random numbers), so runs differ only as their
    figures do — and a study whose figures are all fixed gives identical runs."""
    spec = setup.plan.spec
    draws = draw_run(spec, setup.seed, run)
    online = setup.online_by_run[run % len(setup.online_by_run)]
    topo = setup.plan.topology
    power = power_model(setup, draws)
    temps = temperatures(setup, draws["power.climate.offset_c"])
    options = setup.replay.options
    cap = None
    if spec.power_budget_mw is not None:
        design = float(temps.max())
        cap = power.max_busy_gpus(spec.power_budget_mw * 1000, design)
        options = replace(options, power=PowerCap(cap, spec.power_budget_mw, design))
    capacity = Capacity(topo.gpus, topo.rack_gpus, online, largest_job=cap)
    warmup_s = setup.warmup_days * DAY
    jobs = run_jobs(
        spec,
        draws,
        capacity,
        setup.tenants_of,
        days=setup.hours / 24 + setup.warmup_days,
        seed=setup.seed,
        stats=setup.stats,
        warmup_s=warmup_s,
    )
    result = replay(
        jobs,
        topo,
        setup.policy,
        setup.replay.tenancy,
        options=options,
        rack_online={rack: t + warmup_s for rack, t in online.items()},
        failures=setup.replay.failures,
        seed=setup.seed,
        until=setup.hours * HOUR + warmup_s,
    )
    rates = {p: draws[f"demand.{p}.rate_usd_per_gpu_hour"] for p in spec.demand}
    outcome = measure(
        run,
        result,
        days=setup.days,
        rack_gpus=topo.rack_gpus,
        racks=setup.racks,
        online_s=online,
        power=power,
        temperature_c=temps,
        programmes=setup.plan.entitlements,
        rates=rates,
        draws=draws,
        rack_price_usd=setup.rack_price_usd,
        power_cap_gpus=cap,
        warmup_s=warmup_s,
    )
    return RunTrace(result, power, temps, outcome)


def simulate_run(task: tuple[FactorySetup, int]) -> RunOutcome:
    """Run ``run`` of the study (a top-level function, so worker processes can run it)."""
    setup, run = task
    return run_once(setup, run).outcome


@dataclass
class FactoryStudy:
    setup: FactorySetup
    outcomes: list[RunOutcome]
    wall_seconds: float = 0.0

    @property
    def runs(self) -> int:
        return len(self.outcomes)

    def values(self, name: str) -> npt.NDArray[np.float64]:
        """A scalar of every run."""
        return np.array([o.scalars[name] for o in self.outcomes], dtype=np.float64)

    def programme_values(self, programme: str, name: str) -> npt.NDArray[np.float64]:
        return np.array([o.programmes[programme][name] for o in self.outcomes], dtype=np.float64)

    def daily_band(self, name: str, probs: tuple[float, ...] = (10, 50, 90)) -> npt.NDArray[np.float64]:
        """(len(probs), days) percentiles over runs of a daily series (NaN days ignored)."""
        stack = np.vstack([o.daily[name] for o in self.outcomes])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if np.isnan(stack).any():
                return np.asarray(np.nanpercentile(stack, probs, axis=0), dtype=np.float64)
            return np.asarray(np.percentile(stack, probs, axis=0), dtype=np.float64)

    def daily_waits_p50(self) -> dict[str, npt.NDArray[np.float64]]:
        out = {}
        for p in self.setup.plan.entitlements:
            rows = [o.daily_waits[p] for o in self.outcomes if p in o.daily_waits]
            if rows:
                stack = np.vstack(rows)
                with warnings.catch_warnings():  # days on which no run started a job of p: NaN
                    warnings.simplefilter("ignore", RuntimeWarning)
                    out[p] = np.asarray(np.nanmedian(stack, axis=0), dtype=np.float64)
        return out

    def sensitivity(self, outcome: str, *, top: int = 10) -> list[dict[str, Any]]:
        """Uncertain inputs ranked by how much they move ``outcome`` over the runs (the tornado)."""
        y = self.values(outcome)
        columns = (
            (path, np.array([o.draws[path] for o in self.outcomes]))
            for path in uncertain_paths(self.setup.plan.spec)
        )
        return rank_sensitivity(columns, y, top=top)


def simulate_factory(
    setup: FactorySetup,
    runs: int,
    *,
    mapper: Mapper | None = None,
    on_run_done: Callable[[int], None] | None = None,
) -> FactoryStudy:
    """``runs`` runs of the factory, in run order whatever the mapper."""
    if runs < 1:
        raise ValueError(f"runs: must be at least 1, got {runs}")
    tasks = [(setup, k) for k in range(runs)]
    results: Iterator[RunOutcome] = iter((mapper or _serial)(simulate_run, tasks))
    outcomes = []
    for outcome in results:
        outcomes.append(outcome)
        if on_run_done is not None:
            on_run_done(1)
    return FactoryStudy(setup, outcomes)


def _serial(fn: Callable[[Any], Any], jobs: list[Any]) -> Iterator[Any]:
    return (fn(job) for job in jobs)
