"""The plant format ``aifactory/plant-v1`` as pydantic models: stations, items and the release.

A plant is a rack-integration factory. Units (racks, trays) are released, visit stations in the order
of their item's route, are processed by a station's parallel servers (with an operator or a robot when
the station says so), pass or fail a test, wait in buffers, and leave as finished goods or as parts of
another unit. Operators, robots and the floor layout are in :mod:`aifactory.plant.resources`. Rules
that span several fields (a route through an unknown station, a pool that does not exist, a batch larger
than its buffer) are checked in :mod:`aifactory.plant.checks`.

Every time is in hours from the start of the run (hour 0 is midnight at the start of ``start``'s day).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aifactory.plant.design_model import Design
from aifactory.plant.distributions import Duration
from aifactory.plant.resources import Layout, OperatorPool, RobotFleet

FORMAT = "aifactory/plant-v1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class Release(_Strict):
    """How units of the plant's product enter the plant."""

    item: str = Field(default="unit", description="The item released: the plant's product (a rack).")
    interarrival_hours: Duration | None = Field(
        default=None, description="Hours between releases: a number (deterministic) or a distribution."
    )
    per_day: float | None = Field(
        default=None, gt=0, description="Alternatively: releases per day, evenly spaced (24 / per_day h)."
    )
    quantity: int = Field(default=1, ge=1, le=10_000, description="Units per release.")
    first_hours: float = Field(default=0.0, ge=0, description="Hour of the first release.")
    limit: int | None = Field(default=None, ge=0, description="Units released in all (none: no limit).")
    wip_limit: int | None = Field(
        default=None,
        ge=1,
        description="CONWIP: no release while this many units are in the plant; with no interarrival "
        "the plant is kept at this level (a new unit for each that leaves).",
    )
    note: str | None = None

    @model_validator(mode="after")
    def _one_rate(self) -> Self:
        if self.interarrival_hours is not None and self.per_day is not None:
            raise ValueError("per_day: give interarrival_hours or per_day, not both")
        if self.interarrival_hours is None and self.per_day is None and self.wip_limit is None:
            raise ValueError("interarrival_hours: required (or per_day, or wip_limit for a CONWIP plant)")
        return self


class Maintenance(_Strict):
    """Planned maintenance of each server of a station, on a fixed calendar."""

    every_hours: float = Field(gt=0, description="Hours from one maintenance to the next.")
    duration_hours: Duration = Field(description="Hours the server is down for it.")
    first_hours: float | None = Field(
        default=None,
        ge=0,
        description="Hour of the first; none: staggered, the k-th of N servers at every_hours × k / N.",
    )
    note: str | None = None


