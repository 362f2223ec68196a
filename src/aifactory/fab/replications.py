"""Independent replications of a fab run and confidence intervals on every KPI.

Seeds and intervals come from :mod:`aifactory.sim.replications`: replication *i* of a run with seed *s*
uses the *i*-th integer drawn from ``SeedSequence(s)``; each KPI is reported as the mean over
replications with the half-width of a two-sided 95 % Student-t confidence interval (0 with one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aifactory.fab.kpis import Completions
from aifactory.sim.replications import half_width, replication_seeds

__all__ = ["Replication", "combine", "half_width", "replication_seeds", "run_completions", "run_replication"]


@dataclass(frozen=True, slots=True)
class Replication:
    """One replication, as a picklable job for a process pool or Ray."""

    dataset: str
    days: float
    warmup_days: float
    seed: int
    rule: str | None = None


def run_replication(job: Replication) -> dict[str, Any]:
    """Read the data set and simulate it once; the ``kpis.json`` document of that run."""
    import time

    from aifactory.fab.engine import simulate
    from aifactory.fab.reader import read_dataset

    data = read_dataset(Path(job.dataset))
    started = time.perf_counter()
    result = simulate(data, days=job.days, warmup_days=job.warmup_days, seed=job.seed, rule=job.rule)
    wall = time.perf_counter() - started
    return result.to_kpis(data.name, job.days, job.warmup_days, job.seed, wall)


def run_completions(job: Replication) -> Completions:
    """Read the data set and simulate it once; every lot completed after the warm-up (for calibration)."""
    from aifactory.fab.engine import simulate
    from aifactory.fab.reader import read_dataset

    data = read_dataset(Path(job.dataset))
    result = simulate(data, days=job.days, warmup_days=job.warmup_days, seed=job.seed, rule=job.rule)
    return result.completions


def combine(runs: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """One ``kpis.json`` document from replications: means, plus ``replications``, ``seeds`` and
    ``ci95`` (the half-widths, in the same shape as ``lots`` and ``toolgroups``)."""
    first = runs[0]
    out: dict[str, Any] = {
        "dataset": first["dataset"],
        "days": first["days"],
        "warmup_days": first["warmup_days"],
        "seed": seed,
        "wall_seconds": sum(r["wall_seconds"] for r in runs),
        "events": sum(r["events"] for r in runs),
        "replications": len(runs),
        "seeds": [r["seed"] for r in runs],
        "lots": {},
        "toolgroups": {},
        "ci95": {"lots": {}, "toolgroups": {}},
    }
    for section in ("lots", "toolgroups"):
        names = sorted({name for r in runs for name in r[section]})
        for name in names:
            rows = [r[section][name] for r in runs if name in r[section]]
            keys = list(rows[0])
            out[section][name] = {k: float(np.mean([row[k] for row in rows])) for k in keys}
            out["ci95"][section][name] = {k: half_width([float(row[k]) for row in rows]) for k in keys}
    return out
