"""Independent replications: their seeds and the 95 % intervals reported over them.

Replication *i* of a run with seed *s* uses the *i*-th integer drawn from ``SeedSequence(s)``, so the
set of replications is reproducible from one seed, more replications extend the same set, and results do
not depend on how the replications are spread over workers. An interval is the mean over replications
with the half-width of a two-sided Student-t confidence interval, ``t(0.5 + c/2, R − 1) · sd / √R``
(0 with one replication).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def replication_seeds(seed: int, replications: int) -> list[int]:
    """The seeds of ``replications`` independent runs of a study with ``seed``."""
    if replications < 1:
        raise ValueError("replications must be at least 1")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return [int(x) for x in np.random.SeedSequence(seed).generate_state(replications, dtype=np.uint32)]


def half_width(values: Sequence[float], confidence: float = 0.95) -> float:
    """Half-width of the Student-t confidence interval of the mean of ``values``."""
    n = len(values)
    if n < 2:
        return 0.0
    from scipy.special import stdtrit  # the t quantile; imported here: scipy takes a while to load

    sd = float(np.std(values, ddof=1))
    return float(stdtrit(n - 1, 0.5 + confidence / 2)) * sd / math.sqrt(n)


def interval(values: Sequence[float], confidence: float = 0.95) -> dict[str, float]:
    """``{"mean": x, "ci95": half_width}`` of one measure over replications."""
    return {"mean": float(np.mean(values)), "ci95": half_width(values, confidence)}
