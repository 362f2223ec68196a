"""Time buckets of the planning model and how whole-day delays move flows between them.

Work started in a bucket is taken as spread evenly over its days; a delay of ``d`` days moves that
spread ``d`` days on, so it lands in one or two later buckets in proportion to the overlap. Buckets are
of ``bucket_days`` each, cut also at the days a target is measured and an option can first come online,
so that those dates fall on bucket boundaries exactly.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def bucket_edges(horizon: int, bucket_days: int, cuts: Iterable[int] = ()) -> IntArray:
    """Edges ``e_0 = 0 < e_1 < … < e_T = horizon``: every ``bucket_days`` days, and at each cut."""
    regular = range(0, horizon, max(1, bucket_days))
    inside = [c for c in cuts if 0 < c < horizon]
    return np.array(sorted({*regular, *inside, horizon}), dtype=np.int64)


def shift_weights(edges: IntArray, delay: int) -> list[list[tuple[int, float]]]:
    """For each source bucket, the (target bucket, share) pairs its work reaches ``delay`` days later;
    what would arrive after the horizon is left out (it is still on its way at the end)."""
    starts, ends = edges[:-1], edges[1:]
    out: list[list[tuple[int, float]]] = []
    for a, b in zip(starts + delay, ends + delay, strict=True):
        length = float(b - a)
        first = int(np.searchsorted(ends, a, side="right"))
        pairs: list[tuple[int, float]] = []
        t = first
        while t < len(starts) and starts[t] < b:
            overlap = min(b, ends[t]) - max(a, starts[t])
            if overlap > 0:
                pairs.append((t, overlap / length))
            t += 1
        out.append(pairs)
    return out


def arrived_by(edges: IntArray, delay: int, cutoff: int) -> FloatArray:
    """For each source bucket, the share of its work that has arrived ``delay`` days later before day
    ``cutoff`` (exclusive)."""
    starts, ends = edges[:-1].astype(np.float64), edges[1:].astype(np.float64)
    share: FloatArray = np.clip((cutoff - (starts + delay)) / (ends - starts), 0.0, 1.0)
    return share


def ramp_share(
    edges: IntArray, online: int, ramp_days: float, bucket: int, factors: FloatArray
) -> FloatArray:
    """Capacity-days one unit per day of an option online on day ``online`` gives in ``bucket``, per
    sample: the days' ramp fractions (the supply engine's rule) times each sample's disruption factors
    ``factors`` (samples × days)."""
    days = np.arange(edges[bucket], edges[bucket + 1])
    ramp = np.clip((days - online + 1) / max(round(ramp_days), 1), 0.0, 1.0)
    share: FloatArray = factors[:, days] @ ramp
    return share
