"""Offer and reservation rows as :mod:`aifactory.market` objects and back, and the marketplace's
queries: an offer's bookings over a window, the factory's bookings across its offers, busy GPUs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aifactory.market import Offer, OfferKind, Reservation, ReservationState, parse_shape
from aifactory.service.db.models import Offer as OfferRow
from aifactory.service.db.models import Provider as ProviderRow
from aifactory.service.db.models import Reservation as ReservationRow
from aifactory.service.store.locks import locked

FACTORY = "factory"  # the provider kind of the factory's own capacity


def offer_of(row: OfferRow, price: float | None = None) -> Offer:
    """The row as :class:`aifactory.market.Offer` (optionally at another price, e.g. spot now)."""
    return Offer(
        id=row.id,
        provider=row.provider_id,
        shape=parse_shape(row.shape),
        country=row.country,
        price_per_gpu_hour=row.price_per_gpu_hour if price is None else price,
        kind=OfferKind(row.kind),
        units=row.units,
        available_from=row.available_from,
        available_until=row.available_until,
        active=row.active,
    )


def reservation_of(row: ReservationRow) -> Reservation:
    return Reservation(
        id=row.id,
        offer_id=row.offer_id,
        project=row.project_id,
        units=row.units,
        gpus=row.gpus,
        start=row.start_at,
        end=row.end_at,
        price_per_gpu_hour=row.price_per_gpu_hour,
        state=ReservationState(row.state),
    )


def new_reservation_row(reservation: Reservation, *, created_by: str, at: datetime) -> ReservationRow:
    return ReservationRow(
        offer_id=reservation.offer_id,
        project_id=reservation.project,
        units=reservation.units,
        gpus=reservation.gpus,
        start_at=reservation.start,
        end_at=reservation.end,
        price_per_gpu_hour=reservation.price_per_gpu_hour,
        state=reservation.state.value,
        created_by=created_by,
        created_at=at,
    )


def lock_offer(session: Session, offer_id: int) -> tuple[OfferRow, ProviderRow] | None:
    """The offer and its provider, the offer locked until the transaction ends: concurrent bookings of
    the offer queue up here. A factory offer locks the factory's provider row too — every factory
    offer sells the same racks, so their bookings must queue one after the other."""
    offer = locked(session, OfferRow, offer_id)
    if offer is None:
        return None
    provider = session.get(ProviderRow, offer.provider_id)
    assert provider is not None
    if provider.kind == FACTORY:
        provider = locked(session, ProviderRow, provider.id)
        assert provider is not None
    return offer, provider


def lock_reservation(session: Session, reservation_id: int) -> ReservationRow | None:
    return locked(session, ReservationRow, reservation_id)


def booked(session: Session, offer_id: int, start: datetime, end: datetime) -> list[Reservation]:
    """The offer's booked reservations overlapping ``[start, end)``."""
    rows = session.scalars(
        select(ReservationRow)
        .where(ReservationRow.offer_id == offer_id, ReservationRow.state == ReservationState.BOOKED)
        .where(ReservationRow.start_at < end, ReservationRow.end_at > start)
    )
    return [reservation_of(r) for r in rows]


def factory_booked(session: Session, start: datetime, end: datetime) -> list[Reservation]:
    """The factory's booked reservations, of every one of its offers, overlapping ``[start, end)``."""
    rows = session.scalars(
        select(ReservationRow)
        .join(OfferRow, OfferRow.id == ReservationRow.offer_id)
        .join(ProviderRow, ProviderRow.id == OfferRow.provider_id)
        .where(ProviderRow.kind == FACTORY, ReservationRow.state == ReservationState.BOOKED)
        .where(ReservationRow.start_at < end, ReservationRow.end_at > start)
    )
    return [reservation_of(r) for r in rows]


def offer_with_provider(session: Session, offer_id: int) -> tuple[OfferRow, ProviderRow] | None:
    offer = session.get(OfferRow, offer_id)
    if offer is None:
        return None
    provider = session.get(ProviderRow, offer.provider_id)
    assert provider is not None
    return offer, provider


def current_offers(
    session: Session, now: datetime, provider_id: str | None = None
) -> Sequence[tuple[OfferRow, ProviderRow]]:
    """Active offers not sold out of time at ``now`` (optionally one provider's), with their providers."""
    query = (
        select(OfferRow, ProviderRow)
        .join(ProviderRow, ProviderRow.id == OfferRow.provider_id)
        .where(OfferRow.active.is_(True))
        .where(OfferRow.available_until.is_(None) | (OfferRow.available_until > now))
    )
    if provider_id is not None:
        query = query.where(OfferRow.provider_id == provider_id)
    return [(o, p) for o, p in session.execute(query).all()]


def provider_kind_of_offer(session: Session, offer_id: int) -> str | None:
    return session.scalar(
        select(ProviderRow.kind)
        .join(OfferRow, OfferRow.provider_id == ProviderRow.id)
        .where(OfferRow.id == offer_id)
    )
