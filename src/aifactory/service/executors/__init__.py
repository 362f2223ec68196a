"""Executors run what the scheduler starts: ``local`` (a subprocess), ``simulated`` (the declared
duration on the wall clock) and ``ray`` (Ray's job API)."""

from aifactory.service.executors.base import Ended, Executor, Launch
from aifactory.service.executors.local import LocalExecutor
from aifactory.service.executors.simulated import SimulatedExecutor

__all__ = ["Ended", "Executor", "Launch", "LocalExecutor", "SimulatedExecutor"]
