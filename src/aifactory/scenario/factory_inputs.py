"""What the AI factory's Monte Carlo twin draws on: the programmes' demand, the power the factory draws,
and its money (``ai_factories.<id>.demand``, ``.power``, ``.economics``; docs/factory.md).

Every figure is a plain number or a distribution drawn once per run (``scenario.distributions``); the
defaults are the estimates of the reference scenario, with their sources in the field descriptions.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aifactory.scenario.distributions import Triangular, Uncertain, Uniform, bounds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


def _check_not_below(model: BaseModel, names: tuple[str, ...], *, strict: bool = False) -> None:
    """Every value the named figures can take is ≥ 0 (> 0 when ``strict``)."""
    for name in names:
        low, _ = bounds(getattr(model, name))
        if low < 0 or (strict and low == 0):
            raise ValueError(f"{name}: must be {'>' if strict else '≥'} 0 (can take {low:g})")


class ProgrammeDemand(_Strict):
    """One council programme's demand on the factory: how much it asks for, how fast it gets there, what
    kind of jobs, and what it pays. A programme with an ``elasticity`` sells through the marketplace: its
    demand responds to the price it is offered."""

    offered_load: Uncertain = Field(
        description="GPU-hours asked per hour as a share of the factory's schedulable GPUs online "
        "(0.5 = half of them); for a marketplace programme, at the reference price."
    )
    ramp_months: Uncertain = Field(
        default=0.0, description="Months from the first rack until the demand reaches its offered load."
    )
    rate_usd_per_gpu_hour: Uncertain = Field(
        default=0.0,
        description="What one GPU-hour it uses earns: the council's rate for the programme, or the "
        "marketplace price (drawn in its range) for a marketplace programme.",
    )
    elasticity: Uncertain | None = Field(
        default=None,
        description="Price elasticity of its demand (< 0): load × (price ÷ reference price)^elasticity.",
    )
    reference_price_usd_per_gpu_hour: float | None = Field(
        default=None, gt=0, description="The price at which it asks for its offered load."
    )
    job_scale: int = Field(
        default=16, ge=1, description="GPUs per GPU of the trace's jobs (an AI factory's jobs are larger)."
    )
    trace: str | None = Field(
        default=None,
        description="A trace (philly or generic format) whose job mix replaces the built-in Philly "
        "calibration: sizes, durations per size class, diurnal and weekly arrivals.",
    )
    burstiness: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Amplitude of the daily arrival cycle (default: the trace's own; 0 = steady).",
    )
    note: str | None = None

    @model_validator(mode="after")
    def _signs(self) -> Self:
        _check_not_below(self, ("offered_load", "ramp_months", "rate_usd_per_gpu_hour"))
        if self.elasticity is not None:
            _, high = bounds(self.elasticity)
            if high >= 0:
                raise ValueError(
                    f"elasticity: must be negative (demand falls as the price rises), can take {high:g}"
                )
            if self.reference_price_usd_per_gpu_hour is None:
                raise ValueError("elasticity: give reference_price_usd_per_gpu_hour with it")
        return self

    @property
    def is_marketplace(self) -> bool:
        return self.elasticity is not None


# Kaohsiung (the Taiwan AI factory's region) monthly mean air temperature, °C: Central Weather
# Administration climate normals 1991–2020, rounded (secondary; the diurnal range is about 6–7 °C).
KAOHSIUNG_MONTHLY_C = (19.3, 20.5, 22.9, 25.6, 27.9, 29.0, 29.6, 29.2, 28.5, 27.0, 24.3, 20.9)


class SiteClimate(_Strict):
    """Outdoor temperature through the year, hour by hour: the month's mean (interpolated between
    mid-months) plus a daily cosine peaking at ``peak_hour``, plus a per-run offset (a warmer year)."""

    monthly_mean_c: tuple[float, ...] = Field(default=KAOHSIUNG_MONTHLY_C, min_length=12, max_length=12)
    diurnal_amplitude_c: float = Field(default=3.3, ge=0, description="Half the daily range.")
    peak_hour: float = Field(default=14.0, ge=0, lt=24)
    offset_c: Uncertain = Field(default=0.0, description="Added to every hour (drawn per run).")


class FactoryPower(_Strict):
    """Power from what runs: per GPU idle and busy, per rack overhead; facility power through a PUE that
    falls with load and rises with the outdoor temperature (docs/factory.md)."""

    gpu_busy_w: Uncertain = Field(
        default=Triangular(dist="triangular", low=1300, mode=1400, high=1500),
        description="Watts per GPU at full load (1.4 kW per GB300 GPU: official/analyst).",
    )
    gpu_idle_w: Uncertain = Field(
        default=Triangular(dist="triangular", low=150, mode=250, high=400),
        description="Watts per idle GPU ('a few hundred W': secondary/estimate).",
    )
    rack_overhead_kw: Uncertain = Field(
        default=Triangular(dist="triangular", low=20, mode=30, high=40),
        description="kW per powered rack besides its GPUs: Grace CPUs, NVLink switches, NICs, pumps "
        "(120–142 kW a rack at full load less 72 × 1.4 kW: estimate).",
    )
    fixed_overhead_share: float = Field(
        default=0.4,
        ge=0,
        le=1,
        description="Share of the facility's overhead (PUE − 1 at full load) that does not scale with "
        "IT load: transformers, UPS, lighting, pumps at minimum flow (estimate).",
    )
    cooling_per_degree: float = Field(
        default=0.006,
        ge=0,
        description="Cooling overhead added per °C of outdoor temperature above the reference, as a "
        "share of IT power (dry coolers and chillers work harder: estimate).",
    )
    reference_temperature_c: float = Field(
        default=25.0, description="The outdoor temperature at which the factory has its design PUE."
    )
    climate: SiteClimate = Field(default_factory=SiteClimate)

    @model_validator(mode="after")
    def _idle_below_busy(self) -> Self:
        _check_not_below(self, ("gpu_busy_w", "gpu_idle_w", "rack_overhead_kw"))
        if bounds(self.gpu_idle_w)[1] > bounds(self.gpu_busy_w)[0]:
            raise ValueError("gpu_idle_w: an idle GPU cannot draw more than a busy one")
        return self


class FactoryEconomics(_Strict):
    """What the factory costs: electricity, the racks written off over their life, operations."""

    electricity_usd_per_mwh: Uncertain = Field(
        default=Triangular(dist="triangular", low=110, mode=130, high=160),
        description="Industrial electricity price (Taipower high-voltage rates after the 2024 rises, "
        "about NT$3.5–5 per kWh at NT$32 per US$: estimate).",
    )
    rack_price_usd: float | None = Field(
        default=None, gt=0, description="Price of one rack (default: the rack type's catalogue price)."
    )
    depreciation_years: Uncertain = Field(
        default=Uniform(dist="uniform", low=4, high=6),
        description="Straight-line life of a rack (4–6 years is common practice: estimate).",
    )
    operations_usd_per_rack_year: Uncertain = Field(
        default=Triangular(dist="triangular", low=150_000, mode=250_000, high=400_000),
        description="Staff, support contracts, spares, network and space per rack and year (estimate).",
    )

    @model_validator(mode="after")
    def _positive(self) -> Self:
        _check_not_below(self, ("electricity_usd_per_mwh", "operations_usd_per_rack_year"))
        _check_not_below(self, ("depreciation_years",), strict=True)
        return self


def demand_errors(demand: dict[str, ProgrammeDemand], programmes: list[str]) -> list[str]:
    """A demand for a programme the council does not have is a mistake (a typo, or a missing share)."""
    known = ", ".join(programmes) or "none"
    return [
        f"demand.{name}: not a programme of the council (programs: {known})"
        for name in demand
        if name not in programmes
    ]
