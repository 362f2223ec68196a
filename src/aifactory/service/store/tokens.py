"""Tokens in the database: the row a revocation changes, locked — with, for a role whose last active
token must not go (the last operator; a project's last admin), every active token of that role locked
too, so that two revocations of different tokens cannot each leave the other as the last one."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from aifactory.service.db.models import Token
from aifactory.service.store.locks import locked, locked_group


def _peers(role: str, project_id: str | None) -> Select[int]:
    query = select(Token.id).where(Token.role == role, Token.revoked_at.is_(None))
    if project_id is not None:
        query = query.where(Token.project_id == project_id)
    return query


def lock(session: Session, token_id: int, guarded_roles: tuple[str, ...] = ()) -> Token | None:
    """The token, locked until the transaction ends (None: no such token); when its role is one of
    ``guarded_roles``, with every active token of its role (and project) locked as well."""
    found = session.execute(select(Token.role, Token.project_id).where(Token.id == token_id)).one_or_none()
    if found is None or found.role not in guarded_roles:
        return locked(session, Token, token_id)
    return locked_group(session, Token, token_id, _peers(found.role, found.project_id))


def active_peers(session: Session, token: Token) -> list[int]:
    """Ids of the active tokens with ``token``'s role (and project, for project roles)."""
    return list(session.scalars(_peers(token.role, token.project_id)))
