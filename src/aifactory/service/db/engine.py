"""Engine and session factory. SQLite gets foreign keys enforced and write-ahead logging."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; ``sqlite:///path`` files get ``foreign_keys=ON`` and WAL mode."""
    if is_sqlite(url):
        connect_args = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        memory = make_url(url).database in (None, "", ":memory:")

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    # The API serves requests from a pool of up to 40 threads (AnyIO's default), each holding one
    # connection while it works: keep that many open rather than connecting (a new server process on
    # PostgreSQL) and closing an overflow connection per request under load. Connections are not pinged
    # before each use (a round trip per request): a connection found dead (the server restarted)
    # invalidates the whole pool at once, the API answers that request 503 ("try again"), and job
    # submission retries it itself when the dead connection is found by its first statement.
    options: dict[str, Any] = {"pool_pre_ping": False, "pool_size": 20, "max_overflow": 20} | kwargs
    return create_engine(url, **options)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
