"""Tokens in the database: the row a revocation changes, locked, and the active tokens of a role that
must not all be revoked (the last operator; a project's last admin) — locked too, so that two
revocations of different tokens cannot each leave the other as the last one and then revoke it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from aifactory.service.db.models import Token
from aifactory.service.store.locks import locked, locked_set


def lock(session: Session, token_id: int) -> Token | None:
    """The token, locked until the transaction ends (None: no such token)."""
    return locked(session, Token, token_id)


def active_peers(session: Session, token: Token) -> list[int]:
    """Ids of the active tokens with ``token``'s role (and project, for project roles), locked."""
    query = select(Token.id).where(Token.role == token.role, Token.revoked_at.is_(None))
    if token.project_id is not None:
        query = query.where(Token.project_id == token.project_id)
    return locked_set(session, query)
