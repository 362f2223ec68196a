"""Plants in place of rack-line estimates: each named stage of a scenario gets its capacity, cycle time
and yield from a run of the plant twin (:mod:`aifactory.plant.calibration`) before the supply twin runs.

The scenario is given as raw data (as read from its YAML, overrides applied) and changed in place; the
caller validates it afterwards. The capacity curve is scaled so its peak is the plant's capacity
(``capacity_mode="scale"``), keeping the scenario's ramp dates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aifactory.plant.calibration import PlantCalibration, calibration_study
from aifactory.plant.model import Plant
from aifactory.plant.replications import Mapper, PlantOutcome


class PlantStageError(ValueError):
    """A plant cannot stand for the stage named (the message names the stage)."""


@dataclass(frozen=True)
class PlantStage:
    """A stage of the scenario as the plant twin measured it."""

    stage: str
    plant: Plant
    calibration: PlantCalibration
    before: dict[str, Any]
    """The stage's capacity, cycle time and yield as the scenario gave them."""
    after: dict[str, Any]
    outcomes: list[PlantOutcome]
    """The replications of the plant as written (the first keeps its records)."""


def plants_in_scenario(
    data: dict[str, Any],
    plants: list[tuple[str, Plant]],
    *,
    days: float,
    warmup_days: float,
    replications: int,
    seed: int,
    capacity_mode: str = "scale",
    mapper: Mapper | None = None,
    on_done: Callable[[], None] | None = None,
) -> list[PlantStage]:
    """Calibrate each ``(stage, plant)`` and write the result into the scenario ``data``."""
    stages = data.get("stages") or {}
    for stage, _ in plants:
        if stage not in stages:
            raise PlantStageError(
                f"--plant {stage}=…: the scenario has no stage {stage!r}; stages: {', '.join(stages)}"
            )
    done: list[PlantStage] = []
    for stage, plant in plants:
        fields = stages[stage]
        before = {k: fields.get(k) for k in ("capacity", "cycle_time_days", "yield")}
        cal, as_written, _ = calibration_study(
            plant, days=days, warmup_days=warmup_days, replications=replications, seed=seed, mapper=mapper,
            on_done=on_done,
        )  # fmt: skip
        after = cal.stage_fields(capacity_mode, fields.get("capacity"))
        fields.update(after)
        note = f"capacity, cycle time and yield from the plant twin: {plant.name}"
        fields["note"] = f"{fields['note']}; {note}" if fields.get("note") else note
        done.append(PlantStage(stage, plant, cal, before, after, as_written))
    return done
