"""Errors the API turns into JSON ``{"detail": ...}`` answers with one line naming the field."""

from __future__ import annotations

from collections.abc import Mapping

from aifactory.market.errors import ErrorKind, MarketError


class ApiError(Exception):
    """An error with an HTTP status; ``detail`` is one line, naming the field when there is one."""

    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthorized(ApiError):
    status_code = 401


class Forbidden(ApiError):
    status_code = 403


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class Invalid(ApiError):
    """A body that is well-formed but breaks a rule that needs the database (unknown project, ...)."""

    status_code = 422


def from_market(exc: MarketError, names: Mapping[str, str] | None = None) -> ApiError:
    """A market rule's error as the API answers it, by its kind — a conflict with an object's state 409,
    invalid input 422 — with its field named as the API names it (``{"start": "start_at"}``)."""
    error = exc.renamed(dict(names or {}))
    return (Conflict if error.kind is ErrorKind.CONFLICT else Invalid)(str(error))
