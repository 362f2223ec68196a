"""Who and what does the work in a plant: operator pools with shifts, robot fleets, the floor layout.

Clock times are ``"HH:MM"`` strings (quoted: YAML reads an unquoted 14:00 as the number 840). A shift
that runs past midnight ends after ``"24:00"``: a night shift is ``{start: "22:00", end: "30:00"}``
(06:00 the next morning); ``days`` are the days it *starts* on.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_CLOCK = re.compile(r"^(\d{1,2}):([0-5]\d)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


def clock_hours(value: Any) -> float:
    """Hours after midnight of an ``"HH:MM"`` clock time (``"30:00"`` is 06:00 the next day)."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f'{value!r}: write a clock time as a quoted "HH:MM", e.g. "14:00"')
    match = _CLOCK.match(value.strip())
    if match is None:
        raise ValueError(f'{value!r}: not a clock time "HH:MM"')
    hours = int(match.group(1)) + int(match.group(2)) / 60
    if hours > 48:
        raise ValueError(f"{value!r}: after 48:00")
    return hours


def _clock_text(value: Any) -> str:
    clock_hours(value)
    return str(value).strip()


ClockTime = Annotated[str, BeforeValidator(_clock_text)]
"""A clock time "HH:MM" (up to "48:00")."""


class Break(_Strict):
    """A break in a shift: the shift's operators are away (work is handled as at a shift end)."""

    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _order(self) -> Self:
        if clock_hours(self.end) <= clock_hours(self.start):
            raise ValueError(f"end: the break ends ({self.end}) before it starts ({self.start})")
        return self


class Shift(_Strict):
    """A daily shift: operators of the pool on duty from ``start`` to ``end`` on ``days``."""

    start: ClockTime
    end: ClockTime
    days: list[Weekday] | None = Field(default=None, description="Days it starts on (default: every day).")
    count: int | None = Field(
        default=None, ge=0, description="Operators on this shift (default: the pool's)."
    )
    breaks: list[Break] = Field(default_factory=list)

    @model_validator(mode="after")
    def _order(self) -> Self:
        start, end = clock_hours(self.start), clock_hours(self.end)
        if start >= 24:
            raise ValueError(f"start: {self.start} is not a time of day (before 24:00)")
        if end <= start:
            raise ValueError(
                f"end: the shift ends ({self.end}) before it starts ({self.start}); "
                'a night shift ends after "24:00", e.g. 22:00 to "30:00"'
            )
        if end - start > 24:
            raise ValueError(f"end: a shift of {end - start:g} hours is longer than a day")
        for i, b in enumerate(self.breaks):
            if clock_hours(b.start) < start or clock_hours(b.end) > end:
                raise ValueError(
                    f"breaks.{i}: {b.start}–{b.end} is not within the shift {self.start}–{self.end}"
                )
        return self

    def hours(self) -> tuple[float, float]:
        return clock_hours(self.start), clock_hours(self.end)


class OperatorPool(_Strict):
    """Operators with the same skills who work the same shifts."""

    count: int = Field(ge=0, le=100_000, description="Operators on each shift (a shift may say otherwise).")
    shifts: list[Shift] = Field(default_factory=list, description="Daily shifts; none: always on duty.")
    skills: list[str] = Field(
        default_factory=list, description="Stations they can run, beside those that name this pool."
    )
    at_shift_end: Literal["pause", "finish"] = Field(
        default="pause",
        description="Work in progress when operators leave: pause (the unit keeps its server and resumes "
        "when an operator of a pool it can use is back) or finish (they finish the unit in hand, then go).",
    )
    cost_per_hour_usd: float | None = Field(default=None, ge=0)
    note: str | None = None


class Battery(_Strict):
    """An AMR's battery: it drains while the AMR drives and is charged at a charger."""

    hours: float = Field(gt=0, description="Hours of driving on a full charge.")
    charge_hours: float = Field(gt=0, description="Hours from empty to full.")
    threshold: float = Field(default=0.2, ge=0, lt=1, description="Go to charge below this level (0–1).")
    chargers: list[str] = Field(min_length=1, description="Layout nodes with chargers.")


class RobotFleet(_Strict):
    """Robots of one kind: AMRs that move units over the layout, or arms/humanoids that work at stations."""

    kind: Literal["amr", "arm", "humanoid"] = "amr"
    count: int = Field(ge=0, le=100_000)
    speed_m_s: float | None = Field(default=None, gt=0, description="AMR: speed, m/s (default 1).")
    load_minutes: float = Field(default=0.0, ge=0, description="AMR: minutes to pick a unit up.")
    unload_minutes: float | None = Field(
        default=None, ge=0, description="AMR: to set it down (default: load)."
    )
    battery: Battery | None = None
    home: str | None = Field(default=None, description="AMR: layout node where the fleet starts.")
    stations: list[str] = Field(
        default_factory=list, description="Arm/humanoid: stations it can work at, beside those naming it."
    )
    note: str | None = None

    @model_validator(mode="after")
    def _kind_fields(self) -> Self:
        if self.kind != "amr":
            for name in ("speed_m_s", "battery", "home", "unload_minutes"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name}: only an AMR fleet has one (this fleet is kind {self.kind})")
            if self.load_minutes:
                raise ValueError(f"load_minutes: only an AMR fleet has one (this fleet is kind {self.kind})")
        elif self.stations:
            raise ValueError("stations: an AMR fleet moves units between stations; it does not work at them")
        return self

    @property
    def speed(self) -> float:
        return self.speed_m_s if self.speed_m_s is not None else 1.0

    @property
    def unload(self) -> float:
        return self.unload_minutes if self.unload_minutes is not None else self.load_minutes


class Edge(_Strict):
    """An aisle between two layout nodes."""

    from_: str = Field(alias="from")
    to: str
    distance_m: float | None = Field(
        default=None, gt=0, description="Length; default: the straight line between the two positions."
    )
    one_way: bool = False


class Layout(_Strict):
    """The floor: node positions (stations, docks, chargers) and the aisles between them.

    Stations take their position from the station's ``position`` or from ``nodes``. Without ``edges``,
    an AMR drives the Manhattan distance between two positions (aisles at right angles)."""

    nodes: dict[str, tuple[float, float]] = Field(default_factory=dict, description="Positions, metres.")
    edges: list[Edge] = Field(default_factory=list)
    width_m: float | None = Field(default=None, gt=0, description="Floor size, for the drawing.")
    depth_m: float | None = Field(default=None, gt=0)
    note: str | None = None
