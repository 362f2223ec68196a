"""The books of the scheduler loop: what became of a run (its outcome), its usage record closed, and
the project's allocations burned down by :func:`aifactory.market.allocations.burn` — the market domain
decides which allocation pays; this module only reads and writes the rows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from aifactory.market import allocations as market_alloc
from aifactory.service.db.models import Job as JobRow
from aifactory.service.db.models import UsageRecord
from aifactory.service.executors.base import Ended
from aifactory.service.store import allocations as store


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def end_time(ended: Ended, now: float) -> float:
    """When a run ended: the executor's own time when it knows it (never after ``now``), else ``now``."""
    return min(ended.ended_at, now) if ended.ended_at is not None else now


def outcome(row: JobRow, ended: Ended, stopping: str | None) -> tuple[str, int | None, str]:
    """(state, exit code, reason) of a run that ended; ``stopping`` is why the loop asked it to stop
    ("cancel", "preempt" or None)."""
    if stopping == "cancel" or (ended.stopped and row.cancel_requested):
        return "cancelled", ended.exit_code, "cancelled while running"
    if ended.lost:
        return "failed", ended.exit_code, f"lost: {ended.message}"
    if ended.timed_out:
        return "timed_out", ended.exit_code, f"stopped at its time limit of {row.time_limit_s:g} s"
    if ended.exit_code == 0:
        return "succeeded", 0, ""
    return "failed", ended.exit_code, f"exit code {ended.exit_code}"


def finish_row(
    session: Session,
    row: JobRow,
    usage: UsageRecord | None,
    now: float,
    state: str,
    exit_code: int | None,
    reason: str,
) -> None:
    """The job ended at ``now`` in ``state``; its open usage record (if any) is closed and billed."""
    row.state = state
    row.exit_code = exit_code
    row.ended_at = utc(now)
    row.reason = reason
    if usage is not None:
        close_usage(session, usage, now)


def close_usage(session: Session, usage: UsageRecord, now: float) -> None:
    """Close a usage record at ``now`` and charge its GPU-hours to the project's allocations (a run on
    a reservation is paid by its booking: no allocation burns)."""
    end = max(utc(now), usage.start_at)
    usage.end_at = end
    usage.gpu_hours = usage.gpus * (end - usage.start_at).total_seconds() / 3600
    if usage.reservation_id is not None:
        return
    rows = store.burnable(session, usage.project_id)
    if not rows or end <= usage.start_at:
        return
    domain = [store.to_domain(r) for r in rows]
    burned = market_alloc.burn(domain, usage.project_id, usage.start_at, end, usage.gpus)
    for index, hours in burned.charges:
        rows[index].gpu_hours_used += hours
    if burned.charges:
        usage.allocation_id = rows[burned.charges[0][0]].id
