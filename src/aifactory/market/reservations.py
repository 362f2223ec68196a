"""Reservations: a project books units of an offer for a window, at the offer's price of the day.

A booking must lie inside the offer's availability, and at no instant may the units booked on the
offer (the existing reservations overlapping the window plus the new one) exceed the offer's
``units``. Windows are half-open ``[start, end)``: one reservation ending when another starts does not
overlap it. The check is exact: a sweep over the window's endpoints, not sampling.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aifactory.market.errors import (
    ErrorKind,
    MarketError,
    parse_enum,
    require_aware,
    require_finite,
    require_name,
    require_period,
    require_positive_int,
)
from aifactory.market.offers import Offer


class ReservationState(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


@dataclass(frozen=True, kw_only=True)
class Reservation:
    """``units`` units (``gpus`` GPUs) of offer ``offer_id`` held by ``project`` over ``[start, end)``.

    ``price_per_gpu_hour`` is locked at booking. Callers pass only reservations still booked to the
    capacity checks (cancelled ones hold nothing).
    """

    offer_id: int
    project: str
    units: int
    gpus: int
    start: datetime
    end: datetime
    price_per_gpu_hour: float
    state: ReservationState = ReservationState.BOOKED
    id: int | None = None  # the store's id, once stored (named in errors)

    def __post_init__(self) -> None:
        require_name("project", self.project)
        require_positive_int("units", self.units)
        require_positive_int("gpus", self.gpus)
        if self.gpus % self.units:
            raise MarketError("gpus", f"must be a multiple of units ({self.units}), got {self.gpus}")
        require_period("start", self.start, "end", self.end)
        require_finite("price_per_gpu_hour", self.price_per_gpu_hour)
        if not isinstance(self.state, ReservationState):
            object.__setattr__(self, "state", parse_enum(ReservationState, "state", self.state))

    @property
    def name(self) -> str:
        return "the reservation" if self.id is None else f"reservation {self.id}"


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
        raise MarketError("offer_id", f"offer {offer.id} is not active")
    if units > offer.units:
        raise MarketError("units", f"offer {offer.id} has {offer.units} unit(s) in all, {units} asked")
    if start < offer.available_from:
        raise MarketError(
            "start",
            f"{start.isoformat()} is before offer {offer.id} is available "
            f"({offer.available_from.isoformat()})",
        )
    if offer.available_until is not None and end > offer.available_until:
        raise MarketError(
            "end",
            f"{end.isoformat()} is after offer {offer.id} stops being available "
            f"({offer.available_until.isoformat()})",
        )
    mine = [r for r in existing_reservations if r.offer_id == offer.id]
    # Sweep the existing ones clipped to the window; the new booking adds `units` throughout it, so the
    # first step whose load exceeds offer.units - units is the first instant that would overflow.
    steps = _load_steps(mine, start, end)
    over = next(((t, load) for t, load in steps if load + units > offer.units), None)
    if over is not None:
        t, load = over
        peak = max(load for _, load in steps)
        raise MarketError(
            "units",
            f"only {max(offer.units - peak, 0)} of offer {offer.id} free in that window, {units} asked "
            f"(booking them would put {load + units} unit(s) in use at {t.isoformat()}, {load} already "
            f"booked then, over the offer's {offer.units})",
            kind=ErrorKind.CONFLICT,
            object=f"offer {offer.id}",
        )


def check_pool(
    held: Iterable[Reservation], gpus: int, capacity: int, start: datetime, end: datetime, pool: str
) -> None:
    """Raise ``MarketError`` (a conflict) unless ``gpus`` more GPUs fit ``pool`` throughout
    ``[start, end)``: its booked reservations (of every offer that sells the same racks — the factory's)
    may never hold more than ``capacity`` GPUs at once."""
    require_period("start", start, "end", end)
    as_gpus = [dataclasses.replace(r, offer_id=0, units=r.gpus) for r in held]  # one unit per GPU
    peak, _ = booked_units_peak(as_gpus, start, end)
    left = capacity - peak
    if gpus > left:
        raise MarketError(
            "units",
            f"{pool} has {max(left, 0)} of its {capacity} GPUs left to reserve in that window, {gpus} asked",
            kind=ErrorKind.CONFLICT,
            object=pool,
        )


def book(
    offer: Offer,
    existing_reservations: Iterable[Reservation],
    project: str,
    units: int,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
) -> Reservation:
    """Check the booking and return the reservation, its price locked at the offer's current price
    (``offer`` as priced now: a spot offer's price follows idle capacity). A window that has already
    ended at ``now`` is refused."""
    if now is not None:
        require_aware("now", now)
        require_aware("end", end)
        if end <= now:
            raise MarketError("end", f"the window ended at {end.isoformat()}, before now")
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


def cancel(reservation: Reservation) -> Reservation:
    """The booking cancelled: it holds nothing from now on (its jobs wait). Only a booked one can be."""
    if reservation.state is not ReservationState.BOOKED:
        raise MarketError(
            "state",
            f"{reservation.name} is {reservation.state}",
            kind=ErrorKind.CONFLICT,
            object=reservation.name,
        )
    return dataclasses.replace(reservation, state=ReservationState.CANCELLED)


def check_use(
    reservation: Reservation, project: str, gpus: int, *, on_factory: bool, now: datetime | None = None
) -> None:
    """Raise ``MarketError`` (on ``reservation_id``) unless a job of ``project`` asking ``gpus`` GPUs may
    run on the reservation: the project's own, booked, not ended at ``now``, on the factory's capacity (a
    partner's offer is used on the partner's cloud), and holding at least the job's GPUs."""
    name = reservation.name
    if reservation.project != project:
        raise MarketError("reservation_id", f"no {name} for project {project!r}")
    if reservation.state is not ReservationState.BOOKED:
        raise MarketError("reservation_id", f"{name} is {reservation.state}")
    if now is not None and reservation.end <= now:
        ended = reservation.end.isoformat()
        raise MarketError("reservation_id", f"{name} ended at {ended}: a job on it could never run")
    if not on_factory:
        raise MarketError("reservation_id", f"{name} is on a partner's offer, not the factory's")
    if gpus > reservation.gpus:
        raise MarketError("reservation_id", f"{name} holds {reservation.gpus} GPUs, the job asks {gpus}")
