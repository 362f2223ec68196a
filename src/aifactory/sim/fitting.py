"""Fitting a supply-twin stage's duration from what a discrete-event twin observed.

The fab twin's lot cycle times and the plant twin's rack lead times both become a stage's
``cycle_time_days``: weighted statistics of the observed durations and a fitted distribution in the
scenario's form. Fitted forms: ``lognormal`` (maximum likelihood on log durations: ``median = exp(μ)``,
``sigma = σ``), ``triangular`` (``low``/``high`` = the 1st/99th percentiles, ``mode`` chosen so the
triangle's mean equals the sample mean, clipped into the range), ``normal`` (mean and standard
deviation, clipped at the observed minimum and maximum), and ``mean`` (a fixed number). The quantiles of
the fit are returned beside the value so that the fit can be judged against the sample's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

DISTRIBUTIONS = ("lognormal", "triangular", "normal", "mean")
QUANTILES = (0.05, 0.10, 0.50, 0.90, 0.95)

FloatArray = npt.NDArray[np.float64]


class CalibrationError(ValueError):
    """The run cannot be calibrated as asked (names the option and the reason)."""


@dataclass(frozen=True, slots=True)
class DurationStats:
    """Weighted statistics of observed durations (in the caller's unit, e.g. days)."""

    count: int
    """Observations (lots, racks)."""
    weight: float
    """Their total weight (wafers; 1 per rack)."""
    mean: float
    sd: float
    min: float
    max: float
    quantiles: dict[str, float]

    def to_json(self, count_key: str = "count", weight_key: str = "weight") -> dict[str, Any]:
        weight: float | int = int(self.weight) if float(self.weight).is_integer() else self.weight
        return {
            count_key: self.count,
            weight_key: weight,
            "mean": self.mean,
            "sd": self.sd,
            "min": self.min,
            "max": self.max,
            **self.quantiles,
        }


def weighted_quantile(values: FloatArray, weights: FloatArray, q: float) -> float:
    """The ``q`` quantile of ``values`` with ``weights`` (inverse of the weighted step CDF)."""
    order = np.argsort(values, kind="stable")
    v = values[order]
    cw = np.cumsum(weights[order])
    i = int(np.searchsorted(cw, q * cw[-1], side="left"))
    return float(v[min(i, len(v) - 1)])


def duration_stats(values: FloatArray, weights: FloatArray, what: str) -> DurationStats:
    """Statistics of ``values`` weighted by ``weights``; ``what`` names one observation in the error."""
    if len(values) == 0:
        raise CalibrationError(f"no {what} completed after the warm-up: simulate longer (--days)")
    mean = float(np.average(values, weights=weights))
    var = float(np.average((values - mean) ** 2, weights=weights))
    return DurationStats(
        count=len(values),
        weight=float(weights.sum()),
        mean=mean,
        sd=math.sqrt(var),
        min=float(values.min()),
        max=float(values.max()),
        quantiles={f"p{round(q * 100)}": weighted_quantile(values, weights, q) for q in QUANTILES},
    )


def fit_duration(
    values: FloatArray, weights: FloatArray, dist: str, note: str
) -> tuple[float | dict[str, Any], dict[str, float]]:
    """Fit ``dist`` to weighted durations: the scenario value and the fit's quantiles."""
    from scipy import stats  # imported here: scipy.stats takes a second to load

    mean = float(np.average(values, weights=weights))
    qs = {f"p{round(q * 100)}": q for q in QUANTILES}
    if dist == "mean":
        return round(mean, 2), dict.fromkeys(qs, round(mean, 2))
    if dist == "lognormal":
        if float(values.min()) <= 0:
            raise CalibrationError("--dist lognormal: a duration is 0; use normal or triangular")
        logs = np.log(values)
        mu = float(np.average(logs, weights=weights))
        sigma = math.sqrt(float(np.average((logs - mu) ** 2, weights=weights)))
        median, sigma = round(math.exp(mu), 2), round(sigma, 4)
        value: dict[str, Any] = {"dist": "lognormal", "median": median, "sigma": sigma, "note": note}
        law = stats.lognorm(s=max(sigma, 1e-12), scale=median)
        return value, {k: float(law.ppf(q)) for k, q in qs.items()}
    if dist == "normal":
        sd = math.sqrt(float(np.average((values - mean) ** 2, weights=weights)))
        lo, hi = float(values.min()), float(values.max())
        value = {"dist": "normal", "mean": round(mean, 2), "sd": round(sd, 2), "low": round(lo, 2)}
        value["high"] = round(hi, 2)
        value["note"] = note
        law = stats.truncnorm(
            (lo - mean) / max(sd, 1e-12), (hi - mean) / max(sd, 1e-12), mean, max(sd, 1e-12)
        )
        return value, {k: float(law.ppf(q)) for k, q in qs.items()}
    if dist == "triangular":
        lo = weighted_quantile(values, weights, 0.01)
        hi = weighted_quantile(values, weights, 0.99)
        mode = min(max(3 * mean - lo - hi, lo), hi)
        lo, mode, hi = round(lo, 2), round(mode, 2), round(hi, 2)
        value = {"dist": "triangular", "low": lo, "mode": mode, "high": hi, "note": note}
        if hi <= lo:
            return value, dict.fromkeys(qs, lo)
        law = stats.triang((mode - lo) / (hi - lo), loc=lo, scale=hi - lo)
        return value, {k: float(law.ppf(q)) for k, q in qs.items()}
    raise CalibrationError(f"--dist {dist!r}: unknown; valid: {', '.join(DISTRIBUTIONS)}")
