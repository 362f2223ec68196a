"""``aifactory worker``: the scheduler loop of the operations service (a thin shell over
:class:`aifactory.service.worker.Worker`).

:func:`worker_config` and :func:`build_worker` are shared with ``aifactory serve --worker``, so that the
loop inside the API process is built exactly like the stand-alone one.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aifactory.cli.service import (
    DatabaseUrl,
    Interval,
    Policy,
    RackGpus,
    Racks,
    RequireAllocation,
    ServiceInputError,
    _open_engine,
    _settings,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from aifactory.service.settings import Settings
    from aifactory.service.worker import FactoryConfig, Worker
    from aifactory.service.worker_lock import WorkerLock


def worker_config(
    settings: Settings, *, policy: str | None, interval: float, require_allocation: bool
) -> FactoryConfig:
    """The factory (from ``settings``) and the loop's knobs, checked before the database is touched;
    bad values raise :class:`ServiceInputError` (one line, exit code 2)."""
    from pydantic import ValidationError

    from aifactory.cluster.topology import Topology
    from aifactory.scheduler.policies import policy_named
    from aifactory.service.worker import FactoryConfig

    policy = policy or settings.scheduler_policy
    try:
        policy_named(policy)
        config = FactoryConfig(
            racks=settings.racks,
            rack_gpus=settings.rack_gpus,
            schedulable_trays=settings.schedulable_trays,
            block_racks=settings.block_racks,
            policy=policy,
            interval_s=interval,
            require_allocation=require_allocation,
        )
    except (ValueError, ValidationError) as exc:
        raise ServiceInputError(str(exc).splitlines()[0]) from None
    try:  # the topology's own checks (whole trays)
        Topology.build(
            settings.racks, rack_gpus=settings.rack_gpus, schedulable_trays=settings.schedulable_trays
        )
    except ValueError as exc:
        raise ServiceInputError(f"--rack-gpus {settings.rack_gpus}: {exc}") from None
    return config


def build_worker(settings: Settings, config: FactoryConfig, engine: Engine) -> Worker:
    """The scheduler loop over ``engine`` (already migrated) with the executors this machine runs."""
    from aifactory.service.db import make_sessionmaker
    from aifactory.service.executors import executors_for
    from aifactory.service.worker import Worker

    return Worker(make_sessionmaker(engine), config, executors_for(settings), settings.log_dir)


LOCK_WAIT_S = 10.0  # a worker killed just now may take the database a moment to let its lock go


def hold_worker_lock(engine: Engine, hint: str) -> WorkerLock:
    """The database's single-worker lock, or :class:`ServiceInputError` when another loop holds it (two
    loops would hand the same GPUs to two jobs)."""
    from aifactory.service.worker_lock import WorkerLock

    lock = WorkerLock(engine)
    if not lock.acquire(wait_s=LOCK_WAIT_S):
        raise ServiceInputError(f"another worker already runs against this database; {hint}")
    return lock


def worker_command(
    database_url: DatabaseUrl = None,
    log_dir: Annotated[
        Path | None, typer.Option("--log-dir", help="Jobs' log files \\[env AIFACTORY_LOG_DIR].")
    ] = None,
    racks: Racks = None,
    rack_gpus: RackGpus = None,
    policy: Policy = None,
    interval: Interval = 1.0,
    require_allocation: RequireAllocation = True,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="Ray job server for executor ray, e.g. http://127.0.0.1:8265 \\[env AIFACTORY_RAY_ADDRESS]; "
            "its token from env RAY_AUTH_TOKEN.",
        ),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit.")] = False,
) -> None:
    """Run the scheduler loop: place pending jobs on racks, start them with their executor, record usage."""
    settings = _settings(database_url, log_dir, racks=racks, rack_gpus=rack_gpus, ray_address=ray_address)
    config = worker_config(settings, policy=policy, interval=interval, require_allocation=require_allocation)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    engine = _open_engine(settings)
    lock = hold_worker_lock(engine, "stop it first")
    try:
        run_worker(build_worker(settings, config, engine), config, once=once)
    finally:
        lock.release()
        engine.dispose()


def run_worker(worker: Worker, config: FactoryConfig, *, once: bool) -> None:
    """One cycle (``--once``), or cycles until SIGINT or SIGTERM."""
    if once:
        stats = worker.cycle()
        typer.echo(
            f"cycle: {stats.submitted} submitted, {stats.started} started, {stats.ended} ended, "
            f"{stats.preempted} preempted in {stats.seconds * 1000:.1f} ms"
        )
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    typer.echo(
        f"worker: {config.racks} racks × {config.rack_gpus} GPUs, policy {config.policy}, "
        f"every {config.interval_s:g} s, executors {', '.join(sorted(worker.executors))}",
        err=True,
    )
    worker.run_forever(stop)
