"""Power from what runs: IT power from the GPUs busy and the racks powered, facility power through a PUE
that falls with load and rises with the outdoor temperature, and the most GPUs a power budget allows busy.

The model (docs/factory.md), per instant, with *r* racks powered and *b* GPUs busy::

    IT        = r × (rack overhead + GPUs per rack × idle W) + b × (busy W − idle W)
    facility  = IT × (1 + cooling(T)) + r × fixed
    cooling(T) = max(0, (PUE_design − 1) × (1 − fixed share) + per-degree × (T − T_ref))
    fixed      = (PUE_design − 1) × fixed share × IT of one rack at full load (per rack powered)

so the PUE (facility ÷ IT) is the design PUE at full load and the reference temperature, higher at part
load (the fixed losses are spread over less IT power) and in hot hours. Facility power grows with *b*,
so a budget is a largest number of busy GPUs.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PowerModel:
    """One run's power figures (already drawn), for a factory of ``racks`` racks of ``rack_gpus`` GPUs."""

    racks: int
    rack_gpus: int
    gpu_idle_kw: float
    gpu_busy_kw: float
    rack_overhead_kw: float
    design_pue: float
    fixed_share: float
    cooling_per_degree: float
    reference_c: float

    def __post_init__(self) -> None:
        if not 0 <= self.gpu_idle_kw <= self.gpu_busy_kw:
            raise ValueError("GPU power: need 0 ≤ idle ≤ busy")
        if self.design_pue < 1:
            raise ValueError(f"pue: must be ≥ 1, got {self.design_pue:g}")

    @property
    def rack_idle_kw(self) -> float:
        return self.rack_overhead_kw + self.rack_gpus * self.gpu_idle_kw

    @property
    def rack_full_kw(self) -> float:
        return self.rack_overhead_kw + self.rack_gpus * self.gpu_busy_kw

    @property
    def fixed_kw_per_rack(self) -> float:
        """Losses of a powered rack's share of the hall that do not follow its load."""
        return (self.design_pue - 1) * self.fixed_share * self.rack_full_kw

    def it_kw(self, racks_on: FloatArray | float, busy: FloatArray | float) -> FloatArray:
        return np.asarray(
            np.multiply(racks_on, self.rack_idle_kw) + np.multiply(busy, self.gpu_busy_kw - self.gpu_idle_kw),
            dtype=np.float64,
        )

    def cooling(self, temp_c: FloatArray | float) -> FloatArray:
        base = (self.design_pue - 1) * (1 - self.fixed_share)
        return np.maximum(0.0, base + self.cooling_per_degree * (np.asarray(temp_c) - self.reference_c))

    def facility_kw(
        self, racks_on: FloatArray | float, busy: FloatArray | float, temp_c: FloatArray | float
    ) -> FloatArray:
        """Facility power with ``racks_on`` racks powered and ``busy`` GPUs busy at ``temp_c``."""
        it = self.it_kw(racks_on, busy)
        return np.asarray(
            it * (1 + self.cooling(temp_c)) + np.multiply(racks_on, self.fixed_kw_per_rack), dtype=np.float64
        )

    def max_busy_gpus(self, budget_kw: float, temp_c: float) -> int:
        """The most GPUs that may be busy, with every rack powered, without the facility drawing more
        than ``budget_kw`` at ``temp_c``; ValueError when even the idle factory exceeds it."""
        per_it = 1 + float(self.cooling(temp_c))
        fixed = self.racks * self.fixed_kw_per_rack
        it_allowed = (budget_kw - fixed) / per_it
        idle = self.racks * self.rack_idle_kw
        if it_allowed < idle:
            raise ValueError(
                f"power_budget_mw: the idle factory alone draws {(idle * per_it + fixed) / 1000:.2f} "
                f"MW at {temp_c:.1f} °C, above the budget of {budget_kw / 1000:g} MW"
            )
        step = self.gpu_busy_kw - self.gpu_idle_kw
        most = self.racks * self.rack_gpus
        if step <= 0:
            return most
        return min(most, math.floor((it_allowed - idle) / step + 1e-9))


def hourly_temperature(
    monthly_mean_c: tuple[float, ...],
    amplitude_c: float,
    peak_hour: float,
    start: dt.date,
    hours: int,
    offset_c: float = 0.0,
) -> FloatArray:
    """Outdoor temperature (°C) at the middle of each hour from midnight of ``start``: the monthly means
    interpolated linearly between mid-months (periodic over the year), plus a daily cosine."""
    t_days = np.arange(hours, dtype=np.float64) / 24.0 + 1 / 48
    day_of_year = (start.timetuple().tm_yday - 1) + t_days
    mid_months = (np.arange(12) + 0.5) * 365.25 / 12
    means = np.interp(
        day_of_year % 365.25,
        np.concatenate(([mid_months[-1] - 365.25], mid_months, [mid_months[0] + 365.25])),
        np.concatenate(([monthly_mean_c[-1]], monthly_mean_c, [monthly_mean_c[0]])),
    )
    hour = (t_days * 24.0) % 24.0
    return means + amplitude_c * np.cos(2 * math.pi * (hour - peak_hour) / 24.0) + offset_c
