"""Allocation rows as :class:`aifactory.market.Allocation` and back; expiry persisted as the domain
decides it (:func:`aifactory.market.expire_due`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aifactory.market import allocations as domain
from aifactory.service.db.models import Allocation as AllocationRow
from aifactory.service.store.locks import locked


def to_domain(row: AllocationRow) -> domain.Allocation:
    return domain.Allocation(
        id=row.id,
        project=row.project_id,
        gpu_hours_requested=row.gpu_hours_requested,
        gpu_hours_granted=row.gpu_hours_granted,
        start=row.start_at,
        end=row.end_at,
        state=domain.AllocationState(row.state),
        used=row.gpu_hours_used,
    )


def write(row: AllocationRow, allocation: domain.Allocation) -> None:
    """The domain object's state, grant, period and use onto its row."""
    row.state = allocation.state.value
    row.gpu_hours_granted = allocation.gpu_hours_granted
    row.start_at = allocation.start
    row.end_at = allocation.end
    row.gpu_hours_used = allocation.used


def new_row(
    allocation: domain.Allocation, *, justification: str, requested_by: str, at: datetime
) -> AllocationRow:
    row = AllocationRow(
        project_id=allocation.project,
        gpu_hours_requested=allocation.gpu_hours_requested,
        justification=justification,
        requested_by=requested_by,
        created_at=at,
    )
    write(row, allocation)
    return row


def as_of(row: AllocationRow, now: datetime) -> domain.Allocation:
    """The allocation as it stands at ``now`` (expired once its period is over, whether or not the
    database says so yet) — what a read shows, without writing."""
    return domain.expire_due([to_domain(row)], now)[0]


def lock(session: Session, allocation_id: int) -> AllocationRow | None:
    return locked(session, AllocationRow, allocation_id)


def of_project(session: Session, project_id: str) -> Sequence[AllocationRow]:
    return session.scalars(
        select(AllocationRow).where(AllocationRow.project_id == project_id).order_by(AllocationRow.id)
    ).all()


def burnable(session: Session, project_id: str) -> Sequence[AllocationRow]:
    """The project's granted allocations (approved, or since expired), in id order: what usage burns."""
    return session.scalars(
        select(AllocationRow)
        .where(AllocationRow.project_id == project_id)
        .where(AllocationRow.state.in_((domain.AllocationState.APPROVED, domain.AllocationState.EXPIRED)))
        .where(AllocationRow.gpu_hours_granted.is_not(None))
        .order_by(AllocationRow.id)
    ).all()


def expire_due(session: Session, now: datetime) -> int:
    """Persist the expiry of every allocation whose period is over at ``now`` (approved, or requested
    and never reviewed); returns how many changed. The caller commits."""
    due = session.scalars(
        select(AllocationRow)
        .where(AllocationRow.state.in_((domain.AllocationState.APPROVED, domain.AllocationState.REQUESTED)))
        .where(AllocationRow.end_at <= now)
        .with_for_update(skip_locked=True)
    ).all()
    changed = 0
    for row, allocation in zip(due, domain.expire_due([to_domain(r) for r in due], now), strict=True):
        if allocation.state.value != row.state:
            write(row, allocation)
            changed += 1
    return changed
