"""Reservations: a project books units of an offer over a time window, at the offer's price now; the
worker honours the factory's as slices of its capacity. The rules — the offer's capacity over the
window, the factory's capacity across its offers, cancelling, which jobs may use a booking — are
:mod:`aifactory.market`'s; this module reads and writes the rows through :mod:`..store.market`.

A booking locks the offer (and, for the factory, the factory's provider row) before it reads the
bookings it checks against, so concurrent bookings never oversell; a cancel locks the reservation, so
of concurrent cancels exactly one succeeds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from aifactory.market import MarketError, book, cancel, check_pool, check_use
from aifactory.service.api.offers import busy_if_spot, price_now
from aifactory.service.api.schemas import (
    CONFLICT,
    ERRORS,
    MAX_INT,
    NOT_FOUND,
    PERIOD,
    Body,
    Instant,
    Out,
    Slug,
)
from aifactory.service.auth import AnyRole, Principal, existing_project, require
from aifactory.service.db.models import Reservation
from aifactory.service.deps import FactoryDep, NowDep, SessionDep
from aifactory.service.errors import Invalid, NotFound, from_market
from aifactory.service.store import market as store

router = APIRouter(prefix="/reservations", tags=["market"], responses=ERRORS)

ReservationState = Literal["booked", "cancelled"]


class ReservationIn(Body):
    offer_id: int = Field(ge=1, le=MAX_INT)
    project_id: Slug | None = Field(None, description="The project (a project token's own by default).")
    units: int = Field(ge=1, le=1_000_000)
    start_at: Instant = Field(examples=["2026-01-05T00:00:00Z"])
    end_at: Instant = Field(examples=["2026-01-06T00:00:00Z"])

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "offer_id": 1,
                    "units": 2,
                    "start_at": "2026-01-05T00:00:00Z",
                    "end_at": "2026-01-06T00:00:00Z",
                }
            ]
        }
    )

    @model_validator(mode="after")
    def _window(self) -> ReservationIn:
        if self.end_at <= self.start_at:
            raise ValueError("end_at: must be after start_at")
        return self


class ReservationOut(Out):
    id: int
    offer_id: int
    project_id: str
    units: int
    gpus: int
    start_at: datetime
    end_at: datetime
    price_per_gpu_hour: float
    state: str
    cost: float = Field(description="gpus × hours of the window × price per GPU-hour, to the cent.")
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, r: Reservation) -> ReservationOut:
        hours = (r.end_at - r.start_at).total_seconds() / 3600
        return cls(
            id=r.id,
            offer_id=r.offer_id,
            project_id=r.project_id,
            units=r.units,
            gpus=r.gpus,
            start_at=r.start_at,
            end_at=r.end_at,
            price_per_gpu_hour=r.price_per_gpu_hour,
            state=r.state,
            cost=round(r.gpus * hours * r.price_per_gpu_hour, 2),
            created_by=r.created_by,
            created_at=r.created_at,
        )


@router.post(
    "",
    response_model=ReservationOut,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Book units of an offer over a window (project admin or member for their project; operator)",
)
def book_reservation(
    body: ReservationIn,
    session: SessionDep,
    now: NowDep,
    factory: FactoryDep,
    principal: Annotated[Principal, Depends(require("project_admin", "project_member"))],
) -> ReservationOut:
    project_id = existing_project(session, principal, body.project_id)
    found = store.lock_offer(session, body.offer_id)  # held until the booking commits
    if found is None:
        raise Invalid(f"offer_id: no offer {body.offer_id}")
    offer, provider = found
    price = price_now(offer, provider, factory, busy_if_spot(session, offer, provider))
    existing = store.booked(session, offer.id, body.start_at, body.end_at)
    try:
        booking = book(
            store.offer_of(offer, price), existing, project_id, body.units, body.start_at, body.end_at, now
        )
        if provider.kind == store.FACTORY:  # every factory offer sells the same racks: their bookings add up
            held = store.factory_booked(session, body.start_at, body.end_at)
            check_pool(held, booking.gpus, factory.gpus, body.start_at, body.end_at, "the factory")
    except MarketError as exc:
        raise from_market(exc, PERIOD) from exc
    reservation = store.new_reservation_row(booking, created_by=principal.subject, at=now)
    session.add(reservation)
    session.commit()
    return ReservationOut.of(reservation)


def _visible(reservation: Reservation | None, reservation_id: int, principal: Principal) -> Reservation:
    if reservation is None or not principal.can_see_project(reservation.project_id):
        raise NotFound(f"reservation {reservation_id} not found")
    return reservation


@router.get("", response_model=list[ReservationOut], summary="List reservations (project roles: their own)")
def list_reservations(
    session: SessionDep,
    principal: AnyRole,
    project_id: Annotated[Slug | None, Query(description="Only this project's.")] = None,
    state: Annotated[ReservationState | None, Query()] = None,
    offer_id: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
) -> list[ReservationOut]:
    query = select(Reservation).order_by(Reservation.id)
    if project_id is not None:
        query = query.where(Reservation.project_id == project_id)
    if state is not None:
        query = query.where(Reservation.state == state)
    if offer_id is not None:
        query = query.where(Reservation.offer_id == offer_id)
    if not principal.reads_everything:
        query = query.where(Reservation.project_id == principal.project_id)
    return [ReservationOut.of(r) for r in session.scalars(query)]


@router.get(
    "/{reservation_id}", response_model=ReservationOut, responses=NOT_FOUND, summary="Show a reservation"
)
def get_reservation(
    reservation_id: Annotated[int, Path(ge=1, le=MAX_INT)], session: SessionDep, principal: AnyRole
) -> ReservationOut:
    return ReservationOut.of(_visible(session.get(Reservation, reservation_id), reservation_id, principal))


@router.post(
    "/{reservation_id}/cancel",
    response_model=ReservationOut,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Cancel a booked reservation (its jobs then wait; project admin or member; operator)",
)
def cancel_reservation(
    reservation_id: Annotated[int, Path(ge=1, le=MAX_INT)],
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("project_admin", "project_member"))],
) -> ReservationOut:
    row = _visible(store.lock_reservation(session, reservation_id), reservation_id, principal)
    try:
        cancelled = cancel(store.reservation_of(row))
    except MarketError as exc:
        raise from_market(exc) from exc
    row.state = cancelled.state.value
    session.commit()
    return ReservationOut.of(row)


def check_job_reservation(
    session: Session, reservation_id: int | None, project_id: str, gpus: int, now: datetime
) -> None:
    """422 naming ``reservation_id`` unless a job of ``project_id`` asking ``gpus`` GPUs may run on that
    reservation (:func:`aifactory.market.check_use`)."""
    if reservation_id is None:
        return
    row = session.get(Reservation, reservation_id)
    if row is None:
        raise Invalid(f"reservation_id: no reservation {reservation_id} for project {project_id!r}")
    on_factory = store.provider_kind_of_offer(session, row.offer_id) == store.FACTORY
    try:
        check_use(store.reservation_of(row), project_id, gpus, on_factory=on_factory, now=now)
    except MarketError as exc:
        raise from_market(exc) from exc
