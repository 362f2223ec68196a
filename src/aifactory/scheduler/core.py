"""The scheduler: pending queue, running jobs, tenancy, and one scheduling cycle at a time.

Pure: time comes in as ``now`` (seconds on whatever clock the caller runs — a replay's virtual clock
or the service's wall clock); nothing here reads a clock, prints or touches a file. The same object
drives trace replay and the live service, and both change its state only through its methods: events
(``submit``, ``finish``, ``cancel_pending``, failures and repairs), the council and budgets
(``set_council``, ``set_budgets``), racks (``drain``, ``restore``, ``set_rack``), running jobs found after
a restart (``adopt``), and ``cycle``.

The policy is a value (:class:`~aifactory.scheduler.policy.Policy`) the caller looks up by name and
passes in; this module knows none of them. One cycle, in numbered phases (``cycle``, as Kueue's):

1. *account*  — tenants' decayed usage and budget spending are brought up to ``now``;
2. *admit*    — the policy starts what it can, in its order, on topology-aware placements;
3. *reclaim*  — a preempting policy may stop borrowers so that a tenant below its entitlement gets its
   share (inside the policy's admit function: reclaim is tried for the jobs admission could not start);
4. *record*   — why each job that still waits is waiting comes back in the result (and is kept for
   ``explain``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from aifactory.cluster.state import ClusterState, Placement
from aifactory.cluster.topology import Topology
from aifactory.scheduler.admission import PowerCap
from aifactory.scheduler.council import Council
from aifactory.scheduler.explain import why_waiting
from aifactory.scheduler.job import Job
from aifactory.scheduler.placement import place
from aifactory.scheduler.policy import Policy
from aifactory.scheduler.queue import PendingQueue
from aifactory.scheduler.tenancy import Tenancy


@dataclass(frozen=True, slots=True)
class Start:
    job: Job
    placement: Placement


@dataclass(slots=True)
class Running:
    job: Job
    placement: Placement
    start: float
    remaining: float  # work left at ``start`` (seconds)
    segment: int
    expected_end: float = 0.0  # start + what is left of its estimate (time limit): what backfill plans with

    def __post_init__(self) -> None:
        planned = self.job.estimate - (self.job.duration - self.remaining)
        self.expected_end = self.start + max(planned, 0.0)

    @property
    def gpus(self) -> int:
        return self.job.gpus


@dataclass
class CycleResult:
    """What the caller must carry out: starts, preemptions, and jobs a hardware failure interrupted
    (with the GPU-seconds of work they lost since their last checkpoint); and why the jobs the policy
    looked at but did not start wait (job → reason, phase *record*)."""

    starts: list[Start] = field(default_factory=list)
    preempted: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    lost_s: dict[str, float] = field(default_factory=dict)  # run time lost per interrupted job
    waiting: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Options:
    """Knobs of the policies (keyword-only, gathered in one place)."""

    backfill_depth: int = 200  # pending jobs a backfill pass looks at (as Slurm's bf_max_job_test)
    tenant_depth: int = 8  # jobs per tenant fair share tries when the tenant's head does not fit
    reclaim: bool = True  # fair share: preempt borrowers for a tenant below its entitlement
    # fair share / quota: a queue head waiting longer than this starts as soon as it fits and holds a
    # reservation until then (off by default: on a saturated factory it turns fair share into FIFO)
    starvation_s: float = float("inf")
    # a job interrupted by a hardware failure restarts from its last checkpoint (taken this often)
    checkpoint_s: float = 3600.0
    # the facility power budget: a start that would put more GPUs to work than it allows waits
    power: PowerCap | None = None


class Scheduler:
    """State of one AI factory's scheduling: what waits, what runs, where, and for whom."""

    def __init__(
        self, topology: Topology, policy: Policy, tenancy: Tenancy, options: Options | None = None
    ) -> None:
        self.topology = topology
        self.rack_gpus = topology.rack_gpus
        self.policy = policy
        self.tenancy = tenancy
        self.options = options or Options()
        self.state = ClusterState(topology)
        self.queue = PendingQueue()
        self.running: dict[str, Running] = {}
        self.running_by_tenant: dict[str, dict[str, Running]] = {}  # in start order (oldest first)
        self.running_priorities: dict[str, Counter[int]] = {}  # tenant → running jobs per priority
        self.running_gpus: dict[str, int] = dict.fromkeys(tenancy.entitlements, 0)
        self.programme_gpus: dict[str, int] = dict.fromkeys(tenancy.parents.values(), 0)
        self.segments: dict[str, int] = {}
        self.remaining: dict[str, float] = {}
        self.reasons: dict[str, str] = {}  # the last cycle's ``waiting``
        self.busy_gpus = 0  # GPUs held by running jobs
        if self.options.power is not None:
            self.capacity_changed()  # the budget may allow fewer GPUs busy than there are

    @property
    def policy_name(self) -> str:
        return self.policy.name

    # ------------------------------------------------------------------------------------ events

    def submit(self, job: Job) -> None:
        if job.id in self.running or job.id in self.queue:
            raise ValueError(f"job {job.id} is already known")
        if job.gpus < 1:
            raise ValueError(f"job {job.id}: gpus must be at least 1")
        self.tenancy.ensure(job.tenant)
        self.running_gpus.setdefault(job.tenant, 0)
        self.programme_gpus.setdefault(self.tenancy.programme_of(job.tenant), 0)
        self.remaining.setdefault(job.id, job.duration)
        self.queue.add(job)

    def finish(self, job_id: str, now: float) -> Running:
        """A running job ended (completed, failed or cancelled): free its GPUs."""
        self.tenancy.advance(now, self.running_gpus)  # its last interval counts in the usage
        run = self._stop(job_id)
        self.remaining.pop(job_id, None)
        self.segments.pop(job_id, None)
        return run

    def cancel_pending(self, job_id: str) -> Job:
        self.remaining.pop(job_id, None)
        self.segments.pop(job_id, None)
        self.reasons.pop(job_id, None)
        return self.queue.remove(job_id)

    # ------------------------------------------------------------------------------------- cycle

    def cycle(self, now: float) -> CycleResult:
        """One scheduling cycle at ``now``: starts (and preemptions) the caller must carry out, and why
        the rest waits."""
        result = CycleResult()
        # 1. account: usage decays and budgets are spent up to now
        self.tenancy.advance(now, self.running_gpus)
        # 2. admit (and 3. reclaim, for a preempting policy): the policy's own order and rules
        if len(self.queue):
            self.policy.admit(self, now, result)
        # 4. record: the reasons describe this cycle only
        self.reasons = result.waiting
        return result

    # ------------------------------------------------------------------------ driver's changes

    def adopt(self, job: Job, placement: Placement, started: float) -> None:
        """A job found running after a restart (the service's recovery): it holds ``placement`` since
        ``started``, as if this scheduler had started it."""
        self.submit(job)
        self.start(job, placement, started, CycleResult())

    def set_council(self, council: Council) -> None:
        """The council changed (programmes, projects, reservations): new entitlements over the same
        factory; tenants' decayed usage, spending and the accounting clock carry over, budgets are the
        new council's (``set_budgets`` sets others)."""
        old = self.tenancy
        tenancy = Tenancy.of(
            council, old.total_gpus, half_life_s=old.half_life_s, budget_period_s=old.budget_period_s
        )
        tenancy.usage.update(old.usage)
        tenancy.spent = dict(old.spent)
        tenancy.last = old.last
        self.tenancy = tenancy
        for tenant in tenancy.entitlements:
            self.running_gpus.setdefault(tenant, 0)
        for programme in set(tenancy.parents.values()):
            self.programme_gpus.setdefault(programme, 0)

    def set_budgets(
        self, now: float, budgets: Mapping[str, float], settled: Mapping[str, float] | None = None
    ) -> None:
        """GPU-second budgets (tenant or programme → budget; absent: unlimited) from ``now`` on, and —
        when the caller keeps the books (the service's ledger) — what each tenant spent on closed
        segments: the running jobs' time up to ``now`` is added here. Spending from then on accrues in
        the cycle's *account* phase, the same path that spends a replay's budgets."""
        self.tenancy.advance(now, self.running_gpus)  # accounting up to now, on the budgets so far
        tenancy = self.tenancy
        tenancy.budgets = dict(budgets)
        if settled is None:
            return
        spent = dict(settled)
        get = spent.get
        for run in self.running.values():  # one pass over every run: kept tight
            if run.start < now:
                job = run.job
                spent[job.tenant] = get(job.tenant, 0.0) + job.gpus * (now - run.start)
        tenancy.spent = spent

    def set_rack(self, rack: int, *, drained: bool, healthy_trays: int) -> None:
        """The operator's view of a rack (drained or not, trays that work): running jobs run on; the
        capacity follows (spares first, then the rack shrinks)."""
        state = self.state
        if drained and not state.drained[rack]:
            state.drain(rack)
        elif not drained and state.drained[rack]:
            state.restore(rack)
        while state.healthy_trays[rack] > healthy_trays:
            state.fail_tray(rack)
        while state.healthy_trays[rack] < healthy_trays:
            state.repair_tray(rack)
        self.capacity_changed()

    def drain(self, rack: int) -> None:
        """Take a rack out of scheduling (not yet installed, maintenance, failure); its jobs run on."""
        self.state.drain(rack)
        self.capacity_changed()

    def restore(self, rack: int) -> None:
        self.state.restore(rack)
        self.capacity_changed()

    def fail_tray(self, rack: int, now: float, u: float, result: CycleResult) -> str | None:
        """A tray of ``rack`` breaks at ``now``; ``u`` in [0, 1) says which (uniform over the rack's
        working trays, as the caller's random draw). If a running job had GPUs on it, that job is
        interrupted (returned): it goes back to the queue and loses the work since its last checkpoint.
        A spare tray takes the broken one's place while the rack has one; then the rack shrinks."""
        per_tray = self.topology.rack.gpus_per_tray
        pick = u * int(self.state.healthy_trays[rack])
        hit = None
        trays = 0.0
        for job_id, gpus in self.state.jobs_on(rack):
            trays += gpus / per_tray
            if pick < trays:
                hit = job_id
                break
        if hit is not None:
            self.interrupt(hit, now, result)
        self.state.fail_tray(rack)
        self.capacity_changed()
        return hit

    def repair_tray(self, rack: int) -> None:
        self.state.repair_tray(rack)
        self.capacity_changed()

    def fail_rack(self, rack: int, now: float, result: CycleResult) -> list[str]:
        """The whole rack fails (power, cooling, NVLink switch): its jobs are interrupted, it is drained
        until ``restore``."""
        hit = [job_id for job_id, _ in self.state.jobs_on(rack)]
        for job_id in hit:
            self.interrupt(job_id, now, result)
        self.drain(rack)
        return hit

    def interrupt(self, job_id: str, now: float, result: CycleResult) -> None:
        """A running job dies with its hardware: back to the queue, from its last checkpoint."""
        self.tenancy.advance(now, self.running_gpus)
        run = self._stop(job_id)
        elapsed = now - run.start
        every = self.options.checkpoint_s
        kept = math.floor(elapsed / every) * every if math.isfinite(every) else 0.0
        self.remaining[job_id] = max(run.remaining - kept, 0.0)
        result.lost_s[job_id] = result.lost_s.get(job_id, 0.0) + (elapsed - kept)
        self.queue.add(run.job)
        result.interrupted.append(job_id)

    def capacity_changed(self) -> None:
        """Racks came online or were drained: entitlements are shares of what can be scheduled now (no
        more than the power budget allows busy)."""
        total = sum(self.state.capacity)
        if self.options.power is not None:
            total = min(total, self.options.power.max_busy_gpus)
        self.tenancy.resize(total)

    @property
    def may_preempt(self) -> bool:
        """May a cycle preempt (so one is worth running on an arrival even with no GPU free)?"""
        return self.options.reclaim and self.policy.preempts

    def eligible(self, job: Job) -> bool:
        """Held jobs (their tenant's GPU-hour budget is spent) are not considered; they block no one."""
        return not self.tenancy.over_budget(job.tenant)

    def fits_now(self, job: Job) -> Placement | None:
        state = self.state
        if job.gpus > state.free_gpus or (job.gpus <= self.rack_gpus and job.gpus > state.max_free):
            return None  # cheap tests first: most attempts in a busy factory fail here
        if self.options.power is not None and self.busy_gpus + job.gpus > self.options.power.max_busy_gpus:
            return None
        if self.tenancy.limited and self.beyond_limits(job) is not None:
            return None
        if job.gpus <= self.rack_gpus:
            rack = state.best_fit(job.gpus)
            return None if rack is None else ((rack, job.gpus),)
        return place(job.gpus, state.free, self.topology)

    def beyond_limits(self, job: Job) -> str | None:
        """Why starting ``job`` now would break a borrowing or lending limit (None: it would not).

        Borrowing limits cap a project's (and a programme's) GPUs above its entitlement. A lending
        limit keeps part of a programme's unused entitlement for its own projects: a job that would
        borrow (take its project above its entitlement) may use only the free GPUs not so kept.
        """
        t = self.tenancy
        tenant = job.tenant
        programme = t.programme_of(tenant)
        after = self.running_gpus.get(tenant, 0) + job.gpus
        limit = t.borrowing_limits.get(tenant)
        if limit is not None and after > t.entitled_gpus(tenant) + limit + 1e-9:
            return f"borrowing limit: project {tenant} may use {limit:g} GPUs above its entitlement"
        limit = t.borrowing_limits.get(programme) if programme != tenant else None
        if limit is not None and (
            self.programme_gpus.get(programme, 0) + job.gpus
            > t.programme_entitled_gpus(programme) + limit + 1e-9
        ):
            return f"borrowing limit: programme {programme} may use {limit:g} GPUs above its entitlement"
        if t.lending_limits and after > t.entitled_gpus(tenant) + 1e-9:
            kept = self.kept_for_owners(programme)
            if self.state.free_gpus - kept < job.gpus:
                return (
                    f"lending limit: of {self.state.free_gpus} free GPUs, {kept:.0f} are kept for "
                    "programmes that lend only part of their unused entitlement"
                )
        return None

    def kept_for_owners(self, borrower_programme: str) -> float:
        """Free GPUs other programmes keep for themselves (their unused entitlement beyond their
        lending limit)."""
        t = self.tenancy
        kept = 0.0
        for programme, limit in t.lending_limits.items():
            if programme != borrower_programme:
                unused = t.programme_entitled_gpus(programme) - self.programme_gpus.get(programme, 0)
                kept += max(unused - limit, 0.0)
        return kept

    def start(self, job: Job, placement: Placement, now: float, result: CycleResult) -> None:
        """Phase *admit*: move a pending job onto GPUs (used by the policies)."""
        self.queue.remove(job.id)
        self.state.allocate(job.id, placement)
        segment = self.segments.get(job.id, -1) + 1
        self.segments[job.id] = segment
        run = Running(job, placement, now, self.remaining[job.id], segment)
        self.running[job.id] = run
        self.running_by_tenant.setdefault(job.tenant, {})[job.id] = run
        self.running_priorities.setdefault(job.tenant, Counter())[job.priority] += 1
        self.running_gpus[job.tenant] += job.gpus
        self.programme_gpus[self.tenancy.programme_of(job.tenant)] += job.gpus
        self.busy_gpus += job.gpus
        result.waiting.pop(job.id, None)
        result.starts.append(Start(job, placement))

    def preempt(self, job_id: str, now: float, result: CycleResult) -> None:
        """Phase *reclaim*: stop a running job and put it back in the queue with its work left."""
        self.tenancy.advance(now, self.running_gpus)
        run = self._stop(job_id)
        self.remaining[job_id] = max(run.remaining - (now - run.start), 0.0)
        self.queue.add(run.job)
        result.preempted.append(job_id)

    def _stop(self, job_id: str) -> Running:
        run = self.running.pop(job_id)
        tenant = run.job.tenant
        self.state.release(job_id)
        del self.running_by_tenant[tenant][job_id]
        priorities = self.running_priorities[tenant]
        priorities[run.job.priority] -= 1
        if not priorities[run.job.priority]:
            del priorities[run.job.priority]
        self.running_gpus[tenant] -= run.gpus
        self.programme_gpus[self.tenancy.programme_of(tenant)] -= run.gpus
        self.busy_gpus -= run.gpus
        return run

    def lowest_running_priority(self, tenant: str) -> int | None:
        priorities = self.running_priorities.get(tenant)
        return min(priorities) if priorities else None

    # ----------------------------------------------------------------------------------- explain

    def explain(self, job_id: str) -> str:
        """Why a job waits (or what it is doing), in one sentence."""
        if job_id in self.running:
            run = self.running[job_id]
            racks = ", ".join(f"rack {r} ×{g}" for r, g in run.placement)
            return f"{job_id} is running on {racks} since t={run.start:.0f}s"
        if job_id not in self.queue:
            return f"{job_id} is not known to the scheduler (finished, cancelled or never submitted)"
        return why_waiting(self, self.queue.jobs[job_id])
