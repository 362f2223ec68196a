"""Bearer tokens: ``aif_`` + 32 url-safe characters, stored only as a sha256 hash; role checks.

A request's :class:`Principal` comes from ``Authorization: Bearer <secret>``; ``require(...)`` builds
FastAPI dependencies that let only some roles through (operator always passes).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from aifactory.service.db.models import PROJECT_ROLES, ROLES, Project, Token
from aifactory.service.deps import NowDep, SessionDep
from aifactory.service.errors import Forbidden, Invalid, Unauthorized

PREFIX = "aif_"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute per token

bearer = HTTPBearer(auto_error=False, description="A token secret: `Authorization: Bearer aif_...`")


def new_secret() -> str:
    """A fresh token secret: ``aif_`` followed by 32 url-safe characters."""
    return PREFIX + secrets.token_urlsafe(24)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(
    session: Session, *, subject: str, role: str, project_id: str | None, now: datetime
) -> tuple[Token, str]:
    """Store a new token (its hash only) and return it with its secret, which is never stored."""
    if role not in ROLES:
        raise ValueError(f"role: {role!r} is not one of {', '.join(ROLES)}")
    secret = new_secret()
    token = Token(
        subject=subject,
        role=role,
        project_id=project_id,
        token_hash=hash_secret(secret),
        created_at=now,
        revoked_at=None,
        last_used_at=None,
    )
    session.add(token)
    session.flush()
    return token, secret


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, subject, role and (for the project roles) project."""

    token_id: int
    subject: str
    role: str
    project_id: str | None

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    @property
    def reads_everything(self) -> bool:
        return self.role in ("operator", "council")

    @property
    def project_bound(self) -> bool:
        return self.role in PROJECT_ROLES

    def can_see_project(self, project_id: str) -> bool:
        return self.reads_everything or self.project_id == project_id

    def acts_for(self, project_id: str, field: str = "project_id") -> None:
        """Raise 403 unless the caller is an operator or bound to ``project_id``."""
        if not (self.is_operator or self.project_id == project_id):
            raise Forbidden(f"{field}: a {self.role} token may not act on project {project_id!r}")

    def project_for(self, asked: str | None) -> str:
        """The project a request acts on: the one ``asked`` for (default: the token's own), which the
        caller must be allowed to act on (422 when an operator names none, 403 for another's)."""
        project_id = asked or self.project_id
        if project_id is None:
            raise Invalid("project_id: required for an operator token")
        self.acts_for(project_id)
        return project_id


def existing_project(session: Session, principal: Principal, asked: str | None) -> str:
    """:meth:`Principal.project_for`, and the project must exist (422 naming ``project_id``)."""
    project_id = principal.project_for(asked)
    if session.get(Project, project_id) is None:
        raise Invalid(f"project_id: no project {project_id!r}")
    return project_id


def authenticate(session: Session, secret: str, now: datetime) -> Principal:
    """The principal holding ``secret``; 401 for an unknown or revoked secret.

    Every request comes here, so it reads only the columns it needs (no ORM object), and writes
    ``last_used_at`` at most once a :data:`LAST_USED_RESOLUTION` per token (committed at once: a
    read-only request must not lose it, a write request must not depend on it).
    """
    if not secret.startswith(PREFIX):
        raise Unauthorized("invalid token")
    # Through the connection: a Core statement needs none of the ORM session's execution machinery.
    row = session.connection().execute(_TOKEN_BY_HASH, {"token_hash": hash_secret(secret)}).one_or_none()
    if row is None:
        raise Unauthorized("invalid token")
    token_id, subject, role, project_id, revoked_at, last_used_at = row
    if revoked_at is not None:
        raise Unauthorized("token revoked")
    if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
        session.execute(update(Token).where(Token.id == token_id).values(last_used_at=now))
        session.commit()
    return Principal(token_id, subject, role, project_id)


_TOKEN_BY_HASH = select(
    Token.id, Token.subject, Token.role, Token.project_id, Token.revoked_at, Token.last_used_at
).where(Token.token_hash == bindparam("token_hash"))


async def bearer_secret(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The presented secret, not yet checked (401 without one): for a hot path that looks the token up
    in its own database work (:func:`authenticate`) instead of in a thread of its own."""
    if credentials is None:
        raise Unauthorized("missing bearer token (Authorization: Bearer aif_...)")
    return credentials.credentials


def current_principal(
    secret: Annotated[str, Depends(bearer_secret)], session: SessionDep, now: NowDep
) -> Principal:
    """The caller, from ``Authorization: Bearer <secret>``; 401 without a valid token."""
    return authenticate(session, secret, now)


def roles_allowed(*roles: str) -> frozenset[str]:
    """The operator and ``roles`` (a ValueError for an unknown role)."""
    allowed = frozenset(("operator", *roles))
    unknown = allowed - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return allowed


def admit(principal: Principal, allowed: frozenset[str]) -> Principal:
    """``principal`` if its role is allowed; 403 naming the roles that are otherwise."""
    if principal.role not in allowed:
        needed = " or ".join(sorted(allowed))
        raise Forbidden(f"a {principal.role} token may not do this (needs {needed})")
    return principal


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting the operator and the given roles; any other valid token gets 403.

    Async: the role check does no I/O, so it runs on the event loop instead of a worker thread.
    """
    allowed = roles_allowed(*roles)

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        return admit(principal, allowed)

    return dependency


AnyRole = Annotated[Principal, Depends(current_principal)]
