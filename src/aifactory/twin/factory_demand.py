"""One run's draws and jobs: the uncertain figures of an AI factory drawn for run *k*, and each programme's
jobs — a trace-calibrated workload at the programme's offered load, following the uptake ramp and the
racks online (pure: randomness from streams keyed by seed, figure and run).

Every figure has its own random stream (``seed``, a hash of its path, the run), so the same run of the
same seed draws the same value whatever else the scenario changes, in any process, in any order. The
jobs' streams are keyed by the programme and the seed only: every run sees the same arrival randomness
(common random numbers), thinned and scaled by its own figures.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from aifactory.replay.synthetic import PhillyStats, synthetic_workload
from aifactory.scenario.distributions import Uncertain, draw, is_uncertain
from aifactory.scenario.model import AIFactory
from aifactory.scheduler.job import Job
from aifactory.supply.parameters import keyed_streams

DAY = 86_400.0
MONTH_DAYS = 365.25 / 12


def stream(seed: int, path: str, run: int) -> np.random.Generator:
    """The figure's stream for ``run``: the supply twin's keyed streams, with the run as the block."""
    return keyed_streams(seed, run)(path)


def uncertain_figures(spec: AIFactory) -> Iterator[tuple[str, Uncertain]]:
    """Every figure of the factory that a run draws, by its path under ``ai_factories.<id>``."""
    for name, d in spec.demand.items():
        yield f"demand.{name}.offered_load", d.offered_load
        yield f"demand.{name}.ramp_months", d.ramp_months
        yield f"demand.{name}.rate_usd_per_gpu_hour", d.rate_usd_per_gpu_hour
        if d.elasticity is not None:
            yield f"demand.{name}.elasticity", d.elasticity
    p = spec.power
    yield "power.gpu_busy_w", p.gpu_busy_w
    yield "power.gpu_idle_w", p.gpu_idle_w
    yield "power.rack_overhead_kw", p.rack_overhead_kw
    yield "power.climate.offset_c", p.climate.offset_c
    e = spec.economics
    yield "economics.electricity_usd_per_mwh", e.electricity_usd_per_mwh
    yield "economics.depreciation_years", e.depreciation_years
    yield "economics.operations_usd_per_rack_year", e.operations_usd_per_rack_year


def uncertain_paths(spec: AIFactory) -> list[str]:
    """The figures that vary between runs (the tornado's inputs)."""
    return [path for path, value in uncertain_figures(spec) if is_uncertain(value)]


def draw_run(spec: AIFactory, seed: int, run: int) -> dict[str, float]:
    """Run ``run``'s value of every figure (fixed numbers as they are)."""
    return {
        path: float(draw(value, stream(seed, path, run), 1)[0]) for path, value in uncertain_figures(spec)
    }


def effective_load(spec: AIFactory, name: str, draws: Mapping[str, float]) -> float:
    """The programme's offered load in this run: for a marketplace programme, moved by its price."""
    d = spec.demand[name]
    load = draws[f"demand.{name}.offered_load"]
    if d.elasticity is not None and d.reference_price_usd_per_gpu_hour is not None:
        price = draws[f"demand.{name}.rate_usd_per_gpu_hour"]
        if price <= 0:
            return load  # free capacity: the elasticity law has no finite value; ask the reference load
        load *= (price / d.reference_price_usd_per_gpu_hour) ** draws[f"demand.{name}.elasticity"]
    return load


@dataclass(frozen=True)
class Capacity:
    """Schedulable GPUs of the complete factory and when each late rack comes online (seconds)."""

    gpus: int
    rack_gpus: int
    online_s: Mapping[int, float]  # rack → time it comes online (absent: online from 0)
    largest_job: int | None = None  # the most GPUs one job may ask for (the power budget's cap)

    def online_fraction(self, times: np.ndarray) -> np.ndarray:
        """Share of the schedulable GPUs online at each of ``times``."""
        racks = self.gpus // self.rack_gpus
        late = np.sort(np.array([t for t in self.online_s.values()], dtype=np.float64))
        not_yet = len(late) - np.searchsorted(late, times, side="right")
        return np.asarray((racks - not_yet) / racks, dtype=np.float64)


def programme_jobs(
    spec: AIFactory,
    name: str,
    draws: Mapping[str, float],
    capacity: Capacity,
    tenants: Mapping[str, float],
    *,
    days: float,
    seed: int,
    stats: PhillyStats | None = None,
    warmup_s: float = 0.0,
) -> list[Job]:
    """The programme's jobs over ``days``: arrivals at its offered load of the complete factory, kept with
    probability ramp(t) × share of the GPUs online at t, so that what it asks tracks what is installed.
    The first ``warmup_s`` seconds come before the factory's day 0 (t < 0): the racks online at day 0,
    and nothing from a programme still to ramp up."""
    d = spec.demand[name]
    load = effective_load(spec, name, draws)
    if load <= 0 or not tenants:
        return []
    scale = d.job_scale
    unit = max(1, capacity.gpus // scale)  # the factory in the trace's GPUs
    jobs = synthetic_workload(
        days=days,
        tenants=dict(tenants),
        rng=stream(seed, f"jobs.{name}", 0),
        gpus_available=unit,
        target_load=load * capacity.gpus / (unit * scale),
        max_gpus=max(1, min(capacity.largest_job or capacity.gpus, capacity.gpus) // scale),
        diurnal=d.burstiness != 0,
        diurnal_amplitude=d.burstiness,
        weekly=True,
        stats=stats,
    )
    if not jobs:
        return []
    t = np.array([j.submit for j in jobs]) - warmup_s  # factory time
    keep = capacity.online_fraction(t)
    ramp_s = draws[f"demand.{name}.ramp_months"] * MONTH_DAYS * DAY
    if ramp_s > 0:
        keep = keep * np.clip(t / ramp_s, 0.0, 1.0)
    u = stream(seed, f"uptake.{name}", 0).random(len(jobs))
    kept = np.flatnonzero(u < keep).tolist()
    return [
        Job(f"{name}-{k}", job.tenant, job.gpus * scale, job.submit, job.duration)
        for k, job in ((k, jobs[k]) for k in kept)
    ]


def run_jobs(
    spec: AIFactory,
    draws: Mapping[str, float],
    capacity: Capacity,
    tenants_of: Mapping[str, Mapping[str, float]],
    *,
    days: float,
    seed: int,
    stats: Mapping[str, PhillyStats | None] | None = None,
    warmup_s: float = 0.0,
) -> list[Job]:
    """Every programme's jobs, in submit order (ties: programme order)."""
    jobs: list[Job] = []
    for name in spec.demand:
        jobs += programme_jobs(
            spec,
            name,
            draws,
            capacity,
            tenants_of.get(name, {}),
            days=days,
            seed=seed,
            stats=(stats or {}).get(name),
            warmup_s=warmup_s,
        )
    jobs.sort(key=lambda j: j.submit)
    return jobs
