"""Scheduling policies, looked up by name (:func:`policy_named`). Each is a
:class:`~aifactory.scheduler.policy.Policy`: one small function that runs the *admit* (and, for the
preempting ones, *reclaim*) phase of a cycle and cites the rule it enforces, and how it explains a wait.

* ``fifo``      — strict order (priority, then submission); the head blocks everyone behind it.
* ``backfill``  — EASY backfill: the head gets a reservation at the earliest time its gang can be
                  placed (from running jobs' time limits); later jobs start now if they fit now and
                  end before that reservation.
* ``fairshare`` — tenants are served lowest *current allocation ÷ entitlement* first (decayed usage
                  breaks ties); idle capacity is lent to anyone (work-conserving borrowing); a tenant
                  below its entitlement *reclaims* from tenants above theirs by preemption.
                  Reclaim cannot loop: a victim's tenant must stay at or above its entitlement after
                  the preemption, and the reclaiming tenant at or below its entitlement after the start,
                  so a reclaimed tenant can never reclaim back. A head job that has waited longer than
                  ``starvation_s`` (opt-in) starts as soon as it fits and holds a reservation until then.
* ``quota``     — Kueue-style nominal quotas (entitlement × factory): jobs within their tenant's quota
                  are admitted first in queue order (BestEffortFIFO) and may reclaim from borrowers
                  (same no-loop rule); then borrowers take idle GPUs, lowest usage ÷ quota first; within a
                  tenant at its quota, a higher-priority job preempts lower-priority work.
"""

from __future__ import annotations

import heapq

import numpy as np

from aifactory.cluster.state import Placement, WhatIf
from aifactory.scheduler.core import CycleResult, Scheduler
from aifactory.scheduler.job import Job
from aifactory.scheduler.placement import place
from aifactory.scheduler.policy import Policy, Wait

MANY_RACKS = 32  # above this, placement tests on a trial map are vectorised


def fifo(s: Scheduler, now: float, result: CycleResult) -> None:
    """Start jobs in queue order until the first that does not fit (head-of-line blocking)."""
    while (job := _eligible_head(s)) is not None:
        placement = s.fits_now(job)
        if placement is None:
            result.waiting[job.id] = "head of the queue: waits for enough GPUs in the right racks"
            return
        s.start(job, placement, now, result)


def _eligible_head(s: Scheduler) -> Job | None:
    """The first job in queue order that is not held (held jobs do not block the queue)."""
    head = s.queue.head()
    if head is None or s.eligible(head):
        return head
    heads = [
        s.queue.tenant_jobs(t, limit=1)[0] for t in s.queue.tenants_waiting() if not s.tenancy.over_budget(t)
    ]
    return min(heads, key=lambda job: s.queue.key_of(job.id), default=None)


def backfill(s: Scheduler, now: float, result: CycleResult) -> None:
    """EASY backfill (Lifka 1995; Slurm's sched/backfill without extra-resource reservations)."""
    fifo(s, now, result)
    head = _eligible_head(s)
    if head is None or s.state.free_gpus == 0:
        return
    shadow: float | None = None  # the head's reservation, computed only once a candidate fits now
    for job in s.queue.in_order(limit=s.options.backfill_depth + 1):
        if job.id == head.id or (shadow is not None and now + job.estimate > shadow) or not s.eligible(job):
            continue
        placement = s.fits_now(job)
        if placement is None:
            continue
        if shadow is None:
            shadow = _reservation_time(s, head, now)
        if now + job.estimate > shadow:
            result.waiting[job.id] = f"backfill: would run past the head job's reservation at t={shadow:.0f}s"
            continue
        s.start(job, placement, now, result)
        if s.state.free_gpus == 0:
            return


