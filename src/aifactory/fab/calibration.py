"""Calibration: a fab run becomes the parameters of a supply-twin stage.

The supply twin treats a wafer fab as one stage with a capacity (wafer starts per day) and a cycle time
drawn once per Monte Carlo run. A simulated fab gives both:

* **throughput** — wafers completed per day after the warm-up (SMT2020 scraps nothing, so this is the
  *yield-free* throughput: the stage's own ``yield`` stays where the scenario sets it). At steady state
  it equals the release rate; a fab loaded beyond its capacity shows it as a throughput below releases
  and WIP that grows (both reported).
* **cycle time** — completion − release of every lot completed after the warm-up, weighted by its
  wafers (the supply twin counts wafers, not lots).

Two ways to turn the cycle times into the stage's distribution (``spread``):

* ``lots`` (default): the spread individual lots see. A run of the supply twin then stands for a fab
  whose wafers all take one value from that range — a wide, conservative band around the right mean.
* ``replications``: the run-to-run uncertainty of the mean cycle time over independent replications
  (normal; needs at least two) — what is left once lots average out over a quarter's output.

Fitted forms (``dist``): ``lognormal`` (maximum likelihood on log cycle times: ``median = exp(μ)``,
``sigma = σ``), ``triangular`` (``low``/``high`` = the 1st/99th percentiles, ``mode`` chosen so the
triangle's mean equals the sample mean, clipped into the range), ``normal`` (mean and standard
deviation, clipped at the observed minimum and maximum), and ``mean`` (a fixed number). The quantiles of
the fit are reported beside the sample's so the fit can be judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from aifactory.fab.kpis import Completions
from aifactory.sim.fitting import (
    DISTRIBUTIONS,
    QUANTILES,
    CalibrationError,
    DurationStats,
    duration_stats,
    fit_duration,
    weighted_quantile,
)

SPREADS = ("lots", "replications")

FloatArray = npt.NDArray[np.float64]

__all__ = ["DISTRIBUTIONS", "SPREADS", "Calibration", "CalibrationError", "calibrate", "pooled",
           "weighted_quantile"]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Calibration:
    """What a fab run says about a supply-twin stage."""

    dataset: str
    measured_days: float
    replications: int
    lot_types: tuple[str, ...]
    wafers_per_day: float
    lots_per_day: float
    released_wafers_per_day: float
    wip_growth_lots_per_day: float
    cycle_time: DurationStats
    per_type: dict[str, DurationStats]
    replication_means: tuple[float, ...]
    dist: str
    spread: str
    distribution: float | dict[str, Any]
    """The stage's ``cycle_time_days`` in scenario form (a number or ``{dist: …}``)."""
    fit_quantiles: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "measured_days": self.measured_days,
            "replications": self.replications,
            "lot_types": list(self.lot_types),
            "wafers_per_day": self.wafers_per_day,
            "lots_per_day": self.lots_per_day,
            "released_wafers_per_day": self.released_wafers_per_day,
            "wip_growth_lots_per_day": self.wip_growth_lots_per_day,
            "cycle_time_days": self.cycle_time.to_json("lots", "wafers"),
            "per_type": {k: v.to_json("lots", "wafers") for k, v in self.per_type.items()},
            "replication_means": list(self.replication_means),
            "dist": self.dist,
            "spread": self.spread,
            "cycle_time_distribution": self.distribution,
            "fit_quantiles": self.fit_quantiles,
        }

    def stage(self, *, capacity: bool = True) -> dict[str, Any]:
        """The stage fields of a scenario: ``cycle_time_days`` and (optionally) ``capacity``."""
        fields: dict[str, Any] = {}
        if capacity:
            fields["capacity"] = round(self.wafers_per_day, 1)
        fields["cycle_time_days"] = self.distribution
        return fields


