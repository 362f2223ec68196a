"""The runs the scheduler loop has launched, and when to ask their executors about them.

Polling thousands of runs every cycle would put the executors on the cycle's critical path, so a run
whose executor knows when it can first have ended (the simulated one does: start + duration) is polled
only from then on; the others, and any run asked to stop, every cycle. A preempted run leaves the
scheduler at once but keeps its GPUs *draining* until its process has stopped: nothing new is launched
on them before (never two processes on one GPU).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from aifactory.service.executors.base import Ended, Executor, Launch


@dataclass
class Run:
    launch: Launch
    executor: str
    ref: str | None  # the executor's reference once launched (None: committed, not launched yet)
    usage_id: int
    stopping: str | None = None  # "cancel" or "preempt" once asked to stop
    poll_after: float = 0.0  # the run cannot end on its own before this (unix time; 0: poll every cycle)


class RunTracker:
    """Launched runs by job id, the draining ones, and the polling plan."""

    def __init__(self, executors: Mapping[str, Executor]) -> None:
        self.executors = executors
        self.runs: dict[str, Run] = {}  # running in the scheduler
        self.draining: dict[str, Run] = {}  # preempted: out of the scheduler, process still stopping
        # Runs to poll: those whose executor cannot say when they end (every cycle), the others from
        # when they can first have ended (a heap of (time, job id, attempt); stale entries are skipped).
        self._every_cycle: set[str] = set()
        self._from: list[tuple[float, str, int]] = []

    def track(self, job_id: str, run: Run) -> None:
        """Poll a launched run every cycle, or from when it can first have ended."""
        earliest_end = getattr(self.executors.get(run.executor), "earliest_end", None)
        if earliest_end is None or run.ref is None:
            self._every_cycle.add(job_id)
            return
        run.poll_after = float(earliest_end(run.launch, run.ref))
        heapq.heappush(self._from, (run.poll_after, job_id, run.launch.attempt))

    def stop(self, job_id: str, why: str) -> None:
        """Ask a launched run's executor to stop it (``why``: "cancel"); it is polled every cycle."""
        run = self.runs.get(job_id)
        if run is not None and run.stopping is None and run.ref is not None:
            run.stopping = why
            self.executors[run.executor].stop(run.launch, run.ref)
            self._every_cycle.add(job_id)

    def ended(self, now: float) -> Iterator[tuple[str, Run, Ended]]:
        """The runs due for a poll whose executor says they ended (each is forgotten as it is yielded)."""
        while self._from and self._from[0][0] <= now:  # runs that may have ended by now
            _, job_id, attempt = heapq.heappop(self._from)
            run = self.runs.get(job_id)
            if run is not None and run.launch.attempt == attempt:
                self._every_cycle.add(job_id)
        for job_id in list(self._every_cycle):
            run = self.runs.get(job_id)
            if run is None:  # ended, preempted or failed since
                self._every_cycle.discard(job_id)
                continue
            if run.ref is None:
                continue
            done = self.executors[run.executor].poll(run.launch, run.ref, now)
            if done is None:
                continue
            self._every_cycle.discard(job_id)
            del self.runs[job_id]
            yield job_id, run, done

    def preempt(self, job_id: str) -> Run | None:
        """The scheduler preempted the job: its run (if launched) is asked to stop and drains."""
        run = self.runs.pop(job_id, None)
        self._every_cycle.discard(job_id)
        if run is not None and run.ref is not None:
            self.executors[run.executor].stop(run.launch, run.ref)
            run.stopping = "preempt"
            self.draining[job_id] = run
        return run

    def gpus_still_stopping(self, now: float) -> set[int]:
        """The GPUs of preempted runs whose processes have not ended yet (ended ones are forgotten)."""
        busy: set[int] = set()
        for job_id, run in list(self.draining.items()):
            if run.ref is None or self.executors[run.executor].poll(run.launch, run.ref, now) is not None:
                del self.draining[job_id]
            else:
                busy.update(run.launch.gpu_ids)
        return busy
