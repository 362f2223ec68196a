"""The marketplace: providers (the factory and partner clouds) publish offers of GPU shapes; projects
search them and book reservations (units of an offer over a time window) that the worker honours.

The rules are :mod:`aifactory.market`'s (shapes, countries, the booking sweep, spot pricing); this module
reads and writes the rows. A booking checks capacity and inserts in one transaction holding a lock on
the offer (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite a write to the offer's row takes the
database's single write lock first), so concurrent bookings never oversell an offer. The factory's
offers all sell the same racks: its bookings together never hold more GPUs at once than it can
schedule, so every reservation the worker honours is a slice it can really guarantee.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import AwareDatetime, ConfigDict, Field, model_validator
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from aifactory.cluster.topology import Topology
from aifactory.market import (
    MarketError,
    OfferKind,
    booked_units_peak,
    check_booking,
    parse_country,
    parse_shape,
    search,
)
from aifactory.market import Offer as DomainOffer
from aifactory.market import Reservation as DomainReservation
from aifactory.service.api.schemas import CONFLICT, ERRORS, MAX_INT, NOT_FOUND, Body, Name, Out, Slug
from aifactory.service.auth import AnyRole, Principal, require
from aifactory.service.db.models import Offer, Project, Provider, Reservation
from aifactory.service.deps import NowDep, SessionDep, SettingsDep
from aifactory.service.errors import Conflict, Invalid, NotFound
from aifactory.service.market_sync import busy_gpus, spot_price_now
from aifactory.service.settings import Settings

FACTORY_MODEL = "gb300"  # the factory's racks are GB300 NVL72

ProviderKind = Literal["factory", "partner"]
OfferKindName = Literal["on_demand", "reserved", "spot"]
ReservationState = Literal["booked", "cancelled"]
Price = Annotated[float, Field(ge=0, le=1e6, description="Price per GPU-hour.", examples=[2.5])]
Country = Annotated[
    str, Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2.", examples=["TW"])
]

providers = APIRouter(prefix="/providers", tags=["market"], responses=ERRORS)
offers = APIRouter(prefix="/offers", tags=["market"], responses=ERRORS)
reservations = APIRouter(prefix="/reservations", tags=["market"], responses=ERRORS)
router = APIRouter()


def market_rule(exc: MarketError) -> Invalid:
    """A market rule's error as a 422 (its message already starts with the field)."""
    return Invalid(str(exc))


# ------------------------------------------------------------------------------------------ providers


class ProviderIn(Body):
    id: Slug
    name: Name
    country: Country
    kind: ProviderKind = "partner"

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": "acme-tw", "name": "ACME Cloud", "country": "TW", "kind": "partner"}]
        }
    )

    @model_validator(mode="after")
    def _country(self) -> ProviderIn:
        self.country = parse_country(self.country)
        return self


class ProviderOut(Out):
    id: str
    name: str
    country: str
    kind: str


@providers.get("", response_model=list[ProviderOut], summary="List providers")
def list_providers(session: SessionDep, _: AnyRole) -> list[Provider]:
    return list(session.scalars(select(Provider).order_by(Provider.id)))


@providers.post(
    "",
    response_model=ProviderOut,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Add a provider (operator)",
)
def create_provider(
    body: ProviderIn, session: SessionDep, _: Annotated[Principal, Depends(require())]
) -> Provider:
    if session.get(Provider, body.id) is not None:
        raise Conflict(f"id: provider {body.id!r} exists")
    provider = Provider(id=body.id, name=body.name, country=body.country, kind=body.kind)
    session.add(provider)
    session.commit()
    return provider


# --------------------------------------------------------------------------------------------- offers