def _reservation_time(s: Scheduler, head: Job, now: float) -> float:
    """Earliest time the head's gang can be placed, releasing running jobs at their expected ends."""
    total = s.state.free_gpus
    need, topology = head.gpus, s.topology
    # a trial map of its own: a list for a few racks, an array (vectorised placement tests) for many
    free = np.array(s.state.free, dtype=np.int64) if topology.racks > MANY_RACKS else list(s.state.free)
    for run in sorted(s.running.values(), key=lambda r: r.expected_end):
        for rack, gpus in run.placement:
            free[rack] += gpus
        total += run.gpus
        if total >= need and place(need, free, topology) is not None:
            return max(run.expected_end, now)
    return float("inf")


def _starvation_guard(s: Scheduler, now: float, result: CycleResult) -> tuple[Job, float] | None:
    """No indefinite starvation of large gangs behind a stream of small ones (the guarantee Slurm's
    backfill reservations give): a queue head that has waited longer than ``starvation_s`` starts as
    soon as it fits, whatever its tenant's quota; until then it holds a reservation — only jobs that end
    before it may start. Returns the head and its reservation time while it waits."""
    head = _eligible_head(s)
    if head is None or now - head.submit <= s.options.starvation_s:
        return None
    placement = s.fits_now(head)
    if placement is not None:
        s.start(head, placement, now, result)
        return None
    return head, _reservation_time(s, head, now)


def _blocked_by_guard(guard: tuple[Job, float] | None, job: Job, now: float) -> bool:
    if guard is None or job.id == guard[0].id:
        return False
    return now + job.estimate > guard[1]


def fairshare(s: Scheduler, now: float, result: CycleResult) -> None:
    """Weighted fair share with borrowing and reclaim (Kueue fair sharing / KAI deserved quota)."""
    guard = _starvation_guard(s, now, result)
    queue = s.queue
    usage_total = s.tenancy.usage_total()  # usage does not change within a cycle's admission
    keyed = [
        (_fair_key(s, t, usage_total), t) for t in queue.tenants_waiting() if not s.tenancy.over_budget(t)
    ]
    if guard is None and s.state.free_gpus == 0:
        # Nothing can start (every job needs a GPU): what the loop below would find is each tenant's
        # head, blocked, in fair-share order — without trying its jobs one by one.
        blocked = [job for _, t in sorted(keyed) if (job := queue.tenant_head(t)) is not None]
    else:
        blocked = _admit_by_share(s, now, result, guard, keyed, usage_total)
    if s.options.reclaim:
        for job in blocked:
            head = queue.tenant_head(job.tenant) if job.id in queue else None
            if head is not None and head.id == job.id:
                _reclaim(s, job, now, result)
    for job in blocked:
        if job.id in queue.jobs and job.id not in result.waiting:
            result.waiting[job.id] = "fair share: waits for GPUs; its tenant is served by entitlement order"


def _admit_by_share(
    s: Scheduler,
    now: float,
    result: CycleResult,
    guard: tuple[Job, float] | None,
    heap: list[tuple[tuple[float, float, float], str]],
    usage_total: float,
) -> list[Job]:
    """Serve tenants lowest fair-share key first, one start at a time; returns the first job of each
    tenant's turn that did not fit (the candidates for reclaim), in the order they were met."""
    blocked: list[Job] = []
    heapq.heapify(heap)
    queue, depth = s.queue, s.options.tenant_depth
    while heap:
        _, tenant = heapq.heappop(heap)
        started = False
        for job in queue.tenant_jobs(tenant, limit=depth):
            if guard is not None and _blocked_by_guard(guard, job, now):
                result.waiting[job.id] = f"waits: {guard[0].id} has waited too long and holds a reservation"
                continue
            placement = s.fits_now(job)
            if placement is not None:
                s.start(job, placement, now, result)
                started = True
                break
            if not blocked or blocked[-1].tenant != tenant:
                blocked.append(job)
        if started and queue.tenant_head(tenant) is not None:
            heapq.heappush(heap, (_fair_key(s, tenant, usage_total), tenant))
    return blocked


