"""Time units named in the SMT2020 files, as factors to minutes (the model's one time unit)."""

from __future__ import annotations

from typing import Final

MINUTES_PER_DAY: Final = 1440.0
MINUTES_PER_WEEK: Final = 10080.0

TIME_UNITS: Final[dict[str, float]] = {
    "sec": 1 / 60,
    "secs": 1 / 60,
    "s": 1 / 60,
    "second": 1 / 60,
    "seconds": 1 / 60,
    "min": 1.0,
    "mins": 1.0,
    "minute": 1.0,
    "minutes": 1.0,
    "hr": 60.0,
    "hrs": 60.0,
    "hour": 60.0,
    "hours": 60.0,
    "day": MINUTES_PER_DAY,
    "days": MINUTES_PER_DAY,
    "wk": MINUTES_PER_WEEK,
    "week": MINUTES_PER_WEEK,
    "weeks": MINUTES_PER_WEEK,
}
"""Minutes per unit, keyed by the lower-case spelling used in the files."""

COUNT_UNITS: Final = frozenset({"pieces", "piece", "wafers", "wafer"})
"""Spellings of a wafer count (``MTBPMUNITS pieces``) rather than a time."""


def minutes_per(unit: str) -> float | None:
    """Minutes in one ``unit`` (case-insensitive), or ``None`` if it is not a time unit."""
    return TIME_UNITS.get(unit.strip().lower())


def unit_names() -> str:
    """The canonical unit spellings, for error messages."""
    return "sec, min, hr, day, week"
