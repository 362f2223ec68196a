"""What one run of the plant engine returns: its records and the names they refer to.

Plain data, picklable: it travels from a worker process or a Ray task to the measures and the report
(and stays a pure-Python class when the engine is compiled)."""

from __future__ import annotations

from dataclasses import dataclass

from aifactory.plant.index import PlantIndex
from aifactory.plant.log import Records
from aifactory.plant.model import Plant


@dataclass(frozen=True)
class PlantRun:
    """The outcome of one run: its records and what is needed to read them."""

    plant: Plant
    seed: int
    hours: float
    events: int
    records: Records
    index: PlantIndex
