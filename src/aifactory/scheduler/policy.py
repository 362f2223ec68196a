"""A scheduling policy as a value: its name, its admit function, whether it preempts, how it explains a
wait. The policies themselves are in :mod:`aifactory.scheduler.policies` (looked up by name there);
the scheduler's cycle takes whichever it is given and knows none of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aifactory.scheduler.core import CycleResult, Scheduler
    from aifactory.scheduler.job import Job


@dataclass(frozen=True)
class Wait:
    """What :func:`~aifactory.scheduler.explain.why_waiting` knows of a waiting job when it asks the
    policy: its place in the queue, the free GPUs, and the reason the last cycle left (if any)."""

    position: int
    ahead: str
    free_gpus: int
    reason: str | None


Admit = Callable[["Scheduler", float, "CycleResult"], None]
"""The *admit* phase (and, for a preempting policy, *reclaim*): start what the policy starts now."""
Explain = Callable[["Scheduler", "Job", Wait], "str | None"]
"""The policy's own explanation of a wait, or None to leave it to the general rules."""


@dataclass(frozen=True)
class Policy:
    name: str
    admit: Admit
    preempts: bool
    """May it preempt running jobs (so a cycle is worth running on an arrival with no GPU free)?"""
    explain: Explain
    summary: str
    """One line, for ``--list-policies``."""
