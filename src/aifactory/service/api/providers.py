"""Providers: the factory itself and partner clouds, who publish offers on the marketplace."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, status
from pydantic import ConfigDict, model_validator
from sqlalchemy import select

from aifactory.market import parse_country
from aifactory.service.api.schemas import CONFLICT, ERRORS, Body, Country, Name, Out, Slug
from aifactory.service.auth import AnyRole, Principal, require
from aifactory.service.db.models import Provider
from aifactory.service.deps import SessionDep
from aifactory.service.errors import Conflict

router = APIRouter(prefix="/providers", tags=["market"], responses=ERRORS)

ProviderKind = Literal["factory", "partner"]


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
        self.country = parse_country(self.country)  # a MarketError is a ValueError: 422 naming it
        return self


class ProviderOut(Out):
    id: str
    name: str
    country: str
    kind: str


@router.get("", response_model=list[ProviderOut], summary="List providers")
def list_providers(session: SessionDep, _: AnyRole) -> list[Provider]:
    return list(session.scalars(select(Provider).order_by(Provider.id)))


@router.post(
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
