"""``aifactory worker``: the scheduler loop of the operations service (a thin shell over
:class:`aifactory.service.worker.Worker`).

The loop is configured and built as ``aifactory serve`` builds the one inside the API process
(:mod:`aifactory.service.wiring`, :mod:`aifactory.cli.service_options`).
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aifactory.cli.service_options import (
    DatabaseUrl,
    Interval,
    Policy,
    RackGpus,
    Racks,
    RequireAllocation,
    hold_worker_lock,
    open_engine,
    settings_from_options,
    worker_config,
)

if TYPE_CHECKING:
    from aifactory.service.worker import FactoryConfig, Worker


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
    settings = settings_from_options(
        database_url, log_dir, racks=racks, rack_gpus=rack_gpus, ray_address=ray_address
    )
    config = worker_config(settings, policy=policy, interval=interval, require_allocation=require_allocation)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from aifactory.service.wiring import build_worker

    engine = open_engine(settings)
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
