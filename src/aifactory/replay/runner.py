"""Replay a workload through the scheduler on a virtual clock.

Event-driven: the clock jumps to the next arrival or completion; all events at that instant are
applied, then one scheduling cycle runs. The scheduler is the same object the live service uses;
only the clock (here: event times) and the executor (here: a completion event ``remaining`` seconds
after a start) differ. Preempted jobs go back to the queue with the work they have left (they are
assumed to checkpoint).
"""

from __future__ import annotations

import copy
import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from aifactory.cluster.topology import Topology
from aifactory.replay.failures import FailureModel, FailureProcess
from aifactory.scheduler.admission import never_runs
from aifactory.scheduler.core import CycleResult, Options, Scheduler
from aifactory.scheduler.job import Job
from aifactory.scheduler.policies import policy_named
from aifactory.scheduler.tenancy import Tenancy


@dataclass(frozen=True, slots=True)
class Segment:
    """One run segment of a job on one rack (a row of allocations.csv)."""

    job_id: str
    segment: int
    start: float
    end: float
    rack: int
    gpus: int


@dataclass(slots=True)
class JobRecord:
    job: Job
    first_start: float = math.nan
    end: float = math.nan
    preemptions: int = 0
    interruptions: int = 0  # killed by a hardware failure, restarted from a checkpoint
    lost_s: float = 0.0  # run time lost to interruptions (done again after the restart)
    timed_out: bool = False  # stopped at its time limit before its work was done

    @property
    def wait(self) -> float:
        return self.first_start - self.job.submit

    @property
    def jct(self) -> float:
        return self.end - self.job.submit


@dataclass
class ReplayResult:
    topology: Topology
    policy: str
    tenancy: Tenancy
    records: dict[str, JobRecord]
    segments: list[Segment]
    rejected: list[tuple[Job, str]] = field(default_factory=list)
    held: list[tuple[Job, str]] = field(default_factory=list)  # never started: budget spent
    cycles: int = 0
    idle_while_waiting_gpu_s: float = 0.0  # GPUs unallocated while jobs waited (fragmentation, topology)
    idle_while_waiting: list[tuple[float, float, int]] = field(default_factory=list)  # (from, to, GPUs)
    tray_failures: int = 0
    lost_gpu_s: float = 0.0  # work lost to failures (since the interrupted jobs' last checkpoints)


def prepare(jobs: list[Job], *, time_scale: float = 1.0, scale_gpus: float = 1.0) -> list[Job]:
    """Compress arrivals (``time_scale`` > 1 packs them closer) and scale job sizes (at least 1 GPU)."""
    if time_scale <= 0 or scale_gpus <= 0:
        raise ValueError("time_scale and scale_gpus must be > 0")
    if time_scale == 1.0 and scale_gpus == 1.0:
        return jobs
    return [
        replace(job, submit=job.submit / time_scale, gpus=max(1, round(job.gpus * scale_gpus)))
        for job in jobs
    ]


