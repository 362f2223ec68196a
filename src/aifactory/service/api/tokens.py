"""Tokens: created with their secret shown once, listed without it, revoked by id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, status
from pydantic import ConfigDict, Field, model_validator
from sqlalchemy import select

from aifactory.service.api.schemas import CONFLICT, ERRORS, MAX_INT, NOT_FOUND, Body, Out, Slug, Subject
from aifactory.service.auth import Principal, issue_token, require
from aifactory.service.db.models import PROJECT_ROLES, Project, Token
from aifactory.service.deps import NowDep, SessionDep
from aifactory.service.errors import Conflict, Forbidden, Invalid, NotFound
from aifactory.service.store import tokens as store_tokens

LOCKOUT_ROLES = ("operator", "project_admin")
"""Roles of which the last active token cannot be revoked (without one, nobody can make new tokens)."""

router = APIRouter(prefix="/tokens", tags=["tokens"], responses=ERRORS)

Role = Literal["operator", "council", "project_admin", "project_member"]


class TokenIn(Body):
    subject: Subject = Field(description="Who will hold the token.")
    role: Role = Field(examples=["project_member"])
    project_id: Slug | None = Field(
        None, description="Required for the project roles (a project admin's own project by default)."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"subject": "alice", "role": "project_member", "project_id": "climate-ai"}]
        }
    )

    @model_validator(mode="after")
    def _project_only_for_project_roles(self) -> TokenIn:
        if self.role not in PROJECT_ROLES and self.project_id is not None:
            raise ValueError(f"project_id: not allowed for role {self.role!r}")
        return self


class TokenOut(Out):
    id: int
    subject: str
    role: str
    project_id: str | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    secret: str = Field(description="The bearer secret; shown only in this answer.", examples=["aif_..."])


@router.post(
    "",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create a token (operator: any; project admin: members of their project)",
)
def create_token(
    body: TokenIn,
    session: SessionDep,
    now: NowDep,
    principal: Annotated[Principal, Depends(require("project_admin"))],
) -> TokenCreated:
    project_id = body.project_id
    if not principal.is_operator:
        if body.role != "project_member":
            raise Forbidden(
                f"role: a project_admin token may only create project_member tokens, not {body.role}"
            )
        project_id = project_id or principal.project_id
        assert project_id is not None
        principal.acts_for(project_id)
    if body.role in PROJECT_ROLES:
        if project_id is None:
            raise Invalid(f"project_id: required for role {body.role!r}")
        if session.get(Project, project_id) is None:
            raise Invalid(f"project_id: no project {project_id!r}")
    token, secret = issue_token(session, subject=body.subject, role=body.role, project_id=project_id, now=now)
    session.commit()
    return TokenCreated(**TokenOut.model_validate(token).model_dump(), secret=secret)


@router.get("", response_model=list[TokenOut], summary="List tokens (project admin: their project's)")
def list_tokens(
    session: SessionDep, principal: Annotated[Principal, Depends(require("council", "project_admin"))]
) -> list[Token]:
    query = select(Token).order_by(Token.id)
    if not principal.reads_everything:
        query = query.where(Token.project_id == principal.project_id)
    return list(session.scalars(query))


@router.delete(
    "/{token_id}",
    response_model=TokenOut,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Revoke a token (operator: any; project admin: their project's member tokens)",
)
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_INT)],
    session: SessionDep,
    now: NowDep,
    principal: Annotated[Principal, Depends(require("project_admin"))],
) -> Token:
    """Revoke once: a token already revoked is a 409 (of concurrent revocations one wins). The last
    active operator token, and a project's last active admin token, cannot be revoked (409): nobody
    could then create tokens for the factory or the project."""
    token = store_tokens.lock(session, token_id, LOCKOUT_ROLES)  # held until committed
    if token is None or not (principal.is_operator or token.project_id == principal.project_id):
        raise NotFound(f"token {token_id} not found")
    if not principal.is_operator and token.role != "project_member":
        raise Forbidden(f"a project_admin token may only revoke project_member tokens, not {token.role}")
    if token.revoked_at is not None:
        raise Conflict(
            f"revoked_at: token {token_id} was already revoked at {token.revoked_at:%Y-%m-%dT%H:%M:%SZ}"
        )
    if token.role in LOCKOUT_ROLES and set(store_tokens.active_peers(session, token)) <= {token.id}:
        whose = "the factory's" if token.project_id is None else f"project {token.project_id}'s"
        raise Conflict(
            f"role: token {token_id} is {whose} last active {token.role} token; "
            f"create another {token.role} token before revoking this one"
        )
    token.revoked_at = now
    session.commit()
    return token