class OfferIn(Body):
    provider_id: Slug
    shape: str = Field(
        max_length=32, description="gpu.<N>x<model>, e.g. gpu.4xgb300.", examples=["gpu.4xgb300"]
    )
    price_per_gpu_hour: Price
    kind: OfferKindName
    units: int = Field(ge=1, le=1_000_000, description="Units of the shape on sale at once.")
    available_from: AwareDatetime = Field(examples=["2026-01-01T00:00:00Z"])
    available_until: AwareDatetime | None = Field(None, description="Open-ended when not given.")
    country: Country | None = Field(None, description="The provider's country by default.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "provider_id": "factory",
                    "shape": "gpu.4xgb300",
                    "price_per_gpu_hour": 3.2,
                    "kind": "reserved",
                    "units": 18,
                    "available_from": "2026-01-01T00:00:00Z",
                }
            ]
        }
    )

    @model_validator(mode="after")
    def _rules(self) -> OfferIn:
        self.shape = parse_shape(self.shape).name
        if self.country is not None:
            self.country = parse_country(self.country)
        if self.available_until is not None and self.available_until <= self.available_from:
            raise ValueError("available_until: must be after available_from")
        return self


class OfferOut(Out):
    id: int
    provider_id: str
    provider_name: str
    provider_kind: str
    shape: str
    gpus_per_unit: int
    country: str
    price_per_gpu_hour: float = Field(description="For the factory's spot offers: the price now.")
    base_price_per_gpu_hour: float = Field(description="The listed price (spot: before the idle discount).")
    kind: str
    units: int
    available_from: datetime
    available_until: datetime | None
    active: bool


class AvailabilityOut(Out):
    offer_id: int
    units: int
    units_free: int
    start_at: datetime
    end_at: datetime


def _price_now(offer: Offer, provider: Provider, settings: Settings, busy: int | None) -> float:
    if busy is None or offer.kind != "spot" or provider.kind != "factory":
        return offer.price_per_gpu_hour
    return spot_price_now(offer.price_per_gpu_hour, settings.racks * settings.rack_gpus, busy)


def _offer_out(offer: Offer, provider: Provider, price: float) -> OfferOut:
    return OfferOut(
        id=offer.id,
        provider_id=offer.provider_id,
        provider_name=provider.name,
        provider_kind=provider.kind,
        shape=offer.shape,
        gpus_per_unit=offer.gpus_per_unit,
        country=offer.country,
        price_per_gpu_hour=price,
        base_price_per_gpu_hour=offer.price_per_gpu_hour,
        kind=offer.kind,
        units=offer.units,
        available_from=offer.available_from,
        available_until=offer.available_until,
        active=offer.active,
    )


def domain_offer(offer: Offer, price: float | None = None) -> DomainOffer:
    """The row as :class:`aifactory.market.Offer` (optionally at another price, e.g. spot now)."""
    return DomainOffer(
        id=offer.id,
        provider=offer.provider_id,
        shape=parse_shape(offer.shape),
        country=offer.country,
        price_per_gpu_hour=offer.price_per_gpu_hour if price is None else price,
        kind=OfferKind(offer.kind),
        units=offer.units,
        available_from=offer.available_from,
        available_until=offer.available_until,
        active=offer.active,
    )


def _booked(session: Session, offer_id: int, start: datetime, end: datetime) -> list[DomainReservation]:
    """The offer's booked reservations overlapping ``[start, end)``."""
    rows = session.scalars(
        select(Reservation)
        .where(Reservation.offer_id == offer_id, Reservation.state == "booked")
        .where(Reservation.start_at < end, Reservation.end_at > start)
    )
    return [
        DomainReservation(
            offer_id=r.offer_id,
            project=r.project_id,
            units=r.units,
            gpus=r.gpus,
            start=r.start_at,
            end=r.end_at,
            price_per_gpu_hour=r.price_per_gpu_hour,
        )
        for r in rows
    ]


