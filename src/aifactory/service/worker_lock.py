"""One scheduler loop per database: the lock ``aifactory worker`` and ``aifactory serve --worker`` hold.

Two loops over one database would each place jobs on what they believe are free GPUs and hand the same
GPU to two jobs. The lock is held for the loop's lifetime and released by the operating system or the
database when its process dies, even by SIGKILL, so a restarted worker takes it over:

- PostgreSQL: a session advisory lock keyed by the schema (``current_schema()``), on a connection of
  its own;
- SQLite: an exclusive ``flock`` on ``<database file>.worker.lock`` (an in-memory database is one
  process's own and needs none).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from typing import IO

from sqlalchemy import Connection, Engine, text

POLL_S = 0.2
KEY = "hashtext('aifactory.worker:' || current_schema())"  # one lock per schema (tests share a database)


class WorkerLock:
    """The database's worker lock; :meth:`acquire` waits for it up to ``wait_s`` seconds."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None
        self._file: IO[bytes] | None = None
        self.held = False

    def acquire(self, wait_s: float = 0.0) -> bool:
        """Take the lock; ``False`` if another loop still holds it after ``wait_s`` seconds (a worker
        killed just now may take the database a moment to notice)."""
        deadline = time.monotonic() + wait_s
        while not self._try():
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)
        self.held = True
        return True

    def _try(self) -> bool:
        if self.engine.dialect.name == "sqlite":
            return self._try_file()
        if self._connection is None:
            self._connection = self.engine.connect()
        got = self._connection.execute(text(f"SELECT pg_try_advisory_lock({KEY})")).scalar()
        self._connection.commit()  # the advisory lock is the session's; no transaction stays open
        return bool(got)

    def _try_file(self) -> bool:
        database = self.engine.url.database
        if database in (None, "", ":memory:"):
            return True
        if self._file is None:
            self._file = open(f"{os.path.abspath(database)}.worker.lock", "ab")  # noqa: SIM115 (held)
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        """Give the lock up (closing the connection or the file releases it)."""
        if self._connection is not None:
            with contextlib.suppress(Exception):  # a dead connection has lost the lock already
                if self.held:
                    self._connection.execute(text(f"SELECT pg_advisory_unlock({KEY})"))
                    self._connection.commit()
                self._connection.close()  # back to the pool: the lock must not ride along
            self._connection = None
        if self._file is not None:
            self._file.close()
            self._file = None
        self.held = False
