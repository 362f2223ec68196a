"""Row locks: a state change reads its row locked, so that of concurrent requests for the same change
exactly one wins — the others wait for it, then see the new state and are refused.

PostgreSQL locks the row (``SELECT … FOR UPDATE``). SQLite has one writer at a time and no row locks:
a write to the row (a no-op update) takes the database's write lock first; the transaction before it
(reads only) is ended so that the write does not fail on a stale read snapshot.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, inspect, select, update
from sqlalchemy.orm import Session

T = TypeVar("T")


def locked(session: Session, model: type[T], key: Any) -> T | None:
    """``model``'s row with primary key ``key``, locked until the transaction ends (None: no such row).

    Call it before the change's other reads: on SQLite a read-only transaction still open is ended
    here (nothing pending may be in the session)."""
    (column,) = inspect(model).primary_key
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("locked(): the session has unsaved changes; lock before changing rows")
        if session.in_transaction():
            session.commit()
        session.execute(update(model).where(column == key).values({column.key: column}))
    query = select(model).where(column == key).execution_options(populate_existing=True)
    if not sqlite:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def locked_group(session: Session, model: type[T], key: Any, group: Select[Any]) -> T | None:
    """``model``'s row ``key`` locked together with the rows whose keys ``group`` selects, all taken in
    key order: two requests that lock overlapping groups (two revocations of two of the last tokens of
    a role) then queue one behind the other instead of deadlocking. None: no such row.

    SQLite: the database's write lock (as :func:`locked`) covers every row at once."""
    (column,) = inspect(model).primary_key
    if session.get_bind().dialect.name == "sqlite":
        return locked(session, model, key)
    keys = sorted({*session.scalars(group), key})
    session.execute(select(column).where(column.in_(keys)).order_by(column).with_for_update()).all()
    return session.scalars(
        select(model).where(column == key).execution_options(populate_existing=True)
    ).one_or_none()
