"""The scheduler's view of a job: what it needs, who owns it, and (in replay) how long it runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Job:
    """A gang of GPUs wanted all at once by one tenant.

    ``duration`` is the work the job does (seconds of run time); the live service does not know it and
    passes ``time_limit`` only. ``submit`` is seconds from the trace's (or the clock's) origin.
    """

    id: str
    tenant: str
    gpus: int
    submit: float
    duration: float
    priority: int = 0
    time_limit: float | None = None
    preemptible: bool = True

    @property
    def estimate(self) -> float:
        """Run time the scheduler plans with (backfill): the time limit when given, else the duration."""
        return self.time_limit if self.time_limit is not None else self.duration
