"""Reservations: a project books units of an offer for a window, at the offer's price of the day.

A booking must lie inside the offer's availability, and at no instant may the units booked on the
offer (the existing reservations overlapping the window plus the new one) exceed the offer's
``units``. Windows are half-open ``[start, end)``: one reservation ending when another starts does not
overlap it. The check is exact: a sweep over the window's endpoints, not sampling.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from aifactory.market.errors import (
    MarketError,
    require_aware,
    require_finite,
    require_name,
    require_period,
    require_positive_int,
)
from aifactory.market.offers import Offer


@dataclass(frozen=True, kw_only=True)
class Reservation:
    """``units`` units (``gpus`` GPUs) of offer ``offer_id`` held by ``project`` over ``[start, end)``.

    ``price_per_gpu_hour`` is locked at booking. Callers pass only reservations still booked
    (cancelled ones hold nothing).
    """

    offer_id: int
    project: str
    units: int
    gpus: int
    start: datetime
    end: datetime
    price_per_gpu_hour: float

    def __post_init__(self) -> None:
        require_name("project", self.project)
        require_positive_int("units", self.units)
        require_positive_int("gpus", self.gpus)
        if self.gpus % self.units:
            raise MarketError(f"gpus: must be a multiple of units ({self.units}), got {self.gpus}")
        require_period("start", self.start, "end", self.end)
        require_finite("price_per_gpu_hour", self.price_per_gpu_hour)


def _load_steps(
    reservations: Iterable[Reservation], start: datetime, end: datetime
) -> list[tuple[datetime, int]]:
    """``(instant, units held from then on)`` after each endpoint of the reservations clipped to the window.

    Each clipped reservation adds its units at its start and gives them back at its end; at equal
    instants the releases come first (windows are half-open), so no step overstates the load.
    """
    events: list[tuple[datetime, int]] = []
    for r in reservations:
        lo, hi = max(r.start, start), min(r.end, end)
        if lo < hi:
            events.append((lo, r.units))
            events.append((hi, -r.units))
    events.sort(key=lambda e: (e[0], e[1]))
    steps: list[tuple[datetime, int]] = []
    load = 0
    for t, delta in events:
        load += delta
        steps.append((t, load))
    return steps


def booked_units_peak(
    reservations: Iterable[Reservation], start: datetime, end: datetime
) -> tuple[int, datetime | None]:
    """The most units held at once within ``[start, end)`` and the first instant it is reached.

    ``(0, None)`` when nothing overlaps the window.
    """
    peak, when = 0, None
    for t, load in _load_steps(reservations, start, end):
        if load > peak:
            peak, when = load, t
    return peak, when


def check_booking(
    offer: Offer, existing_reservations: Iterable[Reservation], units: int, start: datetime, end: datetime
) -> None:
    """Raise ``MarketError`` unless ``units`` units of ``offer`` can be booked over ``[start, end)``.

    Only existing reservations of this offer count. The error names the first instant where the
    units in use would exceed the offer's capacity.
    """
    require_positive_int("units", units)
    require_period("start", start, "end", end)
    if not offer.active:
        raise MarketError(f"offer_id: offer {offer.id} is not active")
    if units > offer.units:
        raise MarketError(f"units: offer {offer.id} has {offer.units} unit(s) in all, {units} asked")
    if start < offer.available_from:
        raise MarketError(
            f"start: {start.isoformat()} is before offer {offer.id} is available "
            f"({offer.available_from.isoformat()})"
        )
    if offer.available_until is not None and end > offer.available_until:
        raise MarketError(
            f"end: {end.isoformat()} is after offer {offer.id} stops being available "
            f"({offer.available_until.isoformat()})"
        )
    mine = [r for r in existing_reservations if r.offer_id == offer.id]
    # Sweep the existing ones clipped to the window; the new booking adds `units` throughout it, so the
    # first step whose load exceeds offer.units - units is the first instant that would overflow.
    for t, load in _load_steps(mine, start, end):
        if load + units > offer.units:
            raise MarketError(
                f"units: booking {units} unit(s) of offer {offer.id} from {start.isoformat()} to "
                f"{end.isoformat()} would put {load + units} unit(s) in use at {t.isoformat()} "
                f"({load} already booked then), over the offer's {offer.units}"
            )


def book(
    offer: Offer,
    existing_reservations: Iterable[Reservation],
    project: str,
    units: int,
    start: datetime,
    end: datetime,
) -> Reservation:
    """Check the booking and return the reservation, its price locked at the offer's current price."""
    check_booking(offer, existing_reservations, units, start, end)
    return Reservation(
        offer_id=offer.id,
        project=project,
        units=units,
        gpus=units * offer.gpus_per_unit,
        start=start,
        end=end,
        price_per_gpu_hour=offer.price_per_gpu_hour,
    )


def reserved_gpus_at(reservations: Iterable[Reservation], t: datetime) -> int:
    """GPUs held at instant ``t`` (a reservation holds them for ``start <= t < end``)."""
    require_aware("t", t)
    return sum(r.gpus for r in reservations if r.start <= t < r.end)
