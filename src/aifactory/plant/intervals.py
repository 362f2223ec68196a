"""Time spent in sets of intervals, evaluated at many instants at once (numpy).

The plant's measures are all of one shape: how many hours, between two instants, did some set of
intervals cover (jobs on a station's servers, pauses, outages, units in the plant)? For a set of
intervals ``[s_i, e_i)`` (they may overlap; overlapping time counts once per interval) the covered time
up to ``t`` is ``C(t) = Σ_i max(0, min(t, e_i) − s_i)``; time covered in ``[a, b)`` is ``C(b) − C(a)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F = npt.NDArray[np.float64]


class Coverage:
    """``C(t)`` of a set of intervals, ready to be evaluated at any instants."""

    __slots__ = ("_ce", "_cs", "_e", "_s")

    def __init__(self, starts: F, ends: F) -> None:
        s = np.sort(np.asarray(starts, dtype=np.float64))
        e = np.sort(np.asarray(ends, dtype=np.float64))
        self._s, self._e = s, e
        self._cs = np.concatenate([[0.0], np.cumsum(s)])
        self._ce = np.concatenate([[0.0], np.cumsum(e)])

    def __call__(self, t: F | float) -> F:
        t = np.asarray(t, dtype=np.float64)
        ks = np.searchsorted(self._s, t, side="right")
        ke = np.searchsorted(self._e, t, side="right")
        return np.asarray((ks * t - self._cs[ks]) - (ke * t - self._ce[ke]), dtype=np.float64)

    def between(self, a: float, b: float) -> float:
        """Hours covered in ``[a, b)``."""
        c = self(np.array([a, b]))
        return float(c[1] - c[0])

    def per_bucket(self, edges: F) -> F:
        """Hours covered in each ``[edges[i], edges[i+1])``."""
        return np.diff(self(edges))


class DisjointCoverage:
    """``C(t)`` of intervals that do not overlap (one station's wait reasons), evaluated per query
    interval: hours of ``[a_j, b_j)`` covered."""

    __slots__ = ("_cum", "_e", "_s")

    def __init__(self, starts: F, ends: F) -> None:
        order = np.argsort(starts, kind="stable")
        self._s = np.asarray(starts, dtype=np.float64)[order]
        self._e = np.asarray(ends, dtype=np.float64)[order]
        self._cum = np.concatenate([[0.0], np.cumsum(self._e - self._s)])

    def at(self, t: F) -> F:
        k = np.searchsorted(self._s, t, side="right")
        full = self._cum[k]
        last_end = np.where(k > 0, self._e[np.maximum(k - 1, 0)], -np.inf)
        return np.asarray(full - np.clip(last_end - t, 0.0, None), dtype=np.float64)

    def within(self, a: F, b: F) -> F:
        return np.clip(self.at(b) - self.at(a), 0.0, None)
