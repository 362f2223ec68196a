"""The scheduler loop of the live service: the operations-core ``Scheduler`` against the database.

The database is the truth; the worker keeps one long-lived :class:`~aifactory.scheduler.core.Scheduler`
in memory (the same code trace replay drives with a virtual clock) and, every cycle:

1. reads the programmes, projects, allocations and active reservations into the scheduler's tenancy
   (entitlements from the council's shares, GPU-hour budgets from approved allocations);
2. diffs the pending jobs in the database with its queue: new ones are submitted, ones the API cancelled
   are dropped;
3. polls the executors for runs that ended, stops runs whose cancel was requested, and writes the
   outcome, the usage record and the burn-down of the project's allocations;
4. runs one scheduling cycle at the wall-clock time; each start is committed (state ``running``,
   placement, GPU ids, an open usage record) *before* the executor launches it, and each preemption
   puts the job back to ``pending``;
5. writes why the first waiting jobs wait (only when the reason changed).

After a crash, :meth:`Worker.recover` rebuilds the scheduler from the database and asks each executor
about each running job: still running (kept), ended while the worker was down (recorded), never started
(back to pending) or lost (failed) — so no acknowledged job is lost, none runs twice, and no GPU stays
allocated to a dead job.

This module is the loop; its parts are beside it: the reads from the database (:mod:`.db_sync`), the
launched runs and their polling (:mod:`.runs`), the books — outcomes, usage, allocation burn-down —
(:mod:`.ledger`), recovery (:mod:`.recovery`), and which GPUs each run holds
(:mod:`aifactory.cluster.slots`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from aifactory.cluster.slots import GpuSlots
from aifactory.cluster.topology import Topology
from aifactory.scheduler.core import CycleResult, Scheduler
from aifactory.scheduler.council import Council
from aifactory.scheduler.explain import why_waiting
from aifactory.scheduler.policies import policy_named
from aifactory.scheduler.tenancy import Tenancy
from aifactory.service.db.models import Job as JobRow
from aifactory.service.db.models import UsageRecord
from aifactory.service.db_sync import IDS_PER_QUERY, DatabaseSync, gpu_ids_of, job_of, launch_of
from aifactory.service.executors.base import Executor
from aifactory.service.ledger import close_usage, end_time, finish_row, outcome, utc
from aifactory.service.market_sync import MarketSync
from aifactory.service.recovery import ask, settle
from aifactory.service.runs import Run, RunTracker

log = logging.getLogger("aifactory.worker")


class FactoryConfig(BaseModel):
    """The AI factory the worker schedules onto, and the loop's knobs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    racks: int = Field(2, ge=1, description="NVL72 racks in the factory.")
    rack_gpus: int = Field(72, ge=1, description="GPUs per rack (NVLink domain; whole trays).")
    schedulable_trays: int | None = Field(None, ge=1, description="Trays per rack jobs may use (spares).")
    block_racks: int = Field(8, ge=1, description="Racks per scale-out block.")
    policy: str = Field("fairshare", description="Scheduler policy name.")
    half_life_hours: float = Field(168.0, gt=0, description="Fair-share usage half-life.")
    interval_s: float = Field(1.0, gt=0, description="Seconds between scheduling cycles.")
    require_allocation: bool = Field(
        True, description="A project's jobs run only against an approved, active GPU-hour allocation."
    )
    reason_depth: int = Field(200, ge=0, description="Waiting jobs whose reason is written each cycle.")


STARTS_CHUNK = IDS_PER_QUERY  # starts written per batch


@dataclass
class CycleStats:
    submitted: int = 0
    dropped: int = 0
    started: int = 0
    ended: int = 0
    preempted: int = 0
    seconds: float = 0.0
    # Seconds from the cycle's start to the end of each phase, in order: council, pending, poll, schedule,
    # commit (starts and preemptions written and committed), launch, reasons, total.
    timings: dict[str, float] = field(default_factory=dict)


