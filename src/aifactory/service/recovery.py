"""After a start or a crash: what became of each run the database says is running.

Its executor is asked first (:func:`ask`), before anything changes; then :func:`settle` writes the
answer — ended while the worker was down (recorded, billed to when it ended), never launched (back to
pending, the attempt not counted), its executor not set up here (failed) — or, for a run still going,
returns the id of its open usage record so that the worker adopts it. So no acknowledged job is lost,
none runs twice, and no GPU stays allocated to a dead job.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from aifactory.service.db.models import Job as JobRow
from aifactory.service.db.models import UsageRecord
from aifactory.service.db_sync import launch_of
from aifactory.service.executors.base import Ended, Executor, Status
from aifactory.service.ledger import end_time, finish_row, outcome


def ask(executors: Mapping[str, Executor], row: JobRow, log_dir: Path, now: float) -> Ended | Status | None:
    """What the run's executor says about it (``None``: its executor is not set up here)."""
    executor = executors.get(row.executor)
    return None if executor is None else executor.recover(launch_of(row, log_dir), row.executor_ref, now)


def settle(session: Session, row: JobRow, status: Ended | Status | None, now: float) -> int | None:
    """Write what became of a run while the worker was down; ``None`` once settled, else (a run still
    going, to adopt) the id of its open usage record (0 without one)."""
    usage = session.scalar(
        select(UsageRecord).where(
            UsageRecord.job_id == row.id, UsageRecord.attempt == row.attempt, UsageRecord.end_at.is_(None)
        )
    )
    if status is None:
        finish_row(session, row, usage, now, "failed", None, f"executor {row.executor} is not set up")
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
        finish_row(session, row, usage, end_time(status, now), *outcome(row, status, None))
        return None
    return usage.id if usage is not None else 0
