"""Calibration: a plant run becomes the parameters of a supply-twin rack-line stage.

The supply twin treats a rack line as one stage: a *capacity* (units started per day), a *cycle time*
(start to good output, days, drawn once per Monte Carlo run) and a *yield*. A plant twin gives all three:

* **capacity** — the starts per day the plant sustains when it is kept full: the plant run again under
  CONWIP at a work-in-progress limit well above its operating level (``wip_limit``; default three times
  the mean WIP of the run as written, and at least twice its largest batch), so that the bottleneck
  never starves, and with its bought materials unlimited (in the supply twin the stage's inputs come
  from upstream stages); starts = finished + scrapped units of the product per day, after the warm-up.
* **cycle time** — release to finish of the racks that finished in the run *as written* (its release
  rate: the operating point the stage stands for), fitted with :func:`aifactory.sim.fitting.fit_duration`
  (lognormal by default; triangular, normal or the mean on request).
* **yield** — finished ÷ (finished + scrapped) racks in that run.

The stage's capacity curve can be replaced (``constant``), kept (``keep``) or — the default, ``scale`` —
scaled so that its largest point equals the plant's capacity: a ramp stays a ramp (its dates are the
scenario's), and its plateau is what the plant can do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aifactory.plant.model import Material, Plant, Release
from aifactory.plant.replications import Mapper, PlantOutcome, jobs_for, run_replications
from aifactory.sim.fitting import CalibrationError, DurationStats, duration_stats, fit_duration

CAPACITY_MODES = ("scale", "constant", "keep")

__all__ = [
    "CAPACITY_MODES",
    "CalibrationError",
    "PlantCalibration",
    "calibrate",
    "calibration_study",
    "saturated",
    "saturation_wip",
]


def saturation_wip(plant: Plant, operating_wip: float) -> int:
    """The CONWIP level at which the plant is run to measure its capacity."""
    largest_batch = max(s.batch for s in plant.stations.values())
    return max(math.ceil(3 * operating_wip), 2 * largest_batch, 4)


UNLIMITED = 10**12


def saturated(plant: Plant, wip_limit: int) -> Plant:
    """``plant`` kept full: a new unit of the product enters each time one leaves (CONWIP), and bought
    materials never run short (the supply twin models the supply of a stage's inputs itself)."""
    release = Release(
        item=plant.release.item,
        wip_limit=wip_limit,
        first_hours=plant.release.first_hours,
        note=f"kept at {wip_limit} units in the plant to measure its capacity",
    )
    materials = {
        name: Material(initial=UNLIMITED, note="unlimited, to measure the capacity")
        for name in plant.materials
    }
    return plant.model_copy(update={"release": release, "materials": materials})


@dataclass(frozen=True)
class PlantCalibration:
    """What a plant twin says about a supply-twin stage."""

    plant: str
    days: float
    warmup_days: float
    replications: int
    throughput_per_day: float
    """Good units a day in the run as written."""
    capacity_per_day: float
    """Units started a day with the plant kept full."""
    wip_limit: int
    yield_: float
    lead_time_days: DurationStats
    dist: str
    distribution: float | dict[str, Any]
    fit_quantiles: dict[str, float] = field(default_factory=dict)

    def stage_fields(self, capacity_mode: str = "scale", current: Any = None) -> dict[str, Any]:
        """The stage's ``capacity``, ``cycle_time_days`` and ``yield`` in scenario form."""
        fields: dict[str, Any] = {}
        capacity = round(self.capacity_per_day, 2)
        if capacity_mode == "constant" or (capacity_mode == "scale" and not isinstance(current, list)):
            fields["capacity"] = capacity
        elif capacity_mode == "scale":
            peak = max((float(p["per_day"]) for p in current), default=0.0)
            if peak > 0:
                fields["capacity"] = [
                    {"date": str(p["date"]), "per_day": round(float(p["per_day"]) * capacity / peak, 2)}
                    for p in current
                ]
            else:
                fields["capacity"] = capacity
        elif capacity_mode != "keep":
            valid = ", ".join(CAPACITY_MODES)
            raise CalibrationError(f"--capacity-mode {capacity_mode!r}: unknown; valid: {valid}")
        fields["cycle_time_days"] = self.distribution
        fields["yield"] = round(self.yield_, 4)
        return fields

    def to_json(self) -> dict[str, Any]:
        return {
            "plant": self.plant,
            "days": self.days,
            "warmup_days": self.warmup_days,
            "replications": self.replications,
            "throughput_per_day": self.throughput_per_day,
            "capacity_per_day": self.capacity_per_day,
            "wip_limit": self.wip_limit,
            "yield": self.yield_,
            "lead_time_days": self.lead_time_days.to_json("racks", "weight"),
            "dist": self.dist,
            "cycle_time_distribution": self.distribution,
            "fit_quantiles": self.fit_quantiles,
        }


def calibrate(
    plant: Plant,
    as_written: Sequence[PlantOutcome],
    kept_full: Sequence[PlantOutcome],
    *,
    days: float,
    warmup_days: float,
    wip_limit: int,
    dist: str = "lognormal",
) -> PlantCalibration:
    """Calibrate from replications of the plant as written and kept full (same days and warm-up)."""
    if not as_written or not kept_full:
        raise CalibrationError("no runs to calibrate from")
    span_days = days - warmup_days
    lead = np.concatenate([o.lead_times_hours for o in as_written]) / 24.0
    stats = duration_stats(lead, np.ones(len(lead)), f"{plant.release.item} of {plant.name}")
    finished = sum(o.measures["completed"] for o in as_written)
    scrapped = sum(o.measures["scrapped"] for o in as_written)
    starts_full = sum(o.measures["completed"] + o.measures["scrapped"] for o in kept_full)
    note = (
        f"plant calibrate: {plant.name}, {stats.count:,} {plant.release.item}s over {span_days:g} days × "
        f"{len(as_written)}"
    )
    value, fitted = fit_duration(lead, np.ones(len(lead)), dist, note)
    return PlantCalibration(
        plant=plant.name,
        days=days,
        warmup_days=warmup_days,
        replications=len(as_written),
        throughput_per_day=finished / (span_days * len(as_written)),
        capacity_per_day=starts_full / (span_days * len(kept_full)),
        wip_limit=wip_limit,
        yield_=finished / (finished + scrapped) if finished + scrapped else 1.0,
        lead_time_days=stats,
        dist=dist,
        distribution=value,
        fit_quantiles=fitted,
    )


def calibration_study(
    plant: Plant,
    *,
    days: float,
    warmup_days: float,
    replications: int,
    seed: int,
    dist: str = "lognormal",
    wip_limit: int | None = None,
    mapper: Mapper | None = None,
    on_done: Callable[[], None] | None = None,
) -> tuple[PlantCalibration, list[PlantOutcome], list[PlantOutcome]]:
    """Run ``plant`` as written and kept full (``2 × replications`` runs, the same seeds) and calibrate;
    also the outcomes of both (the first replication as written keeps its records, for a report)."""
    as_written = run_replications(
        jobs_for(plant, days=days, warmup_days=warmup_days, replications=replications, seed=seed),
        mapper,
        on_done,
    )
    wip = (
        wip_limit
        if wip_limit is not None
        else saturation_wip(plant, float(np.mean([o.measures["wip"] for o in as_written])))
    )
    full_jobs = jobs_for(
        saturated(plant, wip),
        days=days,
        warmup_days=warmup_days,
        replications=replications,
        seed=seed,
        keep_first=False,
    )
    kept_full = run_replications(full_jobs, mapper, on_done)
    cal = calibrate(
        plant, as_written, kept_full, days=days, warmup_days=warmup_days, wip_limit=wip, dist=dist
    )
    return cal, as_written, kept_full
