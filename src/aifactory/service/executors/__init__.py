"""Executors run what the scheduler starts: ``local`` (a subprocess), ``simulated`` (the declared
duration on the wall clock) and ``ray`` (Ray's job API)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aifactory.service.executors.base import Ended, Executor, Launch
from aifactory.service.executors.local import LocalExecutor
from aifactory.service.executors.ray import RayExecutor, RayUnavailable
from aifactory.service.executors.simulated import SimulatedExecutor

if TYPE_CHECKING:
    from aifactory.service.settings import Settings

__all__ = [
    "Ended",
    "Executor",
    "Launch",
    "LocalExecutor",
    "RayExecutor",
    "RayUnavailable",
    "SimulatedExecutor",
    "executors_for",
]


def executors_for(settings: Settings) -> dict[str, Executor]:
    """The executors a worker with these settings offers: simulated and local always, ray when a Ray
    job server address is set (jobs asking for an executor that is not set up fail with that reason)."""
    executors: dict[str, Executor] = {
        "simulated": SimulatedExecutor(),
        "local": LocalExecutor(settings.log_dir / "runs"),
    }
    if settings.ray_address:
        executors["ray"] = RayExecutor(settings.ray_address, token=settings.ray_token)
    return executors