@offers.post(
    "", response_model=OfferOut, status_code=status.HTTP_201_CREATED, summary="Publish an offer (operator)"
)
def publish_offer(
    body: OfferIn, session: SessionDep, now: NowDep, _: Annotated[Principal, Depends(require())]
) -> OfferOut:
    provider = session.get(Provider, body.provider_id)
    if provider is None:
        raise Invalid(f"provider_id: no provider {body.provider_id!r}")
    shape = parse_shape(body.shape)
    if provider.kind == "factory" and shape.model != FACTORY_MODEL:
        raise Invalid(f"shape: the factory's racks are {FACTORY_MODEL}; {shape.name} is not its capacity")
    offer = Offer(
        provider_id=provider.id,
        shape=shape.name,
        gpus_per_unit=shape.gpus,
        country=body.country or provider.country,
        price_per_gpu_hour=body.price_per_gpu_hour,
        kind=body.kind,
        units=body.units,
        available_from=body.available_from,
        available_until=body.available_until,
        active=True,
        created_at=now,
    )
    session.add(offer)
    session.commit()
    return _offer_out(offer, provider, offer.price_per_gpu_hour)


@offers.get("", response_model=list[OfferOut], summary="Search current offers, cheapest first")
def search_offers(
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    _: AnyRole,
    shape: Annotated[str | None, Query(max_length=32, description="Exactly this shape.")] = None,
    country: Annotated[str | None, Query(max_length=2, description="ISO 3166-1 alpha-2.")] = None,
    max_price: Annotated[
        float | None, Query(ge=0, le=1e6, description="At most this per GPU-hour (now).")
    ] = None,
    kind: Annotated[OfferKindName | None, Query()] = None,
    provider_id: Annotated[Slug | None, Query()] = None,
) -> list[OfferOut]:
    try:
        want_shape = None if shape is None else parse_shape(shape)
        want_country = None if country is None else parse_country(country)
    except MarketError as exc:
        raise market_rule(exc) from exc
    query = (
        select(Offer, Provider)
        .join(Provider, Provider.id == Offer.provider_id)
        .where(Offer.active.is_(True))
        .where(Offer.available_until.is_(None) | (Offer.available_until > now))  # not sold out of time
    )
    if provider_id is not None:
        query = query.where(Offer.provider_id == provider_id)
    rows = session.execute(query).all()
    spot_factory = any(o.kind == "spot" and p.kind == "factory" for o, p in rows)
    busy = busy_gpus(session) if spot_factory else None
    priced = {o.id: (o, p, _price_now(o, p, settings, busy)) for o, p in rows}
    found = search(
        (domain_offer(o, price) for o, _, price in priced.values()),
        shape=want_shape,
        country=want_country,
        max_price=max_price,
        kind=kind,
    )
    return [_offer_out(*priced[d.id]) for d in found]


def _offer(session: Session, offer_id: int) -> tuple[Offer, Provider]:
    offer = session.get(Offer, offer_id)
    if offer is None:
        raise NotFound(f"offer {offer_id} not found")
    provider = session.get(Provider, offer.provider_id)
    assert provider is not None
    return offer, provider


@offers.get("/{offer_id}", response_model=OfferOut, responses=NOT_FOUND, summary="Show an offer")
def get_offer(
    offer_id: Annotated[int, Path(ge=1, le=MAX_INT)], session: SessionDep, settings: SettingsDep, _: AnyRole
) -> OfferOut:
    offer, provider = _offer(session, offer_id)
    busy = busy_gpus(session) if offer.kind == "spot" and provider.kind == "factory" else None
    return _offer_out(offer, provider, _price_now(offer, provider, settings, busy))