def _fair_key(s: Scheduler, tenant: str, usage_total: float) -> tuple[float, float, float]:
    """Lowest allocation ÷ entitlement first — of the tenant's programme, then of the tenant (Slurm's
    fair tree: programmes compete first, then projects within a programme); decayed usage (the tenant's
    share of ``usage_total``, all tenants' usage) breaks ties."""
    t = s.tenancy
    entitled = t.entitled_gpus(tenant)
    current = s.running_gpus.get(tenant, 0) / entitled if entitled > 0 else float("inf")
    share = t.usage.get(tenant, 0.0) / usage_total if usage_total > 0 else 0.0
    programme = t.programme_of(tenant)
    if programme == tenant:
        return current, current, share
    entitled = t.programme_entitled_gpus(programme)
    above = s.programme_gpus.get(programme, 0) / entitled if entitled > 0 else float("inf")
    return above, current, share


_NO_RECLAIM = "reclaim: below its entitlement, but not enough borrowed GPUs can be taken back"


def _reclaim(s: Scheduler, job: Job, now: float, result: CycleResult) -> None:
    """Preempt borrowers so that ``job``'s tenant, below its entitlement, gets its share back.

    Victims' tenants stay at or above their entitlements; a victim in another programme also leaves
    its programme at or above the programme's entitlement, and is taken only when the reclaiming
    programme itself stays within its entitlement (otherwise the GPUs come back from the reclaiming
    tenant's own programme, from the sibling projects that borrowed them).
    """
    t = s.tenancy
    tenant = job.tenant
    if s.running_gpus[tenant] + job.gpus > t.entitled_gpus(tenant):
        return  # that start would itself be borrowing: no reclaim for it
    own = t.programme_of(tenant)
    own_within = s.programme_gpus[own] + job.gpus <= t.programme_entitled_gpus(own) + 1e-9
    over = {
        v: s.running_gpus[v] - t.entitled_gpus(v)
        for v in s.running_gpus
        if v != tenant and s.running_gpus[v] > t.entitled_gpus(v) and (t.programme_of(v) == own or own_within)
    }
    programme_over = {
        p: s.programme_gpus[p] - t.programme_entitled_gpus(p)
        for p in {t.programme_of(v) for v in over}
        if p != own
    }
    takeable = sum(
        min(gpus, max(programme_over.get(t.programme_of(v), gpus), 0.0)) for v, gpus in over.items()
    )
    if s.state.free_gpus + takeable < job.gpus:
        result.waiting[job.id] = _NO_RECLAIM
        return  # even taking back every borrowed GPU would not make room
    candidates = (
        run
        for v in sorted(over, key=lambda v: (-over[v], v))  # the most-over tenant first …
        for run in reversed(s.running_by_tenant[v].values())  # … its most recent starts first
        if run.job.preemptible and run.start < now  # never a job started in this cycle
    )
    left = dict(over)
    left_programme = dict(programme_over)
    cap = t.borrowing_limits.get(own) if own != tenant else None
    victims: list[str] = []
    chosen: list[str] | None = None
    with s.state.what_if() as trial:  # which victims would make room (nothing changes until chosen)
        for run in candidates:
            v = run.job.tenant
            p = t.programme_of(v)
            if left[v] - run.gpus < 0 or left_programme.get(p, run.gpus) - run.gpus < 0:
                continue  # would push the victim's tenant (or programme) below its entitlement
            trial.release(run.placement)
            left[v] -= run.gpus
            if p in left_programme:
                left_programme[p] -= run.gpus
            victims.append(run.job.id)
            placement = place(job.gpus, trial.free, s.topology)
            if placement is None:
                continue
            needed = _needed(s, trial, job, victims, placement)
            if cap is not None:  # the programme must end within its borrowing limit
                back = sum(
                    s.running[x].gpus for x in needed if t.programme_of(s.running[x].job.tenant) == own
                )
                if s.programme_gpus[own] + job.gpus - back > t.programme_entitled_gpus(own) + cap + 1e-9:
                    continue
            power = s.options.power
            if power is not None:  # the victims must also free the power the start needs
                freed = sum(s.running[x].gpus for x in needed)
                if s.busy_gpus - freed + job.gpus > power.max_busy_gpus:
                    if s.busy_gpus - sum(s.running[x].gpus for x in victims) + job.gpus > power.max_busy_gpus:
                        continue
                    needed = list(victims)  # the ones off the gang's racks free power
            chosen = needed
            break
    if chosen is None:
        result.waiting[job.id] = _NO_RECLAIM
        return
    _preempt_and_start(s, chosen, job, now, result)


