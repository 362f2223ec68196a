"""The chain in one run: racks delivered by the supply twin become an AI factory's capacity, and a
demand mix per council programme runs on it through the scheduler.

Rack *k* of the factory comes online when the P50 (over Monte Carlo runs) of the cumulative racks
delivered to the factory's destination first reaches *k* (at the end of that time-series bucket). The
demand is the Philly-calibrated synthetic workload (``replay.synthetic``), scaled up because an AI
factory's jobs are larger than a 2017 research cluster's (sizes × ``job_scale`` GPUs), offered at
``target_load`` of the installed capacity: while racks are still arriving, arrivals are thinned in
proportion (a council grants allocations as capacity comes online).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from aifactory.cluster.factory import FactoryPlan, plan_factory
from aifactory.replay.metrics import replay_metrics
from aifactory.replay.runner import ReplayResult, prepare, replay
from aifactory.replay.setup import replay_setup
from aifactory.replay.synthetic import synthetic_workload
from aifactory.scenario.model import Scenario
from aifactory.supply.results import RunResult

DAY = 86400.0


@dataclass
class FactoryTwin:
    plan: FactoryPlan
    origin_day: float  # scenario day at which factory time 0 starts (its first rack online)
    online_s: dict[int, float]  # rack → seconds after origin it comes online
    result: ReplayResult
    metrics: dict[str, Any]
    days: float
    pue: float = 1.25
    idle_power_fraction: float = 0.3

    def daily(self) -> dict[str, npt.NDArray[np.float64]]:
        """Per day of factory time (computed once; see ``_daily``)."""
        return self._daily

    @cached_property
    def _daily(self) -> dict[str, npt.NDArray[np.float64]]:
        """Per day of factory time: installed and busy GPUs (daily means), GPUs idle while jobs waited
        (fragmentation, topology, limits), IT and facility power (MW)."""
        n = math.ceil(self.days) + 1
        topo = self.plan.topology
        installed = np.full(n, float(topo.gpus))
        for t in self.online_s.values():
            day = int(t // DAY) if math.isfinite(t) else n  # a rack that never arrives
            installed[: min(day, n)] -= topo.rack_gpus
        busy = _spread(((seg.start, seg.end, seg.gpus) for seg in self.result.segments), n)
        idle_waiting = _spread(self.result.idle_while_waiting, n)
        rack = topo.rack
        racks_installed = installed / topo.rack_gpus
        it_kw = racks_installed * rack.power_kw * self.idle_power_fraction + busy * (
            rack.power_kw * (1 - self.idle_power_fraction) / rack.gpus
        )
        return {
            "installed_gpus": installed,
            "busy_gpus": busy,
            "idle_while_waiting_gpus": idle_waiting,
            "it_mw": it_kw / 1000,
            "facility_mw": it_kw * self.pue / 1000,
        }

    def daily_waits(self) -> dict[str, npt.NDArray[np.float64]]:
        """Mean wait (hours) of the jobs that started each day, per programme (NaN: none started)."""
        n = math.ceil(self.days) + 1
        tenancy = self.result.tenancy
        sums: dict[str, npt.NDArray[np.float64]] = {}
        counts: dict[str, npt.NDArray[np.float64]] = {}
        for record in self.result.records.values():
            if not math.isfinite(record.first_start):
                continue
            day = min(int(record.first_start // DAY), n - 1)
            programme = tenancy.programme_of(record.job.tenant)
            sums.setdefault(programme, np.zeros(n))[day] += record.wait / 3600
            counts.setdefault(programme, np.zeros(n))[day] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            return {p: np.where(counts[p] > 0, sums[p] / counts[p], np.nan) for p in sorted(sums)}

    @property
    def utilization_of_installed(self) -> float:
        """Busy GPU-time over installed GPU-time (the ramp counted only as racks arrive)."""
        daily = self.daily()
        installed = float(daily["installed_gpus"].sum())
        return float(daily["busy_gpus"].sum()) / installed if installed > 0 else 0.0


def _spread(intervals: Iterable[tuple[float, float, int]], n: int) -> npt.NDArray[np.float64]:
    """Daily means of a quantity held over intervals (seconds): Σ amount × overlap with each day."""
    out = np.zeros(n)
    for start_s, end_s, amount in intervals:
        start, end = start_s / DAY, end_s / DAY
        for d in range(int(start), min(int(end), n - 1) + 1):
            overlap = min(end, d + 1) - max(start, d)
            if overlap > 0:
                out[d] += amount * overlap
    return out


def rack_online_days(result: RunResult, destination: str, racks: int) -> list[float]:
    """Day (from scenario start) each of ``racks`` racks is delivered, by the P50 cumulative deliveries."""
    per_bucket = result.series[f"destinations.{destination}.delivered"].astype(np.float64)
    p50 = np.percentile(np.cumsum(per_bucket, axis=0), 50, axis=1)
    days = []
    for k in range(1, racks + 1):
        reached = np.flatnonzero(p50 >= k - 1e-6)
        days.append(float((reached[0] + 1) * result.bucket_days) if len(reached) else math.inf)
    return days


def run_factory_twin(
    s: Scenario,
    factory_id: str,
    supply: RunResult | None,
    *,
    days: float = 90.0,
    policy: str = "quota",
    seed: int = 0,
    target_load: float = 0.8,
    job_scale: int = 16,
) -> FactoryTwin:
    """Run ``days`` days of the factory from its first rack, with racks arriving as delivered."""
    plan = plan_factory(s, factory_id)
    spec = s.ai_factories[factory_id]
    origin = 0.0
    online: dict[int, float] = {}
    if spec.racks_from is not None:
        if supply is None:
            raise ValueError(f"ai_factories.{factory_id}: its racks come from the supply twin; run it first")
        arrival = rack_online_days(supply, spec.racks_from, plan.topology.racks)
        finite = [d for d in arrival if math.isfinite(d)]
        if not finite:
            raise ValueError(f"ai_factories.{factory_id}: no rack reaches it within the horizon (P50)")
        origin = min(finite)
        online = {rack: (d - origin) * DAY for rack, d in enumerate(arrival) if d > origin}
    setup = replay_setup(plan.topology.gpus, factory=spec)
    tenancy = setup.tenancy
    tenants = {t: share for t, share in tenancy.entitlements.items() if share > 0} or {"all": 1.0}
    jobs = synthetic_workload(
        days=days,
        tenants=tenants,
        rng=np.random.default_rng(seed),
        gpus_available=max(1, plan.topology.gpus // job_scale),
        target_load=target_load,
    )
    jobs = prepare(jobs, scale_gpus=job_scale)
    if online:  # demand grows with installed capacity: keep a job with probability installed / full
        times = np.sort(np.array(list(online.values())))
        racks = plan.topology.racks
        thin = np.random.default_rng([seed, 1])
        keep = []
        for job in jobs:
            installed = racks - (len(times) - np.searchsorted(times, job.submit, side="right"))
            if thin.random() < installed / racks:
                keep.append(job)
        jobs = keep
    result = replay(
        jobs,
        plan.topology,
        policy,
        tenancy,
        options=setup.options,
        rack_online=online,
        failures=setup.failures,
        seed=seed,
    )
    return FactoryTwin(
        plan, origin, online, result, replay_metrics(result), days, spec.pue, spec.idle_power_fraction
    )