def pooled(
    runs: Sequence[Completions], lot_types: Sequence[str]
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.str_], list[float]]:
    """Cycle times, wafers and lot types of the completed lots of ``lot_types``, pooled over the runs,
    and each run's wafer-weighted mean cycle time."""
    cts: list[FloatArray] = []
    wafers: list[FloatArray] = []
    types: list[npt.NDArray[np.str_]] = []
    means: list[float] = []
    for c in runs:
        if not len(c):
            continue
        t = np.array(c.type_names, dtype=np.str_)[c.lot_type]
        keep = np.isin(t, list(lot_types))
        ct, w = c.cycle_time_days[keep], c.wafers[keep].astype(np.float64)
        cts.append(ct)
        wafers.append(w)
        types.append(t[keep])
        if len(ct):
            means.append(float(np.average(ct, weights=w)))
    if not cts:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.str_), means
    return np.concatenate(cts), np.concatenate(wafers), np.concatenate(types), means


def calibrate(
    runs: Sequence[Completions],
    *,
    dataset: str,
    measured_days: float,
    lot_types: Sequence[str] = (),
    dist: str = "lognormal",
    spread: str = "lots",
) -> Calibration:
    """Calibrate a supply-twin stage from one or more replications of a fab run.

    ``lot_types`` restricts the fit to those lot types (as in order.txt; default: every type), e.g. to
    the product that stands for the stage's wafers. Throughput counts the same lot types.
    """
    if not runs:
        raise CalibrationError("no runs to calibrate from")
    if measured_days <= 0:
        raise CalibrationError(f"measured days must be > 0, got {measured_days:g}")
    if spread not in SPREADS:
        raise CalibrationError(f"--spread {spread!r}: unknown; valid: {', '.join(SPREADS)}")
    if dist not in DISTRIBUTIONS:
        raise CalibrationError(f"--dist {dist!r}: unknown; valid: {', '.join(DISTRIBUTIONS)}")
    if spread == "replications" and len(runs) < 2:
        raise CalibrationError("--spread replications needs --replications 2 or more")
    known = sorted({name for r in runs for name in r.type_names})
    unknown = [t for t in lot_types if t not in known]
    if unknown:
        raise CalibrationError(f"--lot-type {unknown[0]!r}: no such lot type; valid: {', '.join(known)}")
    chosen = tuple(lot_types) or tuple(known)

    ct_all, w_all, t_all, means = pooled(runs, chosen)
    released_wafers = 0
    wip_growth = 0
    for c in runs:
        idx = [i for i, name in enumerate(c.type_names) if name in chosen]
        released_wafers += int(c.released_wafers[idx].sum())
        wip_growth += int((c.wip_end - c.wip_start)[idx].sum())
    overall = duration_stats(ct_all, w_all, "lot")
    per_type = {
        name: duration_stats(ct_all[t_all == name], w_all[t_all == name], "lot")
        for name in chosen
        if np.any(t_all == name)
    }
    n = len(runs)
    span = measured_days * n
    label = f"{', '.join(chosen) if lot_types else 'all lot types'}"
    if spread == "lots":
        note = f"fab calibrate: {dataset}, {label}, {overall.count:,} lots over {measured_days:g} days × {n}"
        value, fitted = fit_duration(ct_all, w_all, dist, note)
    else:
        m = np.array(means)
        sd = float(np.std(m, ddof=1))
        mean = float(m.mean())
        value = {
            "dist": "normal",
            "mean": round(mean, 2),
            "sd": round(sd, 3),
            "note": f"fab calibrate: {dataset}, {label}, mean cycle time over {n} replications",
        }
        law = stats.norm(mean, max(sd, 1e-12))
        fitted = {f"p{round(q * 100)}": float(law.ppf(q)) for q in QUANTILES}
    return Calibration(
        dataset=dataset,
        measured_days=measured_days,
        replications=n,
        lot_types=chosen,
        wafers_per_day=float(w_all.sum()) / span,
        lots_per_day=overall.count / span,
        released_wafers_per_day=released_wafers / span,
        wip_growth_lots_per_day=wip_growth / span,
        cycle_time=overall,
        per_type=per_type,
        replication_means=tuple(means),
        dist=dist if spread == "lots" else "normal",
        spread=spread,
        distribution=value,
        fit_quantiles=fitted,
    )
