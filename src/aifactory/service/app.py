"""``create_app(settings)``: the operations service as a FastAPI app."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
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
        return JSONResponse({"detail": describe_validation_errors(exc.errors())}, status_code=422)

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
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


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

    @app.get("/healthz", tags=["ops"], summary="Liveness and database check")
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
    return app


def app_from_env() -> FastAPI:
    """The service configured from the environment (``AIFACTORY_DATABASE_URL`` …), for servers that import
    an app factory, e.g. several API processes on one machine:
    ``uvicorn --factory aifactory.service.app:app_from_env --workers 2``. Migrate first
    (``aifactory db upgrade``); run the scheduler loop once per factory (``aifactory worker``)."""
    return create_app(Settings.from_env(os.environ))