def replay(
    jobs: list[Job],
    topology: Topology,
    policy: str,
    tenancy: Tenancy,
    *,
    options: Options | None = None,
    rack_online: dict[int, float] | None = None,
    failures: FailureModel | None = None,
    seed: int = 0,
    on_progress: Callable[[int], None] | None = None,
    until: float = math.inf,
) -> ReplayResult:
    """Run ``jobs`` (sorted by submit time) through a fresh scheduler until every job has finished.

    ``rack_online`` gives racks that join the factory later (rack → time it comes online, e.g. when the
    supply twin delivers it); until then a rack is drained. Jobs need every rack to arrive eventually
    to be sure of running: a job larger than the racks ever online is rejected. ``failures`` breaks
    trays at random (drawn from ``seed``) and repairs them; the jobs hit restart from a checkpoint.
    A finite ``until`` stops the replay then: segments still open end there, what waits stays unstarted.
    """
    tenancy = copy.deepcopy(tenancy)  # usage and spending accrue on the replay's own copy
    sched = Scheduler(topology, policy_named(policy), tenancy, options)
    arrivals_of_racks = sorted((t, rack) for rack, t in (rack_online or {}).items() if math.isfinite(t))
    for rack in rack_online or {}:
        sched.drain(rack)
    r_i = 0
    online_gpus = (
        topology.gpus
        - len(rack_online or {}) * topology.rack_gpus
        + len(arrivals_of_racks) * topology.rack_gpus
    )
    result = ReplayResult(topology, policy, tenancy, {}, [])
    runnable: list[Job] = []
    power = options.power if options is not None else None
    for job in jobs:
        reason = never_runs(job.gpus, online_gpus, tenancy, job.tenant, power)
        if reason is not None:
            result.rejected.append((job, reason))
        else:
            runnable.append(job)
    runnable.sort(key=lambda j: j.submit)
    records = {job.id: JobRecord(job) for job in runnable}
    result.records = records
    open_segments: dict[str, OpenSegment] = {}
    completions: list[tuple[float, int, str, int]] = []  # (time, seq, job id, segment)
    seq = 0
    i, n = 0, len(runnable)
    done = 0
    reclaim = sched.may_preempt
    last = runnable[0].submit if runnable else 0.0
    period = tenancy.budget_period_s
    process = None
    if failures is not None:
        online = np.ones(topology.racks, dtype=np.bool_)
        online[list(rack_online or {})] = False
        process = FailureProcess(
            failures, np.random.default_rng(seed), np.array(sched.state.healthy_trays, dtype=np.int64), online
        )
        process.plan(runnable[0].submit if runnable else 0.0)
    while (
        i < n
        or completions
        or (len(sched.queue) and (r_i < len(arrivals_of_racks) or period))
        or (len(sched.queue) and process is not None and process.repairs)  # jobs wait for repairs
    ):
        renewal = math.inf
        if period is not None and len(sched.queue) and tenancy.spent:
            renewal = (math.floor(last / period) + 1) * period  # held jobs may run again then
        now = min(
            runnable[i].submit if i < n else math.inf,
            completions[0][0] if completions else math.inf,
            arrivals_of_racks[r_i][0] if r_i < len(arrivals_of_racks) and len(sched.queue) else math.inf,
            renewal,
            process.next_event()
            if process is not None and (i < n or completions or (len(sched.queue) and process.repairs))
            else math.inf,
        )
        if now == math.inf:
            if r_i >= len(arrivals_of_racks):
                break  # only held jobs are left, and no budget renews
            now = arrivals_of_racks[r_i][0]  # jobs wait for racks that are still to arrive
        if now > until:
            if len(sched.queue) and sched.state.free_gpus and until > last:
                result.idle_while_waiting_gpu_s += (until - last) * sched.state.free_gpus
                result.idle_while_waiting.append((last, until, sched.state.free_gpus))
            for job_id in list(open_segments):
                _close(result.segments, open_segments.pop(job_id), job_id, until)
            return result
        if len(sched.queue) and sched.state.free_gpus and now > last:
            result.idle_while_waiting_gpu_s += (now - last) * sched.state.free_gpus
            result.idle_while_waiting.append((last, now, sched.state.free_gpus))
        last = now
        freed = False
        while completions and completions[0][0] <= now:
            _, _, job_id, segment = heapq.heappop(completions)
            if sched.segments.get(job_id) != segment or job_id not in sched.running:
                continue  # stale: the job was preempted after this completion was planned
            sched.finish(job_id, now)
            _close(result.segments, open_segments.pop(job_id), job_id, now)
            records[job_id].end = now
            freed = True
            done += 1
        if now == renewal:
            freed = True  # a new budget period: held jobs are eligible again
        while r_i < len(arrivals_of_racks) and arrivals_of_racks[r_i][0] <= now:
            sched.restore(arrivals_of_racks[r_i][1])
            if process is not None:
                process.online[arrivals_of_racks[r_i][1]] = True
                process.plan(now)
            r_i += 1
            freed = True
        if process is not None:
            for rack in process.repaired(now):
                sched.repair_tray(rack)
                freed = True
            if process.next_failure <= now:
                broken = CycleResult()
                rack, u = process.fail(now)
                sched.fail_tray(rack, now, u, broken)
                result.tray_failures += 1
                for job_id, lost in broken.lost_s.items():
                    records[job_id].lost_s += lost
                    result.lost_gpu_s += lost * records[job_id].job.gpus
                seq = _apply(broken, sched, now, records, open_segments, result.segments, completions, seq)
                freed = True
        arrived = False
        while i < n and runnable[i].submit <= now:
            sched.submit(runnable[i])
            i += 1
            arrived = True
        if not (freed or (arrived and (sched.state.free_gpus > 0 or reclaim))):
            continue
        cycle = sched.cycle(now)
        result.cycles += 1
        seq = _apply(cycle, sched, now, records, open_segments, result.segments, completions, seq)
        if on_progress is not None and freed:
            on_progress(done)
        if now == renewal and not (cycle.starts or completions or i < n or r_i < len(arrivals_of_racks)):
            break  # a new period started nothing: what waits is held by budgets that are 0
    for job in list(sched.queue.in_order()):
        if not sched.eligible(job):  # held for good (unfinished): its tenant's budget is spent
            holder = sched.tenancy.budget_holder(job.tenant)
            spent = sched.tenancy.spent.get(holder, 0.0) / 3600
            who = "tenant" if holder == job.tenant else "programme"
            result.held.append((job, f"{who} {holder} spent its GPU-hour budget ({spent:,.1f} GPU-h)"))
    if len(sched.queue) > len(result.held):  # cannot happen: every runnable job fits an empty factory
        raise RuntimeError(
            f"{len(sched.queue) - len(result.held)} jobs left pending at the end of the replay"
        )
    return result


OpenSegment = tuple[int, float, tuple[tuple[int, int], ...]]  # segment number, start, placement


def _apply(
    cycle: CycleResult,
    sched: Scheduler,
    now: float,
    records: dict[str, JobRecord],
    open_segments: dict[str, OpenSegment],
    segments: list[Segment],
    completions: list[tuple[float, int, str, int]],
    seq: int,
) -> int:
    """Carry out a cycle's decisions: close preempted segments, open started ones, plan completions."""
    for job_id in cycle.preempted:
        records[job_id].preemptions += 1
        _close(segments, open_segments.pop(job_id), job_id, now)
    for job_id in cycle.interrupted:
        records[job_id].interruptions += 1
        _close(segments, open_segments.pop(job_id), job_id, now)
    for start in cycle.starts:
        job = start.job
        run = sched.running[job.id]
        open_segments[job.id] = (run.segment, now, start.placement)
        record = records[job.id]
        if math.isnan(record.first_start):
            record.first_start = now
        run_for = run.remaining
        if job.time_limit is not None:  # the executor stops a job at its limit (run time so far counts)
            limit_left = max(job.time_limit - (job.duration - run.remaining), 0.0)
            if limit_left < run_for:
                run_for = limit_left
                record.timed_out = True
        heapq.heappush(completions, (now + run_for, seq, job.id, run.segment))
        seq += 1
    return seq


def _close(segments: list[Segment], opened: OpenSegment, job_id: str, now: float) -> None:
    segment, started, placement = opened
    for rack, gpus in placement:
        segments.append(Segment(job_id, segment, started, now, rack, gpus))
