"""Pydantic models shared by the routers: strict bodies (unknown fields, NaN, NUL characters, naive
timestamps and values of the wrong JSON type — ``true`` for a number, ``"4"`` for 4, a number for a
date — are rejected with the field named) and the error body."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, get_args, get_origin

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from aifactory.market.slices import MARKET_PROGRAMME, RESERVATION_PREFIX

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN), Field(examples=["climate-ai"])]


def _not_the_markets(value: str) -> str:
    if value == MARKET_PROGRAMME or value.startswith(RESERVATION_PREFIX):
        raise ValueError(
            f"{value!r} is the marketplace's: the scheduler names its programme {MARKET_PROGRAMME!r} "
            f"and its reservations {RESERVATION_PREFIX}<id>"
        )
    return value


# Ids of programmes and projects: slugs the scheduler's council does not use for the marketplace.
CouncilId = Annotated[Slug, AfterValidator(_not_the_markets)]
Subject = Annotated[str, StringConstraints(min_length=1, max_length=200), Field(examples=["alice"])]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(max_length=10_000)]
MAX_INT = 2**31 - 1
Price = Annotated[float, Field(ge=0, le=1e6, description="Price per GPU-hour.", examples=[2.5])]
COUNTRY_PATTERN = r"^[A-Za-z]{2}$"
Country = Annotated[
    str,
    Field(
        min_length=2,
        max_length=2,
        pattern=COUNTRY_PATTERN,
        description="ISO 3166-1 alpha-2.",
        examples=["TW"],
    ),
]


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _instant_text(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and ISO_DATE.match(value)):
        return value  # pydantic parses the text (and refuses it without a timezone)
    raise ValueError("must be an ISO 8601 date-time with a timezone, e.g. 2026-01-01T00:00:00Z")


Instant = Annotated[AwareDatetime, Strict(False), BeforeValidator(_instant_text)]
"""A timestamp in a body or a query: ISO 8601 text with a timezone (numbers, even as text, are refused:
JSON has no date type, and a bare number is no unambiguous instant)."""
PERIOD = {"start": "start_at", "end": "end_at"}
"""The API's names of the market domain's period fields (errors are named as the client sent them)."""


def _takes_int_only(annotation: Any) -> bool:
    """``annotation`` (``int``, ``int | None``, ``Annotated[int, ...]``) accepts an int and no float."""
    leaves: set[Any] = set()
    pending = [annotation]
    while pending:
        current = pending.pop()
        args = get_args(current)
        if args:
            pending.extend(args[:1] if get_origin(current) is Annotated else args)
        else:
            leaves.add(current)
    return int in leaves and float not in leaves


class Body(BaseModel):
    """Base of every request body."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _integral(cls, value: Any, info: ValidationInfo) -> Any:
        """JSON has one number type: 4.0 is the integer 4 (JSON Schema agrees); 4.5, true and "4" are no
        integer."""
        whole = isinstance(value, float) and value.is_integer() and info.field_name is not None
        if whole and _takes_int_only(cls.model_fields[str(info.field_name)].annotation):
            return int(value)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class Out(BaseModel):
    """Base of every response model: read from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class ErrorOut(BaseModel):
    detail: str = Field(examples=["gpus: Input should be greater than or equal to 1"])


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No, unknown or revoked token."},
    403: {"model": ErrorOut, "description": "The token's role may not do this."},
    422: {"model": ErrorOut, "description": "Invalid input; the detail names the field."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "Not found."}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ErrorOut, "description": "Conflict."}}


JOB_ID_IN_TEXT = re.compile(r"\bj-[0-9a-f]{12}\b")


def redact(reason: str, visible: set[str]) -> str:
    """``reason`` with the ids of jobs outside ``visible`` replaced (the scheduler names the job a
    waiting job is behind, which may be another project's)."""
    return JOB_ID_IN_TEXT.sub(
        lambda m: m.group(0) if m.group(0) in visible else "another project's job", reason
    )