class Worker:
    """One scheduler loop over one database (run a single worker per factory)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: FactoryConfig,
        executors: Mapping[str, Executor],
        log_dir: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.executors = dict(executors)
        self.log_dir = log_dir
        self.clock = clock
        self.topology = Topology.build(
            config.racks,
            rack_gpus=config.rack_gpus,
            schedulable_trays=config.schedulable_trays,
            block_racks=config.block_racks,
        )
        self.scheduler = Scheduler(
            self.topology,
            policy_named(config.policy),
            Tenancy.of(Council({}), self.topology.gpus, half_life_s=config.half_life_hours * 3600),
        )
        self.slots = GpuSlots(self.topology)
        self.market = MarketSync(self.topology.gpus, config.racks * config.rack_gpus)  # reservations, spot
        self.sync = DatabaseSync(self.scheduler, self.market, self.slots)
        self.tracker = RunTracker(self.executors)
        self.deferred: list[str] = []  # started (committed) runs waiting for a draining run's GPUs
        self.reasons: dict[str, str] = {}
        self.notes: dict[str, str] = {}  # what happened to a waiting job (preempted), shown before its reason
        self.recovered = False

    @property
    def runs(self) -> dict[str, Run]:
        """Launched (or committed) runs by job id: those running in the scheduler."""
        return self.tracker.runs

    # ------------------------------------------------------------------------------- recovery

    def recover(self) -> None:
        """Rebuild the scheduler from the database after a start or a crash (:mod:`.recovery`).

        Every executor is asked about its runs before anything changes, and runs still going are adopted
        in memory only once the database's changes are committed: an executor that cannot answer (a Ray
        server down) or a failed commit leaves the database and the loop as they were, and the next
        cycle recovers again (no run is adopted twice)."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            self.sync.council(session, now)
            rows = session.scalars(select(JobRow).where(JobRow.state == "running")).all()
            answers = [(row, ask(self.executors, row, self.log_dir, now)) for row in rows]
            settled = [(row, settle(session, row, status, now)) for row, status in answers]
        for row, usage_id in settled:
            if usage_id is not None:
                self._adopt(row, usage_id, now)
        self.recovered = True

    def _adopt(self, row: JobRow, usage_id: int, now: float) -> None:
        """Take a run still going back into the scheduler, on the GPUs it holds."""
        placement = tuple((int(r), int(g)) for r, g in row.placement or [])
        started = row.started_at.timestamp() if row.started_at else now
        self.slots.adopt(row.id, gpu_ids_of(row))
        self.scheduler.adopt(job_of(row), placement, started)
        # launched, even if the worker died before storing the reference: "" asks the executor to find
        # the run from its launch (None would mean "not launched yet" and the run would never be polled)
        ref = row.executor_ref if row.executor_ref is not None else ""
        self.runs[row.id] = run = Run(launch_of(row, self.log_dir), row.executor, ref, usage_id)
        self.tracker.track(row.id, run)

    # ---------------------------------------------------------------------------------- cycle

    def cycle(self) -> CycleStats:
        """One pass of the loop (see the module docstring)."""
        if not self.recovered:
            self.recover()
        t0 = time.perf_counter()
        now = self.clock()
        stats = CycleStats()
        with self.sessions() as session, session.begin():
            self.sync.council(session, now)
            self.sync.racks(session)
            stats.timings["council"] = time.perf_counter() - t0
            dropped, stats.submitted = self.sync.pending(session, self.executors.keys(), self.clock)
            for job_id in dropped:  # cancelled through the API
                self.reasons.pop(job_id, None)
                self.notes.pop(job_id, None)
            stats.dropped = len(dropped)
            stats.timings["pending"] = time.perf_counter() - t0
            self._poll_runs(session, now, stats)
            self.sync.budgets(session, now, self.config.require_allocation)
            stats.timings["poll"] = time.perf_counter() - t0
            result = self.scheduler.cycle(now)
            stats.timings["schedule"] = time.perf_counter() - t0
            self._preempt(session, result, now, stats)
            starts = self._record_starts(session, result, now, stats)
        stats.timings["commit"] = time.perf_counter() - t0  # starts and preemptions written, committed
        self._launch_started(starts, now)
        stats.timings["launch"] = time.perf_counter() - t0
        with self.sessions() as session, session.begin():
            self._write_reasons(session)
        stats.timings["reasons"] = time.perf_counter() - t0
        stats.seconds = time.perf_counter() - t0
        stats.timings["total"] = stats.seconds
        return stats

    def _launch_started(self, starts: list[str], now: float) -> None:
        """Launch the committed starts (a crash here leaves 'not-started' attempts for recovery)."""
        launched: list[tuple[str, str]] = []
        stopping = self.tracker.gpus_still_stopping(now)
        waiting, self.deferred = [j for j in self.deferred if j in self.runs] + starts, []
        for job_id in waiting:
            run = self.runs[job_id]
            if stopping.intersection(run.launch.gpu_ids):
                # a preempted run is still stopping on some of these GPUs (the local wrapper gives its
                # command a grace period): launch when they are free, never two processes on one GPU
                self.deferred.append(job_id)
                continue
            try:
                run.ref = self.executors[run.executor].start(run.launch, now)
                self.tracker.track(job_id, run)
                launched.append((job_id, run.ref))
            except Exception as exc:  # a launch failure fails the job, not the loop
                log.warning("job %s: launch failed: %s", job_id, exc)
                self.scheduler.finish(job_id, now)  # and gives its GPUs back
                self.slots.release(job_id)
                del self.runs[job_id]
                with self.sessions() as session, session.begin():
                    row = session.get(JobRow, job_id)
                    if row is not None:
                        usage = session.get(UsageRecord, run.usage_id)
                        finish_row(session, row, usage, now, "failed", None, f"launch failed: {exc}")
        if launched:  # one executemany (pipelined by psycopg), not a round trip per run
            with self.sessions() as session, session.begin():
                refs = [{"b_id": job_id, "b_ref": ref} for job_id, ref in launched]
                session.connection().execute(_SET_REF, refs)

    def run_forever(self, stop: threading.Event) -> None:
        """Cycle every ``interval_s`` until ``stop`` is set (the first cycle recovers; a recovery that
        fails is logged and tried again next cycle, it does not end the loop)."""
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.cycle()
            except Exception:  # keep the loop alive; the next cycle starts from the database again
                log.exception("scheduler cycle failed")
            stop.wait(max(self.config.interval_s - (time.monotonic() - started), 0.0))

    # ---------------------------------------------------------------------------- runs ending

    def _poll_runs(self, session: Session, now: float, stats: CycleStats) -> None:
        cancel = session.scalars(
            select(JobRow.id).where(JobRow.state == "running").where(JobRow.cancel_requested.is_(True))
        )
        for job_id in set(cancel):
            self.tracker.stop(job_id, "cancel")
        for job_id, run, ended in self.tracker.ended(now):
            row = session.get(JobRow, job_id)
            usage = session.get(UsageRecord, run.usage_id)
            self.scheduler.finish(job_id, now)
            self.slots.release(job_id)
            stats.ended += 1
            if row is not None:
                end = end_time(ended, now)  # billed to when the run ended, not to when the worker noticed
                finish_row(session, row, usage, end, *outcome(row, ended, run.stopping))
        self.tracker.gpus_still_stopping(now)  # forget preempted runs that have stopped

    # ------------------------------------------------------------------------- starts / preempt

    def _preempt(self, session: Session, result: CycleResult, now: float, stats: CycleStats) -> None:
        for job_id in result.preempted:
            run = self.tracker.preempt(job_id)
            self.slots.release(job_id)
            row = session.get(JobRow, job_id)
            if run is not None:
                usage = session.get(UsageRecord, run.usage_id)
                if usage is not None:
                    close_usage(session, usage, now)
            if row is not None:
                row.state = "pending"
                note = f"preempted at {utc(now):%Y-%m-%d %H:%M:%S} UTC to give GPUs back; requeued"
                row.reason = self.notes[job_id] = note
                row.placement = None
                row.gpu_ids = None
            stats.preempted += 1

    def _record_starts(
        self, session: Session, result: CycleResult, now: float, stats: CycleStats
    ) -> list[str]:
        """Commit the cycle's starts in bulk: one UPDATE per job sent as one batch (only jobs still
        pending change; one the API cancelled meanwhile does not), one read of the rows back per chunk,
        and the open usage records inserted together. Thousands of starts (the first cycle after a burst
        of submissions, or after a start) cost a few round trips, not several each."""
        started: list[str] = []
        if not result.starts:
            return started
        # GPUs busy before these starts: the cluster state's per-rack counts, not a pass over every run
        busy = sum(self.scheduler.state.used) - sum(s.job.gpus for s in result.starts)
        at = utc(now)
        gpu_ids = {
            s.job.id: ",".join(map(str, self.slots.assign(s.job.id, s.placement))) for s in result.starts
        }
        connection = session.connection()
        for chunk in range(0, len(result.starts), STARTS_CHUNK):
            batch = result.starts[chunk : chunk + STARTS_CHUNK]
            params = [
                {
                    "b_id": s.job.id,
                    "b_placement": [list(p) for p in s.placement],
                    "b_gpu_ids": gpu_ids[s.job.id],
                }
                for s in batch
            ]
            connection.execute(_START.values(started_at=at), params)
            rows = {
                row.id: row
                for row in session.scalars(
                    select(JobRow)
                    .where(JobRow.id.in_([s.job.id for s in batch]))
                    .execution_options(populate_existing=True)
                )
            }
            usages: list[tuple[JobRow, UsageRecord]] = []
            for start in batch:
                job_id = start.job.id
                row = rows.get(job_id)
                if row is None or row.state != "running" or row.gpu_ids != gpu_ids[job_id]:
                    self.scheduler.finish(job_id, now)  # cancelled between the read and now
                    self.slots.release(job_id)
                    continue
                usage = UsageRecord(
                    job_id=job_id, project_id=row.project_id, attempt=row.attempt, start_at=at, gpus=row.gpus
                )
                usage.reservation_id, usage.price_per_gpu_hour = self.market.usage_terms(
                    session, row.reservation_id, row.preemptible, busy
                )
                usages.append((row, usage))
            session.add_all([usage for _, usage in usages])
            session.flush()  # the usage records' ids, inserted together
            for row, usage in usages:
                self.runs[row.id] = Run(launch_of(row, self.log_dir), row.executor, None, usage.id)
                self.reasons.pop(row.id, None)
                self.notes.pop(row.id, None)
                started.append(row.id)
                stats.started += 1
        return started

    # -------------------------------------------------------------------------------- reasons

    def _write_reasons(self, session: Session) -> None:
        s = self.scheduler
        changed: list[dict[str, str]] = []
        for job in s.queue.in_order(self.config.reason_depth):
            reason = why_waiting(s, job)
            if s.tenancy.budgets and s.tenancy.budgets.get(job.tenant, 1.0) == 0.0:
                reason = f"{job.id} is held: project {job.tenant} has no approved allocation active now"
            if (waits_for := self.market.waiting_reason(job.tenant, session)) is not None:
                reason = f"{job.id} waits: {waits_for}"
            if job.id in self.notes:
                reason = f"{self.notes[job.id]}; {reason}"
            if self.reasons.get(job.id) != reason:
                self.reasons[job.id] = reason
                changed.append({"job_id": job.id, "reason": reason})
        if changed:  # one executemany (pipelined by psycopg), not a round trip per job
            session.connection().execute(_SET_REASON, changed)


_JOBS = cast(Table, JobRow.__table__)  # Core, so that a list of parameters is one executemany
_SET_REASON = (
    update(_JOBS)
    .where(_JOBS.c.id == bindparam("job_id"))
    .where(_JOBS.c.state == "pending")
    .values(reason=bindparam("reason"))
)
_SET_REF = update(_JOBS).where(_JOBS.c.id == bindparam("b_id")).values(executor_ref=bindparam("b_ref"))
_START = (  # the cycle's starts; only jobs still pending change (a job the API cancelled does not)
    update(_JOBS)
    .where(_JOBS.c.id == bindparam("b_id"))
    .where(_JOBS.c.state == "pending")
    .values(
        state="running",
        placement=bindparam("b_placement"),
        gpu_ids=bindparam("b_gpu_ids"),
        attempt=_JOBS.c.attempt + 1,
        reason="",
        executor_ref=None,
    )
)
