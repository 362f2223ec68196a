"""Marketplace offers: capacity a provider sells as units of a GPU shape, at a price per GPU-hour.

An offer sells ``units`` units of one ``Shape`` (so ``units × shape.gpus`` GPUs) in a country, from
``available_from`` until ``available_until`` (or open-ended), as ``on_demand``, ``reserved`` or
``spot`` capacity. ``search`` filters offers the way a buyer asks for them and lists the cheapest first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aifactory.market.errors import (
    MarketError,
    parse_enum,
    require_aware,
    require_finite,
    require_name,
    require_period,
    require_positive_int,
)
from aifactory.market.shapes import Shape, parse_shape

_COUNTRY_RE = re.compile(r"[A-Z]{2}")


class OfferKind(StrEnum):
    ON_DEMAND = "on_demand"
    RESERVED = "reserved"
    SPOT = "spot"


def parse_country(value: str, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 code, upper-cased (``tw`` → ``TW``)."""
    if not isinstance(value, str) or _COUNTRY_RE.fullmatch(value.strip().upper()) is None:
        raise MarketError(field, f"must be a two-letter ISO country code like TW, got {value!r}")
    return value.strip().upper()


@dataclass(frozen=True, kw_only=True)
class Offer:
    """``units`` units of ``shape`` sold by ``provider`` in ``country`` at ``price_per_gpu_hour``."""

    id: int
    provider: str
    shape: Shape
    country: str
    price_per_gpu_hour: float
    kind: OfferKind
    units: int
    available_from: datetime
    available_until: datetime | None = None
    active: bool = True

    def __post_init__(self) -> None:
        require_name("provider", self.provider)
        if not isinstance(self.shape, Shape):
            raise MarketError("shape", f"must be a parsed Shape, got {type(self.shape).__name__}")
        object.__setattr__(self, "country", parse_country(self.country))
        require_finite("price_per_gpu_hour", self.price_per_gpu_hour)
        object.__setattr__(self, "kind", parse_enum(OfferKind, "kind", self.kind))
        require_positive_int("units", self.units)
        if self.available_until is None:
            require_aware("available_from", self.available_from)
        else:
            require_period("available_from", self.available_from, "available_until", self.available_until)

    @property
    def gpus_per_unit(self) -> int:
        return self.shape.gpus

    @property
    def gpus(self) -> int:
        """All GPUs the offer sells at once: ``units × gpus_per_unit``."""
        return self.units * self.shape.gpus

    def available_during(self, start: datetime, end: datetime) -> bool:
        """True when ``[start, end)`` lies inside the offer's availability."""
        return self.available_from <= start and (self.available_until is None or end <= self.available_until)


def search(
    offers: Iterable[Offer],
    shape: Shape | str | None = None,
    country: str | None = None,
    max_price: float | None = None,
    kind: OfferKind | str | None = None,
    gpus_at_least: int | None = None,
) -> list[Offer]:
    """Active offers matching every filter given, by price per GPU-hour then id.

    ``shape`` matches the exact shape; ``gpus_at_least`` keeps offers whose unit has at least that many
    GPUs; ``max_price`` is inclusive; ``country`` is case-insensitive.
    """
    want_shape = None if shape is None else (shape if isinstance(shape, Shape) else parse_shape(shape))
    want_country = None if country is None else parse_country(country)
    cap = None if max_price is None else require_finite("max_price", max_price)
    want_kind = None if kind is None else parse_enum(OfferKind, "kind", kind)
    least = None if gpus_at_least is None else require_positive_int("gpus_at_least", gpus_at_least)
    found = [
        o
        for o in offers
        if o.active
        and (want_shape is None or o.shape.name == want_shape.name)
        and (want_country is None or o.country == want_country)
        and (cap is None or o.price_per_gpu_hour <= cap)
        and (want_kind is None or o.kind is want_kind)
        and (least is None or o.shape.gpus >= least)
    ]
    return sorted(found, key=lambda o: (o.price_per_gpu_hour, o.id))