class Station(_Strict):
    """A work centre with identical parallel servers (benches, test slots, bays)."""

    servers: int = Field(default=1, ge=1, le=100_000, description="Identical parallel servers.")
    time_hours: Duration = Field(description="Processing time per unit (per batch at a batch station).")
    yield_: float = Field(default=1.0, ge=0, le=1, alias="yield", description="Share of units that pass.")
    rework: str | None = Field(
        default=None, description="Station a failed unit goes to, after which it comes back here."
    )
    retries: int | None = Field(
        default=None, ge=0, description="Failures here that go to rework; the next one scraps the unit."
    )
    mtbf_hours: float | None = Field(
        default=None, gt=0, description="Mean calendar hours between a server's failures (exponential)."
    )
    mttr_hours: Duration | None = Field(
        default=None, description="Repair time: a number is an exponential mean; or a distribution."
    )
    maintenance: Maintenance | None = None
    buffer: int | None = Field(
        default=None, description="Places for units waiting here; a full buffer blocks the upstream server."
    )
    batch: int = Field(default=1, ge=1, le=10_000, description="Up to this many units processed together.")
    batch_min: int | None = Field(
        default=None, ge=1, description="A batch starts with at least this many units (default 1)."
    )
    batch_wait_hours: float | None = Field(
        default=None, ge=0, description="…or with fewer once the first has waited this long."
    )
    operator: str | list[str] | None = Field(
        default=None, description="Operator pool(s), in order of preference; one is held while processing."
    )
    robot: str | list[str] | None = Field(
        default=None, description="Arm or humanoid fleet(s) working here, in order of preference."
    )
    robot_mode: Literal["replace", "assist"] = Field(
        default="replace",
        description="replace: a robot does the work instead of an operator (a robot first, else an "
        "operator); assist: an operator does it, helped by a free robot if there is one, in "
        "assist_time_factor × the time.",
    )
    assist_time_factor: float = Field(default=1.0, gt=0, le=10)
    position: tuple[float, float] | None = Field(
        default=None, description="Where the station stands on the floor, metres (x, y): a layout node."
    )
    note: str | None = None

    @field_validator("buffer")
    @classmethod
    def _buffer_not_negative(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError("must be >= 0")
        return value

    @model_validator(mode="after")
    def _batch(self) -> Self:
        if self.batch_min is not None and self.batch_min > self.batch:
            raise ValueError(f"batch_min: {self.batch_min} exceeds batch {self.batch}")
        if self.mttr_hours is not None and self.mtbf_hours is None:
            raise ValueError("mtbf_hours: required with mttr_hours")
        if self.mtbf_hours is not None and self.mttr_hours is None:
            raise ValueError("mttr_hours: required with mtbf_hours")
        return self

    @property
    def operators(self) -> list[str]:
        return _names(self.operator)

    @property
    def robots(self) -> list[str]:
        return _names(self.robot)


def _names(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class Part(_Strict):
    """A line of an item's bill of materials, consumed when the unit starts at station ``at``."""

    item: str = Field(description="An item made in the plant (with a route) or a bought material.")
    quantity: int = Field(ge=1, le=100_000)
    at: str | None = Field(default=None, description="Station where it is used (default: the first).")
    note: str | None = None


class Item(_Strict):
    """Something that flows: the plant's product (a rack) or a sub-assembly made for it (a tray)."""

    route: list[str] = Field(min_length=1, description="The stations a unit visits, in order.")
    parts: list[Part] = Field(default_factory=list, description="Bill of materials of one unit.")
    kit_after: str | None = Field(
        default=None,
        description="The made parts of a unit are released once it passes this station of its route "
        "(kitting); none: when the unit is released.",
    )
    move_by: str | None = Field(
        default=None, description="AMR fleet that moves its units between stations on the layout."
    )
    note: str | None = None


class Delivery(_Strict):
    """Batches of a material arriving from outside the plant."""

    every_hours: Duration = Field(description="Hours between deliveries: a number or a distribution.")
    quantity: Duration = Field(description="Units per delivery (rounded to whole units).")
    first_hours: float = Field(default=0.0, ge=0)
    note: str | None = None


class Material(_Strict):
    """A bought item (boards, power shelves): a stock, deliveries into it, and starvation when short."""

    initial: int = Field(default=0, ge=0, description="Units on hand at hour 0.")
    deliveries: Delivery | None = None
    note: str | None = None


class Site(_Strict):
    """Public facts about the plant (for the report; the model does not use them)."""

    name: str
    operator: str | None = None
    location: str | None = None
    country: str | None = None
    floor_area_sqft: float | None = Field(default=None, ge=0)
    jobs: int | None = Field(default=None, ge=0)
    investment_usd: float | None = Field(default=None, ge=0)
    start: dt.date | None = Field(default=None, description="Start of production.")
    note: str | None = None
    sources: list[str] = Field(default_factory=list)


class Plant(_Strict):
    """A rack-integration plant: ``format: aifactory/plant-v1``."""

    format: Literal["aifactory/plant-v1"]
    name: str = Field(min_length=1)
    description: str | None = None
    site: Site | None = None
    start: dt.date | None = Field(
        default=None, description="Calendar day of hour 0 (its weekday for shifts); default a Monday."
    )
    release: Release
    route: list[str] | None = Field(
        default=None,
        description="The product's route when `items` does not give it; default: every station in the "
        "order written, except those only named as a station's rework.",
    )
    stations: dict[str, Station] = Field(min_length=1)
    operators: dict[str, OperatorPool] = Field(default_factory=dict)
    robots: dict[str, RobotFleet] = Field(default_factory=dict)
    layout: Layout | None = None
    items: dict[str, Item] = Field(default_factory=dict)
    materials: dict[str, Material] = Field(default_factory=dict)
    design: Design | None = Field(
        default=None, description="What `aifactory plant design` may change, with bounds and costs."
    )
    note: str | None = None

    def weekday0(self) -> int:
        """Weekday of hour 0 (Monday = 0)."""
        return self.start.weekday() if self.start is not None else 0

    def product_route(self) -> list[str]:
        """The route of the released item."""
        item = self.items.get(self.release.item)
        if item is not None:
            return list(item.route)
        if self.route is not None:
            return list(self.route)
        rework_only = {s.rework for s in self.stations.values() if s.rework} - {None}
        return [name for name in self.stations if name not in rework_only]

    def route_of(self, item: str) -> list[str]:
        return self.product_route() if item == self.release.item else list(self.items[item].route)

    def made_items(self) -> list[str]:
        """Items made in the plant: the product and every item with a route, in the order written."""
        return [self.release.item, *[name for name in self.items if name != self.release.item]]

    def bom(self, item: str) -> list[Part]:
        found = self.items.get(item)
        return list(found.parts) if found is not None else []
