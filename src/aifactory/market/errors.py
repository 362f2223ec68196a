"""The market's one error type and the small checks every module shares.

Rule violations raise ``MarketError`` (a ``ValueError``) with structured fields — the *field* at fault,
the *reason*, the error's *kind* (``invalid`` input, or a ``conflict`` with the state of an object) and
the *object* it concerns — so that a caller maps an error by its fields, never by its text. Its message
is ``"field: reason"``, what the service hands back (``{"detail": "gpu_hours: must be > 0 ..."}``).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

_HOUR = timedelta(hours=1)

E = TypeVar("E", bound=StrEnum)


class ErrorKind(StrEnum):
    INVALID = "invalid"
    """The input breaks a rule whatever the state (a negative price, an end before its start)."""
    CONFLICT = "conflict"
    """The input is well-formed but the object's state refuses it now (a decided allocation reviewed
    again, a booking beyond what is left of an offer)."""


class MarketError(ValueError):
    """A market rule was broken: ``field`` and ``reason`` (the message is ``"field: reason"``), its
    ``kind``, and the ``object`` concerned (e.g. ``"offer 3"``; None when it is the input itself)."""

    def __init__(
        self, field: str, reason: str, *, kind: ErrorKind = ErrorKind.INVALID, object: str | None = None
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.kind = kind
        self.object = object

    def renamed(self, names: dict[str, str]) -> MarketError:
        """The same error with its field named as the caller names it (``{"start": "start_at"}``)."""
        return MarketError(names.get(self.field, self.field), self.reason, kind=self.kind, object=self.object)


def require_aware(field: str, value: datetime) -> datetime:
    """``value`` must be a timezone-aware ``datetime`` (the market works in UTC instants)."""
    if not isinstance(value, datetime):
        raise MarketError(field, f"must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise MarketError(field, f"must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value


def require_period(start_field: str, start: datetime, end_field: str, end: datetime) -> None:
    """Both ends aware and ``end`` strictly after ``start``."""
    require_aware(start_field, start)
    require_aware(end_field, end)
    if end <= start:
        raise MarketError(
            end_field, f"must be after {start_field} ({end.isoformat()} <= {start.isoformat()})"
        )


def require_finite(field: str, value: float, *, minimum: float = 0.0, strict: bool = False) -> float:
    """A finite number ``>= minimum`` (``> minimum`` when ``strict``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MarketError(field, f"must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise MarketError(field, f"must be finite, got {value}")
    if strict and value <= minimum:
        raise MarketError(field, f"must be > {minimum:g}, got {value:g}")
    if not strict and value < minimum:
        raise MarketError(field, f"must be >= {minimum:g}, got {value:g}")
    return float(value)


def require_positive_int(field: str, value: int) -> int:
    """An ``int`` ``>= 1`` (``bool`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MarketError(field, f"must be an integer, got {type(value).__name__}")
    if value < 1:
        raise MarketError(field, f"must be >= 1, got {value}")
    return value


def require_name(field: str, value: str) -> str:
    """A non-blank identifier (project, provider, job ...)."""
    if not isinstance(value, str) or not value.strip():
        raise MarketError(field, "must be a non-empty string")
    return value


def hours_between(start: datetime, end: datetime) -> float:
    """Length of ``[start, end)`` in hours (0 when ``end <= start``)."""
    if end <= start:
        return 0.0
    return (end - start) / _HOUR


def parse_enum(kind: type[E], field: str, value: object) -> E:
    """``value`` as a member of the string enum ``kind``; the error lists the valid values."""
    if isinstance(value, kind):
        return value
    valid = ", ".join(m.value for m in kind)
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    raise MarketError(field, f"{value!r} is not one of {valid}")
