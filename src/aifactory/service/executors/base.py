"""What the worker asks of an executor: start a run, tell whether it ended, stop it, and find it again
after a restart.

An executor never decides a job's final state on its own: it reports how the run ended (exit code,
time limit reached, stopped on request) and the worker turns that into ``succeeded``, ``failed``,
``timed_out``, ``cancelled`` or ``preempted``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class Launch:
    """One run (attempt) of a job on its assigned GPUs."""

    job_id: str
    attempt: int
    command: str | None
    image: str | None
    gpu_ids: tuple[int, ...]
    time_limit_s: float
    duration_s: float | None
    log_path: Path
    env: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """Names the attempt's files and remote jobs: ``<job id>.<attempt>``."""
        return f"{self.job_id}.{self.attempt}"


@dataclass(frozen=True, slots=True)
class Ended:
    """How a run ended."""

    exit_code: int | None
    timed_out: bool = False
    stopped: bool = False
    lost: bool = False  # the run vanished without a trace (its host or wrapper died)
    ended_at: float | None = None  # unix time, when the executor knows it
    message: str = ""


Status = Literal["running", "not-started"]


class Executor(Protocol):
    name: str

    def start(self, launch: Launch, now: float) -> str:
        """Start the run; returns the executor's reference to it (kept in ``jobs.executor_ref``)."""
        ...

    def poll(self, launch: Launch, ref: str, now: float) -> Ended | None:
        """``None`` while the run goes on, else how it ended. ``ref`` is ``""`` for a run adopted after
        a restart that came before its reference was stored: find the run from ``launch``."""
        ...

    def stop(self, launch: Launch, ref: str) -> None:
        """Ask the run to stop (cancel, preemption); ``poll`` reports the end."""
        ...

    def recover(self, launch: Launch, ref: str | None, now: float) -> Ended | Status:
        """After a worker restart: is the attempt still running, did it end, or did it never start?"""
        ...


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the whole new one, never a part
    (the local executor's run files are read by a worker that may restart at any moment)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
