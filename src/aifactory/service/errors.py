"""Errors the API turns into JSON ``{"detail": ...}`` answers with one line naming the field."""

from __future__ import annotations


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
