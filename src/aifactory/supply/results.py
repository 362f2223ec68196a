"""Per-run outputs of a batch of Monte Carlo runs, and how batches merge."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
MILLI = 1000.0  # series sums over runs are kept as integer milli-units: exact, order-independent


@dataclass
class RunResult:
    """Per-run outputs of a batch of runs; batches merge by concatenating along runs."""

    runs: int
    bucket_days: int
    totals: dict[str, FloatArray] = field(default_factory=dict)  # key → (runs,)
    checkpoints: dict[str, FloatArray] = field(default_factory=dict)  # "dest@day" → (runs,) cumulative
    series: dict[str, np.ndarray] = field(default_factory=dict)  # key → (buckets, runs) float32
    sums: dict[str, np.ndarray] = field(default_factory=dict)  # key → (buckets,) int64 milli-units


def merge(results: list[RunResult]) -> RunResult:
    """Concatenate batches in order (run order is preserved, so merged = one big batch)."""
    first = results[0]
    if len(results) == 1:
        return first
    return RunResult(
        runs=sum(r.runs for r in results),
        bucket_days=first.bucket_days,
        totals={k: np.concatenate([r.totals[k] for r in results]) for k in first.totals},
        checkpoints={k: np.concatenate([r.checkpoints[k] for r in results]) for k in first.checkpoints},
        series={k: np.concatenate([r.series[k] for r in results], axis=1) for k in first.series},
        sums={k: np.sum([r.sums[k] for r in results], axis=0) for k in first.sums},
    )
