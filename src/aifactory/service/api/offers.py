"""Offers: providers publish GPU shapes at a price (on demand, reserved, spot); projects search them,
cheapest first, and ask how many units are free over a window. The factory's spot offers are priced
from its idle capacity now (:func:`aifactory.market.spot_price`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from aifactory.cluster.topology import Topology
from aifactory.market import MarketError, booked_units_peak, parse_country, parse_shape, search
from aifactory.service.api.schemas import (
    COUNTRY_PATTERN,
    ERRORS,
    MAX_INT,
    NOT_FOUND,
    Body,
    Country,
    Instant,
    Out,
    Price,
    Slug,
)
from aifactory.service.auth import AnyRole, Principal, require
from aifactory.service.db.models import Offer, Provider
from aifactory.service.deps import FactoryDep, NowDep, SessionDep
from aifactory.service.errors import Invalid, NotFound, from_market
from aifactory.service.market_sync import busy_gpus, spot_price_now
from aifactory.service.store import market as store

router = APIRouter(prefix="/offers", tags=["market"], responses=ERRORS)

OfferKindName = Literal["on_demand", "reserved", "spot"]


class OfferIn(Body):
    provider_id: Slug
    shape: str = Field(
        max_length=32, description="gpu.<N>x<model>, e.g. gpu.4xgb300.", examples=["gpu.4xgb300"]
    )
    price_per_gpu_hour: Price
    kind: OfferKindName
    units: int = Field(ge=1, le=1_000_000, description="Units of the shape on sale at once.")
    available_from: Instant = Field(examples=["2026-01-01T00:00:00Z"])
    available_until: Instant | None = Field(None, description="Open-ended when not given.")
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


def price_now(offer: Offer, provider: Provider, factory: Topology, busy: int | None) -> float:
    """The offer's price per GPU-hour now: the factory's spot offers follow its idle GPUs (``busy``)."""
    if busy is None or offer.kind != "spot" or provider.kind != store.FACTORY:
        return offer.price_per_gpu_hour
    return spot_price_now(offer.price_per_gpu_hour, factory.racks * factory.rack.gpus, busy)


def busy_if_spot(session: Session, offer: Offer, provider: Provider) -> int | None:
    """Busy GPUs now, read only when the offer's price depends on them."""
    return busy_gpus(session) if offer.kind == "spot" and provider.kind == store.FACTORY else None


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


@router.post(
    "", response_model=OfferOut, status_code=status.HTTP_201_CREATED, summary="Publish an offer (operator)"
)
def publish_offer(
    body: OfferIn,
    session: SessionDep,
    now: NowDep,
    factory: FactoryDep,
    _: Annotated[Principal, Depends(require())],
) -> OfferOut:
    provider = session.get(Provider, body.provider_id)
    if provider is None:
        raise Invalid(f"provider_id: no provider {body.provider_id!r}")
    shape = parse_shape(body.shape)
    model = factory.rack.gpu_model
    if provider.kind == store.FACTORY and shape.model != model:
        raise Invalid(f"shape: the factory's racks are {model}; {shape.name} is not its capacity")
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


@router.get("", response_model=list[OfferOut], summary="Search current offers, cheapest first")
def search_offers(
    session: SessionDep,
    now: NowDep,
    factory: FactoryDep,
    _: AnyRole,
    shape: Annotated[str | None, Query(max_length=32, description="Exactly this shape.")] = None,
    country: Annotated[
        str | None, Query(max_length=2, pattern=COUNTRY_PATTERN, description="ISO 3166-1 alpha-2.")
    ] = None,
    max_price: Annotated[
        float | None, Query(ge=0, le=1e6, allow_inf_nan=False, description="At most this per GPU-hour (now).")
    ] = None,
    kind: Annotated[OfferKindName | None, Query()] = None,
    provider_id: Annotated[Slug | None, Query()] = None,
) -> list[OfferOut]:
    try:
        want_shape = None if shape is None else parse_shape(shape)
        want_country = None if country is None else parse_country(country)
    except MarketError as exc:
        raise from_market(exc) from exc
    rows = store.current_offers(session, now, provider_id)
    spot_factory = any(o.kind == "spot" and p.kind == store.FACTORY for o, p in rows)
    busy = busy_gpus(session) if spot_factory else None
    priced = {o.id: (o, p, price_now(o, p, factory, busy)) for o, p in rows}
    found = search(
        (store.offer_of(o, price) for o, _, price in priced.values()),
        shape=want_shape,
        country=want_country,
        max_price=max_price,
        kind=kind,
    )
    return [_offer_out(*priced[d.id]) for d in found]


def _offer(session: Session, offer_id: int) -> tuple[Offer, Provider]:
    found = store.offer_with_provider(session, offer_id)
    if found is None:
        raise NotFound(f"offer {offer_id} not found")
    return found


@router.get("/{offer_id}", response_model=OfferOut, responses=NOT_FOUND, summary="Show an offer")
def get_offer(
    offer_id: Annotated[int, Path(ge=1, le=MAX_INT)], session: SessionDep, factory: FactoryDep, _: AnyRole
) -> OfferOut:
    offer, provider = _offer(session, offer_id)
    return _offer_out(
        offer, provider, price_now(offer, provider, factory, busy_if_spot(session, offer, provider))
    )


@router.get(
    "/{offer_id}/availability",
    response_model=AvailabilityOut,
    responses=NOT_FOUND,
    summary="Units of an offer free throughout a window (peak of the bookings overlapping it)",
)
def offer_availability(
    offer_id: Annotated[int, Path(ge=1, le=MAX_INT)],
    start_at: Annotated[Instant, Query(examples=["2026-01-05T00:00:00Z"])],
    end_at: Annotated[Instant, Query(examples=["2026-01-06T00:00:00Z"])],
    session: SessionDep,
    _: AnyRole,
) -> AvailabilityOut:
    if end_at <= start_at:
        raise Invalid("end_at: must be after start_at")
    offer, _provider = _offer(session, offer_id)
    peak, _when = booked_units_peak(store.booked(session, offer.id, start_at, end_at), start_at, end_at)
    available = offer.active and store.offer_of(offer).available_during(start_at, end_at)
    free = max(offer.units - peak, 0) if available else 0
    return AvailabilityOut(
        offer_id=offer.id, units=offer.units, units_free=free, start_at=start_at, end_at=end_at
    )
