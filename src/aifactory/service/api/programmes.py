"""Programmes: the council's top-level shares of the AI factory."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import ConfigDict, Field
from sqlalchemy import select

from aifactory.service.api.schemas import CONFLICT, ERRORS, NOT_FOUND, Body, CouncilId, Name, Out
from aifactory.service.auth import AnyRole, Principal, require
from aifactory.service.db.models import Programme, Project
from aifactory.service.deps import NowDep, SessionDep
from aifactory.service.errors import Conflict, NotFound

router = APIRouter(prefix="/programmes", tags=["programmes"], responses=ERRORS)


class ProgrammeIn(Body):
    id: CouncilId = Field(description="Slug, unique across programmes and projects.", examples=["science"])
    name: Name = Field(examples=["National science programme"])
    share: float = Field(1.0, ge=0, le=1e6, description="Fair-share weight among programmes.")
    borrowing_limit_gpus: int | None = Field(
        None,
        ge=0,
        le=10_000_000,
        description="Most GPUs beyond the programme's entitlement its projects may borrow together "
        "(none: no limit).",
    )

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": "science", "name": "National science", "share": 0.6}]}
    )


class ProgrammeOut(Out):
    id: str
    name: str
    share: float
    borrowing_limit_gpus: int | None
    created_at: datetime


def _visible_programme_ids(session: SessionDep, principal: Principal) -> set[str] | None:
    """None for roles that read everything; else the programme of the caller's project."""
    if principal.reads_everything:
        return None
    project = session.get(Project, principal.project_id)
    return {project.programme_id} if project else set()


@router.get("", response_model=list[ProgrammeOut], summary="List programmes")
def list_programmes(session: SessionDep, principal: AnyRole) -> list[Programme]:
    query = select(Programme).order_by(Programme.id)
    visible = _visible_programme_ids(session, principal)
    if visible is not None:
        query = query.where(Programme.id.in_(visible))
    return list(session.scalars(query))


@router.get("/{programme_id}", response_model=ProgrammeOut, responses=NOT_FOUND, summary="Show a programme")
def get_programme(programme_id: str, session: SessionDep, principal: AnyRole) -> Programme:
    programme = session.get(Programme, programme_id)
    visible = _visible_programme_ids(session, principal)
    if programme is None or (visible is not None and programme.id not in visible):
        raise NotFound(f"programme {programme_id!r} not found")
    return programme


@router.post(
    "",
    response_model=ProgrammeOut,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Create a programme (operator, council)",
)
def create_programme(
    body: ProgrammeIn,
    session: SessionDep,
    now: NowDep,
    _: Annotated[Principal, Depends(require("council"))],
) -> Programme:
    if session.get(Programme, body.id) is not None or session.get(Project, body.id) is not None:
        raise Conflict(f"id: {body.id!r} is already a programme or project id")
    programme = Programme(
        id=body.id,
        name=body.name,
        share=body.share,
        borrowing_limit_gpus=body.borrowing_limit_gpus,
        created_at=now,
    )
    session.add(programme)
    session.commit()
    return programme
