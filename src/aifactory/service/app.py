"""``create_app(settings)``: the operations service as a FastAPI app."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from aifactory.service import dashboard
from aifactory.service.api import (
    allocations,
    jobs,
    offers,
    programmes,
    projects,
    providers,
    racks,
    reservations,
    tokens,
    views,
    whoami,
)
from aifactory.service.db.engine import make_engine, make_sessionmaker
from aifactory.service.errors import ApiError
from aifactory.service.metrics import Metrics
from aifactory.service.settings import Settings

API_PREFIX = "/api/v1"
Clock = Callable[[], datetime]

DESCRIPTION = """
Operate an AI factory: the council grants GPU-hour allocations to programmes' projects, tenants submit
jobs, operators run the machine. Authenticate with `Authorization: Bearer aif_...` (create the first
operator token with `aifactory bootstrap`). Errors are `{"detail": "..."}` with one line naming the field.
"""

TAGS = [
    {"name": "auth", "description": "Who is calling."},
    {"name": "programmes", "description": "The council's programmes and their shares."},
    {"name": "projects", "description": "Tenants: every job, allocation and project token belongs to one."},
    {"name": "tokens", "description": "Bearer tokens; the secret is shown once, only its hash is stored."},
    {
        "name": "allocations",
        "description": "GPU-hour budgets requested by projects, reviewed by the council.",
    },
    {"name": "jobs", "description": "Submit, list, cancel jobs and read their logs."},
    {"name": "market", "description": "Providers' offers of GPU shapes; reservations the scheduler honours."},
    {"name": "views", "description": "The rack map, the queue with why jobs wait, usage against shares."},
    {"name": "racks", "description": "Drain and restore racks, record broken trays (operator)."},
    {"name": "ops", "description": "Health and metrics (no token)."},
]


class HealthOut(BaseModel):
    status: str = Field(examples=["ok"])
    database: str = Field(description="ok, or why the database cannot be reached.")


def utc_now() -> datetime:
    return datetime.now(UTC)


def describe_validation_errors(errors: Sequence[Any]) -> str:
    """One line naming the field of the first error (``gpus: Input should be ...``)."""
    if not errors:
        return "invalid input"
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ())]
    field = ".".join(loc[1:] if len(loc) > 1 and loc[0] in ("body", "query", "path", "header") else loc)
    message = " ".join(str(first.get("msg", "invalid")).split()).removeprefix("Value error, ")
    if first.get("type") == "json_invalid":
        field, message = "body", f"invalid JSON ({first.get('ctx', {}).get('error', 'cannot parse')})"
    own_field = field in ("", "body") and ":" in message.split(" ")[0]
    line = message if own_field else f"{field}: {message}" if field else message
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more)"
    return line


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        malformed = bool(errors) and errors[0].get("type") == "json_invalid"  # not JSON at all: 400
        return JSONResponse(
            {"detail": describe_validation_errors(errors)}, status_code=400 if malformed else 422
        )

    @app.exception_handler(IntegrityError)
    async def conflict(_: Request, exc: IntegrityError) -> JSONResponse:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else "integrity error"
        return JSONResponse({"detail": f"conflict: {reason}"}, status_code=409)

    @app.exception_handler(OperationalError)
    async def database_unavailable(_: Request, exc: OperationalError) -> JSONResponse:
        # The database is down, restarting, or dropped the connection. Reads may simply be retried; a
        # submission lost in its COMMIT may or may not have been stored, so clients retry it with the
        # same idempotency key (which returns the stored job if there is one).
        lost = "the connection was lost" if exc.connection_invalidated else "unavailable"
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        return JSONResponse(
            {"detail": f"database: {lost} ({reason}); try again"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = dict(exc.headers or {})
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "body: cannot be read as JSON (not UTF-8 text)"  # FastAPI's answer to such bytes
        if exc.status_code == 405:  # Starlette names the methods of one route; the path may have several
            detail = f"method: {request.method} is not allowed here"
            headers["Allow"] = ", ".join(allowed_methods(app, request, headers.get("Allow", "")))
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers or None)


def allowed_methods(app: FastAPI, request: Request, named: str) -> list[str]:
    """Every method the app serves at the request's path: those its OpenAPI document lists for the
    path templates that match it, with HEAD beside GET, and ``named`` (Starlette's ``Allow`` of the
    one route it matched, for routes outside the document such as the dashboard's)."""
    methods = {m.strip().upper() for m in named.split(",") if m.strip()}
    for template, item in app.openapi()["paths"].items():
        pattern = "^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, request.url.path):
            methods |= {m.upper() for m in item}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
DOCUMENTED = {
    "400": "Malformed JSON: the body cannot be parsed.",
    "503": "The database is unavailable or dropped the connection; retry after `Retry-After` seconds.",
}


def document_every_status(app: FastAPI) -> None:
    """The OpenAPI document lists what every route can answer besides its own statuses: 400 for a body
    that is not JSON (routes that take one), 503 while the database is away, error bodies as JSON (also
    on a plain-text route), and the ``WWW-Authenticate`` header of a 401."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        for item in document["paths"].values():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                if "requestBody" in operation:
                    responses.setdefault("400", {"description": DOCUMENTED["400"], "content": ERROR_BODY})
                responses.setdefault("503", {"description": DOCUMENTED["503"], "content": ERROR_BODY})
                for status, response in responses.items():
                    if status[0] in "45" and "application/json" not in response.get("content", {}):
                        response["content"] = ERROR_BODY
                if "401" in responses:
                    responses["401"]["headers"] = {
                        "WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}
                    }
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings, *, clock: Clock | None = None, engine: Engine | None = None) -> FastAPI:
    """The service for ``settings``; ``clock`` (aware UTC) and ``engine`` may be injected by tests.

    The database must already be migrated (``aifactory db upgrade``; ``aifactory serve`` does it).
    """
    own_engine = engine is None
    engine = engine if engine is not None else make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if own_engine:
            engine.dispose()

    app = FastAPI(
        title="aifactory operations service",
        description=DESCRIPTION,
        version="1",
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.topology = settings.topology()
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.clock = clock or utc_now
    metrics = Metrics(engine)
    app.state.metrics = metrics
    metrics.install(app)
    _install_handlers(app)

    routers = (whoami, programmes, projects, tokens, allocations, jobs, providers, offers, reservations)
    for module in (*routers, views, racks):
        app.include_router(module.router, prefix=API_PREFIX)

    @app.get(
        "/healthz",
        tags=["ops"],
        summary="Liveness and database check",
        response_model=HealthOut,
        responses={503: {"model": HealthOut, "description": "The database cannot be reached."}},
    )
    def healthz() -> JSONResponse:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            reason = str(exc).strip().splitlines()[0]
            return JSONResponse({"status": "error", "database": reason}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse, summary="Prometheus metrics")
    def prometheus() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    dashboard.install(app)
    document_every_status(app)
    return app


def app_from_env() -> FastAPI:
    """The service configured from the environment (``AIFACTORY_DATABASE_URL`` …), for servers that import
    an app factory, e.g. several API processes on one machine:
    ``uvicorn --factory aifactory.service.app:app_from_env --workers 2``. Migrate first
    (``aifactory db upgrade``); run the scheduler loop once per factory (``aifactory worker``)."""
    return create_app(Settings.from_env(os.environ))
