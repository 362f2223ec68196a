"""Allocations: a project asks for GPU-hours over a period; the council approves, amends or rejects.

States: requested → approved | rejected; an approved allocation whose period has ended is expired.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import AwareDatetime, ConfigDict, Field, model_validator
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from aifactory.service.api.schemas import CONFLICT, ERRORS, MAX_INT, NOT_FOUND, Body, Note, Out, Slug
from aifactory.service.auth import AnyRole, Principal, require
from aifactory.service.db.models import Allocation, Project
from aifactory.service.deps import NowDep, SessionDep
from aifactory.service.errors import Conflict, Invalid, NotFound

router = APIRouter(prefix="/allocations", tags=["allocations"], responses=ERRORS)

AllocationState = Literal["requested", "approved", "rejected", "expired"]
GpuHours = Annotated[float, Field(gt=0, le=1e12, description="GPU-hours.", examples=[5000.0])]


class AllocationIn(Body):
    project_id: Slug | None = Field(None, description="The project (a project token's own by default).")
    gpu_hours: GpuHours
    start_at: AwareDatetime = Field(examples=["2026-01-01T00:00:00Z"])
    end_at: AwareDatetime = Field(examples=["2026-04-01T00:00:00Z"])
    justification: Note = ""

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

    @model_validator(mode="after")
    def _period(self) -> AllocationIn:
        if self.end_at <= self.start_at:
            raise ValueError("end_at: must be after start_at")
        return self


class ReviewIn(Body):
    decision: Literal["approve", "amend", "reject"]
    gpu_hours: GpuHours | None = Field(None, description="Only with amend: the GPU-hours granted.")
    start_at: AwareDatetime | None = Field(None, description="Only with amend: a new start.")
    end_at: AwareDatetime | None = Field(None, description="Only with amend: a new end.")
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

    @model_validator(mode="after")
    def _amend_fields(self) -> ReviewIn:
        changes = {"gpu_hours": self.gpu_hours, "start_at": self.start_at, "end_at": self.end_at}
        given = [name for name, value in changes.items() if value is not None]
        if self.decision != "amend" and given:
            raise ValueError(f"{given[0]}: only with decision 'amend'")
        if self.decision == "amend" and not given:
            raise ValueError("decision: 'amend' needs gpu_hours, start_at or end_at")
        return self


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


def expire_allocations(session: Session, now: datetime) -> None:
    """Mark approved allocations whose period has ended as expired."""
    session.execute(
        update(Allocation)
        .where(Allocation.state == "approved", Allocation.end_at <= now)
        .values(state="expired")
    )
    session.commit()


def _visible_allocation(session: Session, allocation_id: int, principal: Principal) -> Allocation:
    allocation = session.get(Allocation, allocation_id)
    if allocation is None or not principal.can_see_project(allocation.project_id):
        raise NotFound(f"allocation {allocation_id} not found")
    return allocation


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
    project_id = body.project_id or principal.project_id
    if project_id is None:
        raise Invalid("project_id: required for an operator token")
    principal.acts_for(project_id)
    if session.get(Project, project_id) is None:
        raise Invalid(f"project_id: no project {project_id!r}")
    allocation = Allocation(
        project_id=project_id,
        state="requested",
        gpu_hours_requested=body.gpu_hours,
        gpu_hours_granted=None,
        gpu_hours_used=0.0,
        start_at=body.start_at,
        end_at=body.end_at,
        justification=body.justification,
        requested_by=principal.subject,
        created_at=now,
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
) -> list[Allocation]:
    expire_allocations(session, now)
    query = select(Allocation).order_by(Allocation.id)
    if project is not None:
        query = query.where(Allocation.project_id == project)
    if state is not None:
        query = query.where(Allocation.state == state)
    if not principal.reads_everything:
        query = query.where(Allocation.project_id == principal.project_id)
    return list(session.scalars(query))


@router.get(
    "/{allocation_id}", response_model=AllocationOut, responses=NOT_FOUND, summary="Show an allocation"
)
def get_allocation(
    allocation_id: Annotated[int, Path(ge=1, le=MAX_INT)],
    session: SessionDep,
    now: NowDep,
    principal: AnyRole,
) -> Allocation:
    expire_allocations(session, now)
    return _visible_allocation(session, allocation_id, principal)


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
    allocation = _visible_allocation(session, allocation_id, principal)
    if allocation.state != "requested":
        raise Conflict(
            f"state: allocation {allocation_id} is {allocation.state}; "
            "only requested allocations can be reviewed"
        )
    if body.decision == "reject":
        allocation.state = "rejected"
    else:
        start_at = body.start_at or allocation.start_at
        end_at = body.end_at or allocation.end_at
        if end_at <= start_at:
            raise Invalid("end_at: must be after start_at")
        allocation.state = "expired" if end_at <= now else "approved"
        allocation.start_at, allocation.end_at = start_at, end_at
        allocation.gpu_hours_granted = body.gpu_hours or allocation.gpu_hours_requested
    allocation.reviewed_by = principal.subject
    allocation.review_note = body.note
    allocation.reviewed_at = now
    session.commit()
    return allocation
