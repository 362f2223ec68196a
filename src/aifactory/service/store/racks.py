"""Racks' stored states (drained, failed trays): the row a change of state locks."""

from __future__ import annotations

from sqlalchemy.orm import Session

from aifactory.service.db.models import RackState
from aifactory.service.store.locks import locked


def lock(session: Session, rack: int) -> RackState | None:
    """The rack's state row, locked until the transaction ends (None: never changed, in service)."""
    return locked(session, RackState, rack)