def _preempt_and_start(s: Scheduler, victims: list[str], job: Job, now: float, result: CycleResult) -> None:
    for victim in victims:
        s.preempt(victim, now, result)
    final = s.fits_now(job)
    assert final is not None, "the victims' GPUs make room within every limit"
    s.start(job, final, now, result)


def _needed(s: Scheduler, trial: WhatIf, job: Job, victims: list[str], placement: Placement) -> list[str]:
    """Of the victims that made room (all released in ``trial``), only those on the racks the gang
    will use — when the gang still fits with just those released (preempt no more than it needs)."""
    racks = {rack for rack, _ in placement}
    needed = [v for v in victims if any(rack in racks for rack, _ in s.running[v].placement)]
    if len(needed) == len(victims):
        return victims
    mark = trial.mark()
    for victim in victims:
        if victim not in needed:
            trial.hold(s.running[victim].placement)  # as if only the needed ones were released
    fits = place(job.gpus, trial.free, s.topology) is not None
    trial.undo(mark)
    return needed if fits else victims


def quota(s: Scheduler, now: float, result: CycleResult) -> None:
    """Kueue-style quotas: jobs within their tenant's nominal quota first, then borrowers by share."""
    # Phase 1 — nominal quota (Kueue: a workload that fits its ClusterQueue's nominal quota is
    # admitted before borrowing ones; BestEffortFIFO: a job that does not fit does not block others).
    # Each tenant is a queue (a Kueue ClusterQueue): tenants below their quota are served by the order
    # of their head jobs; within one, a job that does not fit does not block the next (BestEffortFIFO).
    guard = _starvation_guard(s, now, result)  # first: it may start the head
    heads = []
    queue, reclaim = s.queue, s.options.reclaim
    for tenant in queue.tenants_waiting():
        if s.tenancy.over_budget(tenant):
            continue  # held: its GPU-hour budget is spent
        jobs = queue.tenant_jobs(tenant, limit=s.options.tenant_depth)
        heads.append((queue.key_of(jobs[0].id), tenant, jobs))  # queue keys sort as queue positions
    for _, tenant, jobs in sorted(heads):
        entitled = s.tenancy.entitled_gpus(tenant)  # entitlements do not change within a cycle
        lowest = s.lowest_running_priority(tenant) if reclaim else None
        for job in jobs:
            if guard is not None and _blocked_by_guard(guard, job, now):
                continue
            changes = len(result.starts) + len(result.preempted)
            if s.running_gpus[tenant] + job.gpus > entitled:
                # only when it cannot simply borrow idle GPUs (phase 2), and only if preemption is on
                if lowest is not None and job.priority > lowest and s.fits_now(job) is None:
                    _preempt_lower_priority(s, job, now, result)
            else:
                placement = s.fits_now(job)
                if placement is not None:
                    s.start(job, placement, now, result)
                elif reclaim:
                    _reclaim(s, job, now, result)  # within quota: may take GPUs back from borrowers
            if reclaim and len(result.starts) + len(result.preempted) != changes:
                lowest = s.lowest_running_priority(tenant)  # what runs for the tenant changed
    # Phase 2 — borrowing idle capacity, lowest dominant share (usage ÷ quota) first.
    if s.state.free_gpus == 0:
        return
    usage_total = s.tenancy.usage_total()
    heap = [
        (_fair_key(s, t, usage_total), t) for t in s.queue.tenants_waiting() if not s.tenancy.over_budget(t)
    ]
    heapq.heapify(heap)
    while heap and s.state.free_gpus > 0:
        _, tenant = heapq.heappop(heap)
        for job in s.queue.tenant_jobs(tenant, limit=s.options.tenant_depth):
            if _blocked_by_guard(guard, job, now):
                continue
            placement = s.fits_now(job)
            if placement is not None:
                s.start(job, placement, now, result)
                if s.queue.tenant_head(tenant) is not None:
                    heapq.heappush(heap, (_fair_key(s, tenant, usage_total), tenant))
                break
            over_quota = s.running_gpus[job.tenant] + job.gpus > s.tenancy.entitled_gpus(job.tenant)
            result.waiting[job.id] = (
                "quota: above its tenant's nominal quota; borrows idle GPUs only"
                if over_quota
                else "quota: within its tenant's quota; waits for GPUs in the right racks"
            )


