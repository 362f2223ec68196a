"""Why a job waits: impossible, quota, fragmentation, topology or order — in one sentence.

The general rules (a job that can never run, limits, budgets, the racks' free GPUs) are here; what a
policy's own order or shares say about a wait the policy explains itself (``Policy.explain``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aifactory.scheduler.job import Job
from aifactory.scheduler.placement import largest_placeable, racks_needed
from aifactory.scheduler.policy import Wait

if TYPE_CHECKING:
    from aifactory.scheduler.core import Scheduler


def why_waiting(s: Scheduler, job: Job) -> str:
    topo = s.topology
    free = s.state.free_gpus
    if job.gpus > topo.gpus:
        return f"{job.id} needs {job.gpus} GPUs; the whole factory has {topo.gpus}: it can never run"
    if job.gpus > s.tenancy.ceiling(job.tenant):
        most = int(s.tenancy.ceiling(job.tenant))
        return f"{job.id} needs {job.gpus} GPUs; borrowing limits allow {job.tenant} at most {most} now"
    if s.tenancy.over_budget(job.tenant):
        holder = s.tenancy.budget_holder(job.tenant)
        spent = s.tenancy.spent.get(holder, 0.0) / 3600
        budget = s.tenancy.budgets[holder] / 3600
        who = "tenant" if holder == job.tenant else "programme"
        return f"{job.id} is held (budget): {who} {holder} has used {spent:,.1f} of {budget:,.1f} GPU-hours"
    power = s.options.power
    if power is not None and s.busy_gpus + job.gpus > power.max_busy_gpus:
        return (
            f"{job.id} waits (power): starting it would draw more than the power budget of "
            f"{power.budget_mw:g} MW, which allows {power.max_busy_gpus} GPUs busy at "
            f"{power.design_c:.1f} °C; {s.busy_gpus} are"
        )
    if s.tenancy.limited and free >= job.gpus:
        limit = s.beyond_limits(job)
        if limit is not None:
            return f"{job.id} waits (quota): {limit}"
    position = s.queue.position(job.id)
    ahead = f"{position} job{'s' if position != 1 else ''} ahead of it"
    reason = s.reasons.get(job.id)
    own = s.policy.explain(s, job, Wait(position, ahead, free, reason))  # the policy's rules first
    if own is not None:
        return own
    if s.fits_now(job) is not None:
        why = reason or "it was not reached in the last cycle"
        return f"{job.id} could start on free GPUs now but waits: {why}"
    if free >= job.gpus:
        largest = largest_placeable(s.state.free, topo)
        if job.gpus <= topo.rack_gpus:
            return (
                f"{job.id} waits (fragmentation): {free} GPUs are free but no rack has {job.gpus} free "
                f"(the most free in one rack is {s.state.max_free})"
            )
        k = racks_needed(job.gpus, topo)
        return (
            f"{job.id} waits (topology): it needs {k} racks with {-(-job.gpus // k)} free GPUs each, "
            f"in one block if possible; {free} GPUs are free but the largest gang that fits now is {largest}"
        )
    base = f"{job.id} waits for {job.gpus} GPUs ({free} free, {ahead})"
    if job.priority:
        base += f", priority {job.priority}"
    return f"{base}: {reason}" if reason else base
