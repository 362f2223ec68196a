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
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from aifactory.cluster.topology import Topology
from aifactory.market import allocations as market_alloc
from aifactory.market.slices import reservation_tenant
from aifactory.scheduler.core import CycleResult, Scheduler
from aifactory.scheduler.council import Council
from aifactory.scheduler.job import Job
from aifactory.scheduler.policies import policy_named
from aifactory.scheduler.tenancy import Tenancy
from aifactory.service.db.models import Allocation as AllocationRow
from aifactory.service.db.models import Job as JobRow
from aifactory.service.db.models import Programme as ProgrammeRow
from aifactory.service.db.models import Project as ProjectRow
from aifactory.service.db.models import RackState as RackStateRow
from aifactory.service.db.models import UsageRecord
from aifactory.service.executors.base import Ended, Executor, Launch, Status
from aifactory.service.market_sync import MarketSync

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


STARTS_CHUNK = 500  # starts written per batch (and ids per IN list)


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class GpuSlots:
    """Which GPUs (global ids ``rack × rack_gpus + slot``) each running job holds."""

    def __init__(self, topology: Topology) -> None:
        self.rack_gpus = topology.rack.gpus  # ids count every GPU of a rack; spares' slots stay unused
        self.schedulable = topology.rack_gpus
        self.free: list[list[int]] = [list(range(topology.rack_gpus)) for _ in range(topology.racks)]
        self.blocked: list[set[int]] = [set() for _ in range(topology.racks)]
        self.held: dict[str, list[int]] = {}

    def block_last_trays(self, rack: int, trays: int, gpus_per_tray: int) -> None:
        """GPU slots of the rack's last ``trays`` schedulable trays are out of service (broken): none is
        given to a new run (a run holding one keeps it until it ends)."""
        end = self.schedulable
        self.blocked[rack] = set(range(max(end - trays * gpus_per_tray, 0), end))

    def assign(self, job_id: str, placement: Any) -> list[int]:
        ids: list[int] = []
        for rack, gpus in placement:
            blocked = self.blocked[rack]
            free = sorted(s for s in self.free[rack] if s not in blocked)
            taken = free[:gpus]
            self.free[rack] = free[gpus:] + [s for s in self.free[rack] if s in blocked]
            if len(taken) < gpus:
                raise RuntimeError(f"rack {rack} has {len(taken)} free GPU slots, {gpus} wanted")
            ids += [rack * self.rack_gpus + s for s in taken]
        self.held[job_id] = ids
        return ids

    def adopt(self, job_id: str, ids: list[int]) -> None:
        for gid in ids:
            rack, slot = divmod(gid, self.rack_gpus)
            if slot in self.free[rack]:
                self.free[rack].remove(slot)
        self.held[job_id] = list(ids)

    def release(self, job_id: str) -> None:
        for gid in self.held.pop(job_id, []):
            rack, slot = divmod(gid, self.rack_gpus)
            self.free[rack].append(slot)


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


