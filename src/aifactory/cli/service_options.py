"""Options and helpers the service's commands share (``serve``, ``worker``, ``db``, ``bootstrap`` and the
CLI client): the settings from options and the environment, the database engine, the one error type."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from aifactory.service.settings import Settings
    from aifactory.service.worker import FactoryConfig
    from aifactory.service.worker_lock import WorkerLock


class ServiceInputError(ValueError):
    """Bad service command input (exit code 2)."""


DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL, e.g. sqlite:///./aifactory.db or postgresql+psycopg://user@host/db "
        "\\[env AIFACTORY_DATABASE_URL, else sqlite:///./aifactory.db].",
    ),
]


Racks = Annotated[
    int | None, typer.Option("--racks", min=1, help="NVL72 racks \\[env AIFACTORY_RACKS, else 2].")
]
RackGpus = Annotated[
    int | None, typer.Option("--rack-gpus", min=4, help="GPUs per rack \\[env AIFACTORY_RACK_GPUS; 72].")
]
Policy = Annotated[
    str | None,
    typer.Option("--policy", help="Scheduler policy \\[env AIFACTORY_SCHEDULER_POLICY, else fairshare]."),
]
Interval = Annotated[float, typer.Option("--interval", min=0.01, help="Seconds between scheduling cycles.")]
RequireAllocation = Annotated[
    bool,
    typer.Option(
        "--require-allocation/--no-require-allocation",
        help="Run a project's jobs only against an approved, active allocation.",
    ),
]


def settings_from_options(
    database_url: str | None, log_dir: Path | None = None, **overrides: Any
) -> Settings:
    from pydantic import ValidationError

    from aifactory.service.settings import Settings

    try:
        return Settings.from_env(os.environ, database_url=database_url, log_dir=log_dir, **overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ServiceInputError(f"{field}: {first['msg']}") from None


def open_engine(settings: Settings) -> Engine:
    """The database's engine, migrated to the newest schema (a bad URL is one line, exit code 2)."""
    from aifactory.service.admin import AdminError, open_database

    try:
        return open_database(settings.database_url)
    except AdminError as exc:
        raise ServiceInputError(str(exc)) from None


def worker_config(
    settings: Settings, *, policy: str | None, interval: float, require_allocation: bool
) -> FactoryConfig:
    """The factory and the loop's knobs, checked before the database is touched (exit code 2)."""
    from aifactory.service.wiring import ConfigError, checked_worker_config

    try:
        return checked_worker_config(
            settings, policy=policy, interval=interval, require_allocation=require_allocation
        )
    except ConfigError as exc:
        raise ServiceInputError(str(exc)) from None


LOCK_WAIT_S = 10.0  # a worker killed just now may take the database a moment to let its lock go


def hold_worker_lock(engine: Engine, hint: str) -> WorkerLock:
    """The database's single-worker lock, or :class:`ServiceInputError` when another loop holds it (two
    loops would hand the same GPUs to two jobs)."""
    from aifactory.service.worker_lock import WorkerLock

    lock = WorkerLock(engine)
    if not lock.acquire(wait_s=LOCK_WAIT_S):
        raise ServiceInputError(f"another worker already runs against this database; {hint}")
    return lock