def _preempt_lower_priority(s: Scheduler, job: Job, now: float, result: CycleResult) -> bool:
    """Within a tenant at its quota, a job preempts the tenant's lower-priority preemptible jobs
    (Kueue ``withinClusterQueue: LowerPriority``) when that frees enough of the quota and of the racks."""
    tenant = job.tenant
    victims = sorted(
        (
            r
            for r in s.running_by_tenant.get(tenant, {}).values()
            if r.job.preemptible and r.job.priority < job.priority and r.start < now
        ),
        key=lambda r: (r.job.priority, -r.start),
    )
    used = s.running_gpus[tenant]
    chosen: list[str] = []
    with s.state.what_if() as trial:
        for run in victims:
            trial.release(run.placement)
            used -= run.gpus
            chosen.append(run.job.id)
            if (
                used + job.gpus <= s.tenancy.entitled_gpus(tenant)
                and place(job.gpus, trial.free, s.topology) is not None
            ):
                break
        else:
            return False
    _preempt_and_start(s, chosen, job, now, result)
    return True


# ------------------------------------------------------------------------------ explaining a wait


def _order_wait(s: Scheduler, job: Job, wait: Wait) -> str | None:
    """Strict order: a job behind the head waits for the head."""
    if wait.position == 0:
        return None
    head = s.queue.head()
    head_text = f" behind {head.id} ({head.gpus} GPUs)" if head is not None else ""
    return f"{job.id} waits (order): {wait.ahead}{head_text} under '{s.policy.name}'"


def _backfill_wait(s: Scheduler, job: Job, wait: Wait) -> str | None:
    """Behind the head, and not tried by backfill (no reason of its own): it waits for its turn."""
    return _order_wait(s, job, wait) if wait.reason is None else None


def _share_wait(s: Scheduler, job: Job, wait: Wait) -> str | None:
    """Above its entitlement with too few GPUs idle: it borrows only what nobody entitled needs."""
    used = s.running_gpus.get(job.tenant, 0)
    entitled = s.tenancy.entitled_gpus(job.tenant)
    if used + job.gpus > entitled and wait.free_gpus < job.gpus:
        return (
            f"{job.id} waits (quota): tenant {job.tenant} uses {used} GPUs of its entitlement of "
            f"{entitled:.0f}; it runs when GPUs are idle"
        )
    return None


def _summary(admit: object) -> str:
    doc = getattr(admit, "__doc__", None) or ""
    return doc.strip().splitlines()[0]


POLICIES: dict[str, Policy] = {
    p.name: p
    for p in (
        Policy("fifo", fifo, preempts=False, explain=_order_wait, summary=_summary(fifo)),
        Policy("backfill", backfill, preempts=False, explain=_backfill_wait, summary=_summary(backfill)),
        Policy("fairshare", fairshare, preempts=True, explain=_share_wait, summary=_summary(fairshare)),
        Policy("quota", quota, preempts=True, explain=_share_wait, summary=_summary(quota)),
    )
}
"""The registry: every policy by name (the order ``--list-policies`` shows)."""


def policy_named(name: str) -> Policy:
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy '{name}' (policies: {', '.join(POLICIES)})") from None


def describe(name: str) -> str:
    """One line on the policy (for ``--list-policies``)."""
    return policy_named(name).summary