@dataclass
class _Run:
    launch: Launch
    executor: str
    ref: str | None
    usage_id: int
    stopping: str | None = None  # "cancel" or "preempt" once asked to stop
    poll_after: float = 0.0  # the run cannot end on its own before this (unix time; 0: poll every cycle)


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
        self.runs: dict[str, _Run] = {}  # running in the scheduler
        self.draining: dict[str, _Run] = {}  # preempted: out of the scheduler, process still stopping
        self.deferred: list[str] = []  # started (committed) runs waiting for a draining run's GPUs
        # Runs to poll: those whose executor cannot say when they end (every cycle), the others from
        # when they can first have ended (a heap of (time, job id, attempt); stale entries are skipped).
        self._poll_every_cycle: set[str] = set()
        self._poll_from: list[tuple[float, str, int]] = []
        self.reasons: dict[str, str] = {}
        self.notes: dict[str, str] = {}  # what happened to a waiting job (preempted), shown before its reason
        self._council_key: Any = None
        self._racks_key: Any = ()  # no rack_states rows: every rack in service
        self.recovered = False

    # ------------------------------------------------------------------------------- recovery

    def recover(self) -> None:
        """Rebuild the scheduler from the database after a start or a crash.

        Every executor is asked about its runs before anything changes, and runs still going are adopted
        in memory only once the database's changes are committed: an executor that cannot answer (a Ray
        server down) or a failed commit leaves the database and the loop as they were, and the next
        cycle recovers again (no run is adopted twice)."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            self._sync_council(session, now)
            rows = session.scalars(select(JobRow).where(JobRow.state == "running")).all()
            answers = [(row, self._ask(row, now)) for row in rows]
            settled = [(row, self._settle(session, row, status, now)) for row, status in answers]
        for row, usage_id in settled:
            if usage_id is not None:
                self._adopt(row, usage_id, now)
        self.recovered = True

    def _ask(self, row: JobRow, now: float) -> Ended | Status | None:
        """What the run's executor says about it (``None``: its executor is not set up here)."""
        executor = self.executors.get(row.executor)
        return None if executor is None else executor.recover(self._launch(row), row.executor_ref, now)

    def _settle(self, session: Session, row: JobRow, status: Ended | Status | None, now: float) -> int | None:
        """Write what became of a run while the worker was down; ``None`` once settled, else (a run still
        going, to adopt) the id of its open usage record (0 without one)."""
        usage = session.scalar(
            select(UsageRecord).where(
                UsageRecord.job_id == row.id, UsageRecord.attempt == row.attempt, UsageRecord.end_at.is_(None)
            )
        )
        if status is None:
            self._finish_row(
                session, row, usage, now, "failed", None, f"executor {row.executor} is not set up"
            )
            return None
        if status == "not-started":  # committed as started, but the worker died before launching it
            row.state = "pending"
            row.attempt -= 1
            row.reason = "requeued: the worker restarted before launching it"
            row.started_at = None
            row.placement = None
            row.gpu_ids = None
            if usage is not None:
                session.delete(usage)
            return None
        if isinstance(status, Ended):
            self._finish_row(session, row, usage, _end(status, now), *self._outcome(row, status, None))
            return None
        return usage.id if usage is not None else 0

    def _adopt(self, row: JobRow, usage_id: int, now: float) -> None:
        """Take a run still going back into the scheduler, on the GPUs it holds."""
        launch = self._launch(row)
        job = self._job(row)
        placement = tuple((int(r), int(g)) for r, g in row.placement or [])
        started = row.started_at.timestamp() if row.started_at else now
        self.scheduler.adopt(job, placement, started)
        self.slots.adopt(row.id, [int(x) for x in (row.gpu_ids or "").split(",") if x])
        # launched, even if the worker died before storing the reference: "" asks the executor to find
        # the run from its launch (None would mean "not launched yet" and the run would never be polled)
        ref = row.executor_ref if row.executor_ref is not None else ""
        self.runs[row.id] = run = _Run(launch, row.executor, ref, usage_id)
        self._track(row.id, run)

    # ---------------------------------------------------------------------------------- cycle

    def cycle(self) -> CycleStats:
        """One pass of the loop (see the module docstring)."""
        if not self.recovered:
            self.recover()
        t0 = time.perf_counter()
        now = self.clock()
        stats = CycleStats()
        with self.sessions() as session, session.begin():
            self._sync_council(session, now)
            self._sync_racks(session)
            stats.timings["council"] = time.perf_counter() - t0
            self._sync_pending(session, stats)
            stats.timings["pending"] = time.perf_counter() - t0
            self._poll_runs(session, now, stats)
            self._set_budgets(session, now)
            stats.timings["poll"] = time.perf_counter() - t0
            result = self.scheduler.cycle(now)
            stats.timings["schedule"] = time.perf_counter() - t0
            self._preempt(session, result, now, stats)
            starts = self._record_starts(session, result, now, stats)
        stats.timings["commit"] = time.perf_counter() - t0  # starts and preemptions written, committed
        launched: list[tuple[str, str]] = []
        stopping = self._gpus_still_stopping(now)
        waiting, self.deferred = [j for j in self.deferred if j in self.runs] + starts, []
        for job_id in waiting:  # committed: now launch (a crash here leaves 'not-started' attempts)
            run = self.runs[job_id]
            if stopping.intersection(run.launch.gpu_ids):
                # a preempted run is still stopping on some of these GPUs (the local wrapper gives its
                # command a grace period): launch when they are free, never two processes on one GPU
                self.deferred.append(job_id)
                continue
            try:
                run.ref = self.executors[run.executor].start(run.launch, now)
                self._track(job_id, run)
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
                        self._finish_row(session, row, usage, now, "failed", None, f"launch failed: {exc}")
        if launched:  # one executemany (pipelined by psycopg), not a round trip per run
            with self.sessions() as session, session.begin():
                refs = [{"b_id": job_id, "b_ref": ref} for job_id, ref in launched]
                session.connection().execute(_SET_REF, refs)
        stats.timings["launch"] = time.perf_counter() - t0
        with self.sessions() as session, session.begin():
            self._write_reasons(session)
        stats.timings["reasons"] = time.perf_counter() - t0
        stats.seconds = time.perf_counter() - t0
        stats.timings["total"] = stats.seconds
        return stats

    def _gpus_still_stopping(self, now: float) -> set[int]:
        """The GPUs of preempted runs whose processes have not ended yet (ended ones are forgotten)."""
        busy: set[int] = set()
        for job_id, run in list(self.draining.items()):
            if run.ref is None or self.executors[run.executor].poll(run.launch, run.ref, now) is not None:
                del self.draining[job_id]
            else:
                busy.update(run.launch.gpu_ids)
        return busy

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

    # -------------------------------------------------------------------------------- council

    def _sync_council(self, session: Session, now: float) -> None:
        programmes = session.execute(select(ProgrammeRow.id, ProgrammeRow.share)).all()
        projects = session.execute(
            select(ProjectRow.id, ProjectRow.programme_id, ProjectRow.weight, ProjectRow.quota_gpus)
        ).all()
        self.market.read(session, utc(now), programmes, self.scheduler)  # reservations in their window
        key = (tuple(programmes), tuple(projects), self.market.key)
        if key == self._council_key:
            return
        self.scheduler.set_council(self.market.council(programmes, projects))
        self._council_key = key

    def _sync_racks(self, session: Session) -> None:
        """Drained racks and broken trays from ``rack_states`` (set by the operator): a drained rack takes
        no new run, its running ones finish; broken trays are replaced by spares first, then the rack
        shrinks (its last schedulable trays' GPU slots are given to no new run)."""
        rows = session.execute(
            select(RackStateRow.rack, RackStateRow.drained, RackStateRow.failed_trays)
        ).all()
        key = tuple(sorted(tuple(row) for row in rows))
        if key == self._racks_key:
            return
        wanted = {int(rack): (bool(drained), int(failed)) for rack, drained, failed in rows}
        topology = self.topology
        for rack in range(topology.racks):
            drained, failed = wanted.get(rack, (False, 0))
            healthy = max(topology.rack.trays - failed, 0)
            self.scheduler.set_rack(rack, drained=drained, healthy_trays=healthy)
            lost = topology.schedulable_trays - min(topology.schedulable_trays, healthy)
            self.slots.block_last_trays(rack, lost, topology.rack.gpus_per_tray)
        self._racks_key = key

    def _set_budgets(self, session: Session, now: float) -> None:
        """Budgets from approved allocations active now, and what each project spent on them (their
        burn-down); reservation tenants are held outside their windows. The scheduler adds its runs'
        open segments."""
        budgets: dict[str, float] = {}
        settled: dict[str, float] | None = None
        if self.config.require_allocation:
            at = utc(now)
            granted_used = (AllocationRow.gpu_hours_granted, AllocationRow.gpu_hours_used)
            rows = session.execute(
                select(AllocationRow.project_id, *granted_used)
                .where(AllocationRow.state == "approved")
                .where(AllocationRow.start_at <= at)
                .where(AllocationRow.end_at > at)
            ).all()
            tenants = self.scheduler.tenancy.entitlements
            budgets = dict.fromkeys(tenants, 0.0)
            settled = dict.fromkeys(tenants, 0.0)
            for project, granted, used in rows:
                budgets[project] = budgets.get(project, 0.0) + (granted or 0.0) * 3600
                settled[project] = settled.get(project, 0.0) + used * 3600
        self.market.hold_outside_windows(budgets, self.scheduler.running_gpus)
        self.scheduler.set_budgets(now, budgets, settled)

    # -------------------------------------------------------------------------------- pending

    def _sync_pending(self, session: Session, stats: CycleStats) -> None:
        # One row, not one per pending job: the ids joined by the database (string_agg / group_concat)
        # cost a fraction of fetching thousands of rows every cycle.
        joined = session.scalar(
            select(func.aggregate_strings(JobRow.id, ",")).where(JobRow.state == "pending")
        )
        ids = set(joined.split(",")) if joined else set()
        queue = self.scheduler.queue
        for job_id in queue.jobs.keys() - ids:  # cancelled through the API
            self.scheduler.cancel_pending(job_id)
            self.reasons.pop(job_id, None)
            self.notes.pop(job_id, None)
            stats.dropped += 1
        new = list(ids - queue.jobs.keys() - self.scheduler.running.keys())
        for chunk in range(0, len(new), 500):
            rows = session.scalars(
                select(JobRow).where(JobRow.id.in_(new[chunk : chunk + 500])).order_by(JobRow.seq)
            ).all()
            for row in rows:
                if row.executor not in self.executors:
                    row.state = "failed"
                    row.ended_at = utc(self.clock())
                    row.reason = f"executor {row.executor} is not set up on this worker"
                    continue
                self.scheduler.submit(self._job(row))
                stats.submitted += 1

    def _job(self, row: JobRow) -> Job:
        return Job(
            id=row.id,
            tenant=row.project_id if row.reservation_id is None else reservation_tenant(row.reservation_id),
            gpus=row.gpus,
            submit=row.submitted_at.timestamp(),
            duration=row.time_limit_s,  # the live service does not know the run time; it plans with the limit
            priority=row.priority,
            time_limit=row.time_limit_s,
            preemptible=row.preemptible,
        )

    def _launch(self, row: JobRow) -> Launch:
        return Launch(
            job_id=row.id,
            attempt=row.attempt,
            command=row.command,
            image=row.image,
            gpu_ids=tuple(int(x) for x in (row.gpu_ids or "").split(",") if x),
            time_limit_s=row.time_limit_s,
            duration_s=row.duration_s,
            log_path=self.log_dir / f"{row.id}.log",
        )

    # ---------------------------------------------------------------------------- runs ending

    def _poll_runs(self, session: Session, now: float, stats: CycleStats) -> None:
        cancel = set(
            session.scalars(
                select(JobRow.id).where(JobRow.state == "running").where(JobRow.cancel_requested.is_(True))
            )
        )
        for job_id in cancel:
            run = self.runs.get(job_id)
            if run is not None and run.stopping is None and run.ref is not None:
                run.stopping = "cancel"
                self.executors[run.executor].stop(run.launch, run.ref)
                self._poll_every_cycle.add(job_id)
        while self._poll_from and self._poll_from[0][0] <= now:  # runs that may have ended by now
            _, job_id, attempt = heapq.heappop(self._poll_from)
            run = self.runs.get(job_id)
            if run is not None and run.launch.attempt == attempt:
                self._poll_every_cycle.add(job_id)
        for job_id in list(self._poll_every_cycle):
            run = self.runs.get(job_id)
            if run is None:  # ended, preempted or failed since
                self._poll_every_cycle.discard(job_id)
                continue
            if run.ref is None:
                continue
            ended = self.executors[run.executor].poll(run.launch, run.ref, now)
            if ended is None:
                continue
            self._poll_every_cycle.discard(job_id)
            row = session.get(JobRow, job_id)
            usage = session.get(UsageRecord, run.usage_id)
            self.scheduler.finish(job_id, now)
            self.slots.release(job_id)
            del self.runs[job_id]
            stats.ended += 1
            if row is not None:
                end = _end(ended, now)  # billed to when the run ended, not to when the worker noticed
                self._finish_row(session, row, usage, end, *self._outcome(row, ended, run.stopping))
        self._gpus_still_stopping(now)  # forget preempted runs that have stopped

    def _track(self, job_id: str, run: _Run) -> None:
        """Poll a launched run every cycle, or, if its executor knows when it can first have ended (the
        simulated one does: start + duration), only from then on (a stop request polls it at once). With
        thousands of runs this keeps polling off the cycle's critical path."""
        earliest_end = getattr(self.executors.get(run.executor), "earliest_end", None)
        if earliest_end is None or run.ref is None:
            self._poll_every_cycle.add(job_id)
            return
        run.poll_after = float(earliest_end(run.launch, run.ref))
        heapq.heappush(self._poll_from, (run.poll_after, job_id, run.launch.attempt))

    def _outcome(self, row: JobRow, ended: Ended, stopping: str | None) -> tuple[str, int | None, str]:
        if stopping == "cancel" or (ended.stopped and row.cancel_requested):
            return "cancelled", ended.exit_code, "cancelled while running"
        if ended.lost:
            return "failed", ended.exit_code, f"lost: {ended.message}"
        if ended.timed_out:
            return "timed_out", ended.exit_code, f"stopped at its time limit of {row.time_limit_s:g} s"
        if ended.exit_code == 0:
            return "succeeded", 0, ""
        return "failed", ended.exit_code, f"exit code {ended.exit_code}"

    def _finish_row(
        self,
        session: Session,
        row: JobRow,
        usage: UsageRecord | None,
        now: float,
        state: str,
        exit_code: int | None,
        reason: str,
    ) -> None:
        row.state = state
        row.exit_code = exit_code
        row.ended_at = utc(now)
        row.reason = reason
        if usage is not None:
            self._close_usage(session, usage, now)

    def _close_usage(self, session: Session, usage: UsageRecord, now: float) -> None:
        end = max(utc(now), usage.start_at)
        usage.end_at = end
        usage.gpu_hours = usage.gpus * (end - usage.start_at).total_seconds() / 3600
        if usage.reservation_id is not None:
            return  # paid by its booking: no allocation burns
        rows = session.scalars(
            select(AllocationRow)
            .where(AllocationRow.project_id == usage.project_id)
            .where(AllocationRow.state.in_(("approved", "expired")))
            .where(AllocationRow.gpu_hours_granted.is_not(None))
            .order_by(AllocationRow.id)
        ).all()
        if not rows or end <= usage.start_at:
            return
        domain = [
            market_alloc.Allocation(
                project=r.project_id,
                gpu_hours_requested=r.gpu_hours_requested,
                gpu_hours_granted=r.gpu_hours_granted,
                start=r.start_at,
                end=r.end_at,
                state=market_alloc.AllocationState(r.state),
                used=r.gpu_hours_used,
            )
            for r in rows
        ]
        burned = market_alloc.burn(domain, usage.project_id, usage.start_at, end, usage.gpus)
        for index, hours in burned.charges:
            rows[index].gpu_hours_used += hours
        if burned.charges:
            usage.allocation_id = rows[burned.charges[0][0]].id

    # ------------------------------------------------------------------------- starts / preempt

    def _preempt(self, session: Session, result: CycleResult, now: float, stats: CycleStats) -> None:
        for job_id in result.preempted:
            run = self.runs.pop(job_id, None)
            self._poll_every_cycle.discard(job_id)
            self.slots.release(job_id)
            row = session.get(JobRow, job_id)
            if run is not None:
                if run.ref is not None:
                    self.executors[run.executor].stop(run.launch, run.ref)
                    run.stopping = "preempt"
                    self.draining[job_id] = run
                usage = session.get(UsageRecord, run.usage_id)
                if usage is not None:
                    self._close_usage(session, usage, now)
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
        busy = int(self.scheduler.state.used.sum()) - sum(s.job.gpus for s in result.starts)
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
                self.runs[row.id] = _Run(self._launch(row), row.executor, None, usage.id)
                self.reasons.pop(row.id, None)
                self.notes.pop(row.id, None)
                started.append(row.id)
                stats.started += 1
        return started

    # -------------------------------------------------------------------------------- reasons

    def _write_reasons(self, session: Session) -> None:
        from aifactory.scheduler.explain import why_waiting

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


def _end(ended: Ended, now: float) -> float:
    """When a run ended: the executor's own time when it knows it (never after ``now``), else ``now``."""
    return min(ended.ended_at, now) if ended.ended_at is not None else now
