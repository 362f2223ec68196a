"""``aifactory serve``, ``aifactory db upgrade``, ``aifactory bootstrap``: thin shells over the service."""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # the service's modules load lazily so that the CLI starts fast
    from collections.abc import AsyncIterator

    from fastapi import FastAPI

    from aifactory.service.settings import Settings
    from aifactory.service.worker import Worker

from aifactory.cli.service_options import (
    DatabaseUrl,
    Interval,
    Policy,
    RackGpus,
    Racks,
    RequireAllocation,
    ServiceInputError,
    hold_worker_lock,
    open_engine,
    settings_from_options,
    worker_config,
)

db_app = typer.Typer(help="The operations service's database.", no_args_is_help=True)


WORKER_STOP_S = 30.0  # how long shutdown waits for the worker's cycle in progress


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Create or migrate the database schema to the newest version (safe to run again)."""
    from aifactory.service.admin import AdminError, upgrade_database

    settings = settings_from_options(database_url)
    try:
        upgrade_database(settings.database_url)
    except AdminError as exc:
        raise ServiceInputError(str(exc)) from None
    typer.echo(f"database at the newest schema: {_display(settings.database_url)}")


def bootstrap_command(
    database_url: DatabaseUrl = None,
    subject: Annotated[str, typer.Option("--subject", help="Who holds the operator token.")] = "admin",
    force: Annotated[
        bool, typer.Option("--force", help="Create another operator token even if one exists.")
    ] = False,
) -> None:
    """Create the first operator token and print its secret (shown only once)."""
    from aifactory.service.admin import AdminError, bootstrap

    settings = settings_from_options(database_url)
    try:
        secret = bootstrap(settings.database_url, subject=subject, force=force, now=datetime.now(UTC))
    except AdminError as exc:
        raise ServiceInputError(str(exc)) from None
    typer.echo(secret)
    typer.echo(
        f"operator token for {subject!r} created; keep the secret above, it is not shown again", err=True
    )


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    database_url: DatabaseUrl = None,
    log_dir: Annotated[
        Path | None,
        typer.Option("--log-dir", help="Jobs' log folder \\[env AIFACTORY_LOG_DIR, else ./aifactory-logs]."),
    ] = None,
    worker: Annotated[
        bool | None,
        typer.Option(
            "--worker/--no-worker",
            help="Run the scheduler loop inside this process \\[default: --worker on SQLite, the "
            "single-machine set-up; --no-worker otherwise: run `aifactory worker` once per factory].",
            show_default=False,
        ),
    ] = None,
    racks: Racks = None,
    rack_gpus: RackGpus = None,
    policy: Policy = None,
    interval: Interval = 1.0,
    require_allocation: RequireAllocation = True,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="API processes (one per core serves the most submissions; the scheduler loop, if any, "
            "runs once, in the supervising process).",
        ),
    ] = 1,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log a line per request.")
    ] = True,
) -> None:
    """Run the operations service (HTTP API) after bringing the database to the newest schema; on a
    single machine (SQLite) the scheduler loop runs inside it too."""
    import uvicorn

    from aifactory.service.app import create_app
    from aifactory.service.db.engine import is_sqlite
    from aifactory.service.wiring import build_worker

    settings = settings_from_options(database_url, log_dir, racks=racks, rack_gpus=rack_gpus)
    run_worker = is_sqlite(settings.database_url) if worker is None else worker
    config, lock = None, None
    if run_worker:  # options are checked before the database is touched
        config = worker_config(
            settings, policy=policy, interval=interval, require_allocation=require_allocation
        )
    engine = open_engine(settings)
    app = create_app(settings, engine=engine)
    where = f"aifactory service on http://{host}:{port} (database {_display(settings.database_url)})"
    if workers > 1:
        where += f", {workers} API processes"
    loop: Worker | None = None
    if config is not None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        lock = hold_worker_lock(engine, "stop it, or serve with --no-worker")
        loop = build_worker(settings, config, engine)
        where += f"; worker: {config.racks} racks × {config.rack_gpus} GPUs, policy {config.policy}"
    typer.echo(where, err=True)
    try:
        if workers == 1:
            if loop is not None:
                run_with_worker(app, loop)
            uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log)
        else:
            _serve_processes(settings, host, port, workers, access_log, loop)
    finally:
        if lock is not None:
            lock.release()
        engine.dispose()


def _serve_processes(
    settings: Settings, host: str, port: int, workers: int, access_log: bool, loop: Worker | None
) -> None:
    """Several API processes (uvicorn's supervisor re-creates each from the environment, which is set
    from ``settings`` here), with the scheduler loop, if any, in a thread of this supervising process."""
    import uvicorn

    from aifactory.service.settings import ENV

    for key, name in ENV.items():  # the processes build their app from these
        value = getattr(settings, key)
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = str(value)
    stop = threading.Event()
    thread = None
    if loop is not None:
        thread = threading.Thread(target=loop.run_forever, args=(stop,), name="aifactory-worker")
        thread.start()
    try:
        uvicorn.run(
            "aifactory.service.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            access_log=access_log,
        )
    finally:
        stop.set()
        if thread is not None:
            thread.join(WORKER_STOP_S)
            logging.getLogger("aifactory.worker").info("worker stopped")


def run_with_worker(app: FastAPI, worker: Worker) -> None:
    """Run ``worker``'s loop in a background thread for as long as ``app`` is served: it starts when the
    app starts up and, on shutdown (SIGINT, SIGTERM), finishes its cycle in progress and stops before
    the process exits. Jobs of the ``local`` executor run in sessions of their own and keep running; the
    next start adopts them."""
    import asyncio
    from contextlib import asynccontextmanager

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: FastAPI) -> AsyncIterator[Any]:
        stop = threading.Event()
        thread = threading.Thread(target=worker.run_forever, args=(stop,), name="aifactory-worker")
        thread.start()
        try:
            async with inner(served) as state:
                yield state
        finally:
            stop.set()
            await asyncio.to_thread(thread.join, WORKER_STOP_S)
            logging.getLogger("aifactory.worker").info("worker stopped")

    app.router.lifespan_context = lifespan


def _display(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
