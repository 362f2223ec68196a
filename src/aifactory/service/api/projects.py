"""Projects: the tenants, each in one programme; jobs, allocations and tokens belong to a project."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import ConfigDict, Field
from sqlalchemy import select

from aifactory.service.api.schemas import CONFLICT, ERRORS, NOT_FOUND, Body, CouncilId, Name, Out, Slug
from aifactory.service.auth import AnyRole, Principal, require
from aifactory.service.db.models import Programme, Project
from aifactory.service.deps import NowDep, SessionDep
from aifactory.service.errors import Conflict, Invalid, NotFound

router = APIRouter(prefix="/projects", tags=["projects"], responses=ERRORS)


class ProjectIn(Body):
    id: CouncilId = Field(description="Slug, unique across projects and programmes.", examples=["climate-ai"])
    programme_id: Slug = Field(examples=["science"])
    name: Name = Field(examples=["Climate foundation model"])
    weight: float = Field(1.0, ge=0, le=1e6, description="Fair-share weight within the programme.")
    quota_gpus: int | None = Field(
        None,
        ge=0,
        le=10_000_000,
        description="A fixed nominal quota of GPUs, its entitlement taken first from the programme's share "
        "(none: a part of the rest by weight).",
    )
    borrowing_limit_gpus: int | None = Field(
        None,
        ge=0,
        le=10_000_000,
        description="Most GPUs beyond its entitlement it may borrow when others' are idle (none: no limit); "
        "a job that could never fit is refused at submission.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "climate-ai", "programme_id": "science", "name": "Climate AI", "quota_gpus": 512}
            ]
        }
    )


class ProjectOut(Out):
    id: str
    programme_id: str
    name: str
    weight: float
    quota_gpus: int | None
    borrowing_limit_gpus: int | None
    created_at: datetime


@router.get("", response_model=list[ProjectOut], summary="List projects (project roles: their own)")
def list_projects(
    session: SessionDep,
    principal: AnyRole,
    programme: Annotated[Slug | None, Query(description="Only this programme's projects.")] = None,
) -> list[Project]:
    query = select(Project).order_by(Project.id)
    if programme is not None:
        query = query.where(Project.programme_id == programme)
    if not principal.reads_everything:
        query = query.where(Project.id == principal.project_id)
    return list(session.scalars(query))


@router.get("/{project_id}", response_model=ProjectOut, responses=NOT_FOUND, summary="Show a project")
def get_project(project_id: str, session: SessionDep, principal: AnyRole) -> Project:
    project = session.get(Project, project_id)
    if project is None or not principal.can_see_project(project.id):
        raise NotFound(f"project {project_id!r} not found")
    return project


@router.post(
    "",
    response_model=ProjectOut,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Create a project (operator, council)",
)
def create_project(
    body: ProjectIn,
    session: SessionDep,
    now: NowDep,
    _: Annotated[Principal, Depends(require("council"))],
) -> Project:
    if session.get(Programme, body.programme_id) is None:
        raise Invalid(f"programme_id: no programme {body.programme_id!r}")
    if session.get(Project, body.id) is not None or session.get(Programme, body.id) is not None:
        raise Conflict(f"id: {body.id!r} is already a programme or project id")
    project = Project(
        id=body.id,
        programme_id=body.programme_id,
        name=body.name,
        weight=body.weight,
        quota_gpus=body.quota_gpus,
        borrowing_limit_gpus=body.borrowing_limit_gpus,
        created_at=now,
    )
    session.add(project)
    session.commit()
    return project