@offers.get(
    "/{offer_id}/availability",
    response_model=AvailabilityOut,
    responses=NOT_FOUND,
    summary="Units of an offer free throughout a window (peak of the bookings overlapping it)",
)
def offer_availability(
    offer_id: Annotated[int, Path(ge=1, le=MAX_INT)],
    start_at: Annotated[AwareDatetime, Query(examples=["2026-01-05T00:00:00Z"])],
    end_at: Annotated[AwareDatetime, Query(examples=["2026-01-06T00:00:00Z"])],
    session: SessionDep,
    _: AnyRole,
) -> AvailabilityOut:
    if end_at <= start_at:
        raise Invalid("end_at: must be after start_at")
    offer, _provider = _offer(session, offer_id)
    peak, _when = booked_units_peak(_booked(session, offer.id, start_at, end_at), start_at, end_at)
    available = offer.active and domain_offer(offer).available_during(start_at, end_at)
    free = max(offer.units - peak, 0) if available else 0
    return AvailabilityOut(
        offer_id=offer.id, units=offer.units, units_free=free, start_at=start_at, end_at=end_at
    )


# --------------------------------------------------------------------------------------- reservations


class ReservationIn(Body):
    offer_id: int = Field(ge=1, le=MAX_INT)
    project_id: Slug | None = Field(None, description="The project (a project token's own by default).")
    units: int = Field(ge=1, le=1_000_000)
    start_at: AwareDatetime = Field(examples=["2026-01-05T00:00:00Z"])
    end_at: AwareDatetime = Field(examples=["2026-01-06T00:00:00Z"])

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


def _lock_offer(session: Session, offer_id: int) -> Offer | None:
    """The offer, locked with its provider until the transaction ends: concurrent bookings of the
    offer — and, for the factory, of any of its offers, which sell the same racks — queue up here."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has one writer at a time: writing first takes that lock before anything is read
        session.execute(update(Offer).where(Offer.id == offer_id).values(units=Offer.units))
    found = session.execute(
        select(Offer, Provider)
        .join(Provider, Provider.id == Offer.provider_id)
        .where(Offer.id == offer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    return None if found is None else found[0]


def factory_gpus(settings: Settings) -> int:
    """GPUs the factory can schedule (spare trays left out): what its reservations may hold at once."""
    topology = Topology.build(
        settings.racks,
        rack_gpus=settings.rack_gpus,
        schedulable_trays=settings.schedulable_trays,
        block_racks=settings.block_racks,
    )
    return int(topology.gpus)


def _factory_reserved_peak(session: Session, start: datetime, end: datetime) -> int:
    """The most GPUs the factory's booked reservations (of every offer) hold at once in ``[start, end)``."""
    rows = session.execute(
        select(Reservation.gpus, Reservation.start_at, Reservation.end_at)
        .join(Offer, Offer.id == Reservation.offer_id)
        .join(Provider, Provider.id == Offer.provider_id)
        .where(Provider.kind == "factory", Reservation.state == "booked")
        .where(Reservation.start_at < end, Reservation.end_at > start)
    ).all()
    as_gpus = [  # one "unit" per GPU: the sweep then counts GPUs across offers of different shapes
        DomainReservation(
            offer_id=0, project="factory", units=g, gpus=g, start=a, end=b, price_per_gpu_hour=0.0
        )
        for g, a, b in rows
    ]
    return booked_units_peak(as_gpus, start, end)[0]


