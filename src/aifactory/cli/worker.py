"""``aifactory worker``: the scheduler loop of the operations service (a thin shell over
:class:`aifactory.service.worker.Worker`)."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from aifactory.cli.service import DatabaseUrl, ServiceInputError, _settings


def worker_command(
    database_url: DatabaseUrl = None,
    log_dir: Annotated[
        Path | None, typer.Option("--log-dir", help="Jobs' log files [env AIFACTORY_LOG_DIR].")
    ] = None,
    racks: Annotated[
        int | None, typer.Option("--racks", min=1, help="NVL72 racks [env AIFACTORY_RACKS, else 2].")
    ] = None,
    rack_gpus: Annotated[
        int | None, typer.Option("--rack-gpus", min=4, help="GPUs per rack [env AIFACTORY_RACK_GPUS; 72].")
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option("--policy", help="Scheduler policy [env AIFACTORY_SCHEDULER_POLICY, else fairshare]."),
    ] = None,
    interval: Annotated[float, typer.Option("--interval", min=0.01, help="Seconds between cycles.")] = 1.0,
    require_allocation: Annotated[
        bool,
        typer.Option(
            "--require-allocation/--no-require-allocation",
            help="Run a project's jobs only against an approved, active allocation.",
        ),
    ] = True,
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit.")] = False,
) -> None:
    """Run the scheduler loop: place pending jobs on racks, start them with their executor, record usage."""
    from pydantic import ValidationError

    from aifactory.cluster.topology import Topology
    from aifactory.scheduler.policies import policy_named
    from aifactory.service.db import make_engine, make_sessionmaker, upgrade
    from aifactory.service.executors import Executor, LocalExecutor, SimulatedExecutor
    from aifactory.service.worker import FactoryConfig, Worker

    settings = _settings(database_url, log_dir, racks=racks, rack_gpus=rack_gpus)
    racks, rack_gpus = settings.racks, settings.rack_gpus
    policy = policy or settings.scheduler_policy
    try:
        policy_named(policy)
        config = FactoryConfig(
            racks=racks,
            rack_gpus=rack_gpus,
            schedulable_trays=settings.schedulable_trays,
            block_racks=settings.block_racks,
            policy=policy,
            interval_s=interval,
            require_allocation=require_allocation,
        )
    except (ValueError, ValidationError) as exc:
        raise ServiceInputError(str(exc).splitlines()[0]) from None
    try:  # the topology's own checks (whole trays), before the database is touched
        Topology.build(racks, rack_gpus=rack_gpus, schedulable_trays=settings.schedulable_trays)
    except ValueError as exc:
        raise ServiceInputError(f"--rack-gpus {rack_gpus}: {exc}") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    executors: dict[str, Executor] = {
        "simulated": SimulatedExecutor(),
        "local": LocalExecutor(settings.log_dir / "runs"),
    }
    worker = Worker(make_sessionmaker(engine), config, executors, settings.log_dir)
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
    typer.echo(f"worker: {racks} racks × {rack_gpus} GPUs, policy {policy}, every {interval:g} s", err=True)
    worker.run_forever(stop)
