"""Allocations: a project asks for GPU-hours over a period; the council approves, amends or rejects.

States: requested → approved | rejected; an approved allocation — or a request never reviewed — whose
period has ended is expired. The rules are :mod:`aifactory.market.allocations`' (request, review,
expiry); this module translates HTTP to them through :mod:`..store.allocations`. Reads show an
allocation as it stands now (expired once its period is over) without writing; the worker persists
expiry each cycle. A review locks the allocation: of concurrent reviews exactly one decides it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import ConfigDict, Field, model_validator
from sqlalchemy import select

from aifactory.market import MarketError
from aifactory.market import allocations as domain
from aifactory.service.api.schemas import (
    CONFLICT,
    ERRORS,
    MAX_INT,
    NOT_FOUND,
    PERIOD,
    Body,
    Instant,
    Note,
    Out,
    Slug,
)
from aifactory.service.auth import AnyRole, Principal, existing_project, require
from aifactory.service.db.models import Allocation
from aifactory.service.deps import NowDep, SessionDep
from aifactory.service.errors import NotFound, from_market
from aifactory.service.store import allocations as store

router = APIRouter(prefix="/allocations", tags=["allocations"], responses=ERRORS)

AllocationState = Literal["requested", "approved", "rejected", "expired"]
GpuHours = Annotated[float, Field(gt=0, le=1e12, description="GPU-hours.", examples=[5000.0])]


class AllocationIn(Body):
    project_id: Slug | None = Field(None, description="The project (a project token's own by default).")
    gpu_hours: GpuHours
    start_at: Instant = Field(examples=["2026-01-01T00:00:00Z"])
    end_at: Instant = Field(examples=["2026-04-01T00:00:00Z"])
    justification: Note = ""

    @model_validator(mode="after")
    def _period(self) -> AllocationIn:
        if self.end_at <= self.start_at:  # named as the client sent them (the domain checks it again)
            raise ValueError("end_at: must be after start_at")
        return self

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "project_id": "climate-ai",
                    "gpu_hours": 5000,
                    "start_at": "2026-01-01T00:00:00Z",
                    "end_at": "2026-04-01T00:00:00Z",
                    "justification": "Pre-training run for the Q1 model.",
                }
            ]
        }
    )


class ReviewIn(Body):
    decision: Literal["approve", "amend", "reject"]
    gpu_hours: GpuHours | None = Field(None, description="Only with amend: the GPU-hours granted.")
    start_at: Instant | None = Field(None, description="Only with amend: a new start.")
    end_at: Instant | None = Field(None, description="Only with amend: a new end.")
    note: Note | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"decision": "approve", "note": "Fits the programme's share."},
                {"decision": "amend", "gpu_hours": 3000, "note": "Granted 3000 of 5000 GPU-hours."},
                {"decision": "reject", "note": "Out of scope."},
            ]
        }
    )


class AllocationOut(Out):
    id: int
    project_id: str
    state: str
    gpu_hours_requested: float
    gpu_hours_granted: float | None
    gpu_hours_used: float
    start_at: datetime
    end_at: datetime
    justification: str
    requested_by: str
    reviewed_by: str | None
    review_note: str | None
    created_at: datetime
    reviewed_at: datetime | None


def _shown(row: Allocation, now: datetime) -> AllocationOut:
    """The allocation as it stands at ``now`` (expired once its period is over), not written."""
    out = AllocationOut.model_validate(row)
    return out.model_copy(update={"state": store.as_of(row, now).state.value})


def _visible(row: Allocation | None, allocation_id: int, principal: Principal) -> Allocation:
    if row is None or not principal.can_see_project(row.project_id):
        raise NotFound(f"allocation {allocation_id} not found")
    return row


@router.post(
    "",
    response_model=AllocationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Request an allocation (project admin or member for their project; operator)",
)
def request_allocation(
    body: AllocationIn,
    session: SessionDep,
    now: NowDep,
    principal: Annotated[Principal, Depends(require("project_admin", "project_member"))],
) -> Allocation:
    project_id = existing_project(session, principal, body.project_id)
    try:
        asked = domain.request(project_id, body.gpu_hours, body.start_at, body.end_at)
    except MarketError as exc:
        raise from_market(exc, PERIOD) from exc
    allocation = store.new_row(
        asked, justification=body.justification, requested_by=principal.subject, at=now
    )
    session.add(allocation)
    session.commit()
    return allocation


@router.get("", response_model=list[AllocationOut], summary="List allocations (project roles: their own)")
def list_allocations(
    session: SessionDep,
    now: NowDep,
    principal: AnyRole,
    project: Annotated[Slug | None, Query(description="Only this project's.")] = None,
    state: Annotated[AllocationState | None, Query(description="Only in this state.")] = None,
) -> list[AllocationOut]:
    query = select(Allocation).order_by(Allocation.id)
    if project is not None:
        query = query.where(Allocation.project_id == project)
    if not principal.reads_everything:
        query = query.where(Allocation.project_id == principal.project_id)
    shown = [_shown(row, now) for row in session.scalars(query)]
    return [a for a in shown if state is None or a.state == state]


@router.get(
    "/{allocation_id}", response_model=AllocationOut, responses=NOT_FOUND, summary="Show an allocation"
)
def get_allocation(
    allocation_id: Annotated[int, Path(ge=1, le=MAX_INT)],
    session: SessionDep,
    now: NowDep,
    principal: AnyRole,
) -> AllocationOut:
    return _shown(_visible(session.get(Allocation, allocation_id), allocation_id, principal), now)


@router.post(
    "/{allocation_id}/review",
    response_model=AllocationOut,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Approve, amend or reject a requested allocation (operator, council)",
)
def review_allocation(
    allocation_id: Annotated[int, Path(ge=1, le=MAX_INT)],
    body: ReviewIn,
    session: SessionDep,
    now: NowDep,
    principal: Annotated[Principal, Depends(require("council"))],
) -> Allocation:
    row = _visible(store.lock(session, allocation_id), allocation_id, principal)  # held until committed
    try:
        decided = domain.review(
            store.as_of(row, now), body.decision, now, body.gpu_hours, body.start_at, body.end_at
        )
    except MarketError as exc:
        raise from_market(exc, PERIOD) from exc
    store.write(row, decided)
    row.reviewed_by = principal.subject
    row.review_note = body.note
    row.reviewed_at = now
    session.commit()
    return row