@reservations.post(
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
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require("project_admin", "project_member"))],
) -> ReservationOut:
    project_id = body.project_id or principal.project_id
    if project_id is None:
        raise Invalid("project_id: required for an operator token")
    principal.acts_for(project_id)
    if session.get(Project, project_id) is None:
        raise Invalid(f"project_id: no project {project_id!r}")
    if body.end_at <= now:
        raise Invalid(f"end_at: the window ended at {body.end_at.isoformat()}, before now")
    session.commit()  # end the read transaction: the booking's own starts with the lock
    offer = _lock_offer(session, body.offer_id)
    if offer is None:
        raise Invalid(f"offer_id: no offer {body.offer_id}")
    provider = session.get(Provider, offer.provider_id)
    assert provider is not None
    busy = busy_gpus(session) if offer.kind == "spot" and provider.kind == "factory" else None
    price = _price_now(offer, provider, settings, busy)
    existing = _booked(session, offer.id, body.start_at, body.end_at)
    try:
        check_booking(domain_offer(offer), existing, body.units, body.start_at, body.end_at)
    except MarketError as exc:
        message = str(exc)
        if message.startswith("units: booking"):
            peak, _when = booked_units_peak(existing, body.start_at, body.end_at)
            raise Conflict(
                f"units: only {max(offer.units - peak, 0)} of offer {offer.id} free in that window, "
                f"{body.units} asked"
            ) from exc
        if message.startswith("start:"):
            message = "start_at" + message.removeprefix("start")
        elif message.startswith("end:"):
            message = "end_at" + message.removeprefix("end")
        raise Invalid(message) from exc
    gpus = body.units * offer.gpus_per_unit
    if provider.kind == "factory":  # every factory offer sells the same racks: their bookings add up
        capacity = factory_gpus(settings)
        left = capacity - _factory_reserved_peak(session, body.start_at, body.end_at)
        if gpus > left:
            raise Conflict(
                f"units: the factory has {max(left, 0)} of its {capacity} GPUs left to reserve in that "
                f"window, {gpus} asked"
            )
    reservation = Reservation(
        offer_id=offer.id,
        project_id=project_id,
        units=body.units,
        gpus=gpus,
        start_at=body.start_at,
        end_at=body.end_at,
        price_per_gpu_hour=price,
        state="booked",
        created_by=principal.subject,
        created_at=now,
    )
    session.add(reservation)
    session.commit()
    return ReservationOut.of(reservation)


def _visible_reservation(session: Session, reservation_id: int, principal: Principal) -> Reservation:
    reservation = session.get(Reservation, reservation_id)
    if reservation is None or not principal.can_see_project(reservation.project_id):
        raise NotFound(f"reservation {reservation_id} not found")
    return reservation


@reservations.get(
    "", response_model=list[ReservationOut], summary="List reservations (project roles: their own)"
)
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


@reservations.get(
    "/{reservation_id}", response_model=ReservationOut, responses=NOT_FOUND, summary="Show a reservation"
)
def get_reservation(
    reservation_id: Annotated[int, Path(ge=1, le=MAX_INT)], session: SessionDep, principal: AnyRole
) -> ReservationOut:
    return ReservationOut.of(_visible_reservation(session, reservation_id, principal))


@reservations.post(
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
    reservation = _visible_reservation(session, reservation_id, principal)
    if reservation.state != "booked":
        raise Conflict(f"state: reservation {reservation_id} is {reservation.state}")
    reservation.state = "cancelled"
    session.commit()
    return ReservationOut.of(reservation)


# ------------------------------------------------------------------------------------ jobs' reservations


def check_job_reservation(session: Session, reservation_id: int | None, project_id: str, gpus: int) -> None:
    """422 naming ``reservation_id`` unless the job may run on that reservation: the job's project's,
    booked, on the factory's own capacity, with at least the job's GPUs."""
    if reservation_id is None:
        return
    reservation = session.get(Reservation, reservation_id)
    if reservation is None or reservation.project_id != project_id:
        raise Invalid(f"reservation_id: no reservation {reservation_id} for project {project_id!r}")
    if reservation.state != "booked":
        raise Invalid(f"reservation_id: reservation {reservation_id} is {reservation.state}")
    provider_kind = session.scalar(
        select(Provider.kind)
        .join(Offer, Offer.provider_id == Provider.id)
        .where(Offer.id == reservation.offer_id)
    )
    if provider_kind != "factory":
        raise Invalid(
            f"reservation_id: reservation {reservation_id} is on a partner's offer, not the factory's"
        )
    if gpus > reservation.gpus:
        raise Invalid(
            f"reservation_id: reservation {reservation_id} holds {reservation.gpus} GPUs, the job asks {gpus}"
        )


for _sub in (providers, offers, reservations):
    router.include_router(_sub)
