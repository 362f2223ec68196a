"""Independent replications of a plant run, and ``kpis.json`` with a 95 % interval on every measure.

A replication is a picklable :class:`PlantJob`; :func:`run_job` simulates it and measures it in the
process that runs it (a local worker or a Ray task), returning only numbers — the records of the run
travel back only when asked for (the first replication's feed the report and the Parquet files). The
seeds come from :func:`aifactory.sim.replications.replication_seeds`, so the results are the same
whatever the number of workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from aifactory.plant.engine import PlantSim
from aifactory.plant.joined import Joined
from aifactory.plant.measures import finished_lead_times, run_measures
from aifactory.plant.model import Plant
from aifactory.plant.result import PlantRun
from aifactory.plant.timeline import Timeline, timeline
from aifactory.sim.replications import interval, replication_seeds

F = npt.NDArray[np.float64]
Mapper = Callable[[Callable[["PlantJob"], "PlantOutcome"], list["PlantJob"]], Iterable["PlantOutcome"]]


@dataclass(frozen=True)
class PlantJob:
    """One replication to run."""

    plant: Plant
    days: float
    warmup_days: float
    seed: int
    keep_run: bool = False
    """Return the run's records too (for the report and the Parquet files)."""
    bucket_hours: float = 24.0


@dataclass(frozen=True)
class PlantOutcome:
    """What one replication returns."""

    seed: int
    measures: dict[str, Any]
    events: int
    wall_seconds: float
    """Simulating and measuring, in the process that ran it."""
    timeline: Timeline
    lead_times_hours: F
    """Release to finish of every unit of the product that finished in the window (for calibration)."""
    run: PlantRun | None


def run_job(job: PlantJob) -> PlantOutcome:
    """Simulate one replication and measure it."""
    started = time.perf_counter()
    run = PlantSim(job.plant, job.seed).run(job.days * 24.0)
    joined = Joined(run)
    measures = run_measures(run, job.warmup_days * 24.0, joined)
    series = timeline(run, job.bucket_hours, joined)
    lead = finished_lead_times(joined, job.warmup_days * 24.0)
    wall = time.perf_counter() - started
    return PlantOutcome(job.seed, measures, run.events, wall, series, lead, run if job.keep_run else None)


def jobs_for(
    plant: Plant,
    *,
    days: float,
    warmup_days: float,
    replications: int,
    seed: int,
    keep_first: bool = True,
    bucket_hours: float = 24.0,
) -> list[PlantJob]:
    """The replications of a study, the first keeping its records when ``keep_first``."""
    seeds = replication_seeds(seed, replications)
    return [
        PlantJob(plant, days, warmup_days, s, keep_first and i == 0, bucket_hours)
        for i, s in enumerate(seeds)
    ]


def run_replications(
    jobs: list[PlantJob], mapper: Mapper | None = None, on_done: Callable[[], None] | None = None
) -> list[PlantOutcome]:
    """Run ``jobs`` (serially, or through ``mapper``: a process pool or Ray), in order."""
    results: list[PlantOutcome] = []
    for outcome in (mapper or _serial)(run_job, jobs):
        results.append(outcome)
        if on_done is not None:
            on_done()
    return results


def _serial(fn: Callable[[PlantJob], PlantOutcome], jobs: list[PlantJob]) -> Iterable[PlantOutcome]:
    return (fn(job) for job in jobs)


def _combine_values(values: Sequence[Any]) -> Any:
    first = values[0]
    if isinstance(first, dict):
        keys = [k for k in first if all(k in v for v in values)]
        return {k: _combine_values([v[k] for v in values]) for k in keys}
    return interval([float(v) for v in values])


def combine(
    outcomes: Sequence[PlantOutcome],
    *,
    plant: str,
    days: float,
    warmup_days: float,
    seed: int,
    wall_seconds: float,
) -> dict[str, Any]:
    """``kpis.json``: every measure as ``{"mean": x, "ci95": half_width}`` over the replications."""
    measures = [o.measures for o in outcomes]
    combined = _combine_values(measures)
    return {
        "plant": plant,
        "days": days,
        "warmup_days": warmup_days,
        "replications": len(outcomes),
        "seed": seed,
        "seeds": [o.seed for o in outcomes],
        "wall_seconds": wall_seconds,
        "events": sum(o.events for o in outcomes),
        **combined,
    }
