"""FastAPI dependencies for what ``create_app`` put in ``app.state``: sessions, the clock, settings, the
factory's shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from aifactory.cluster.topology import Topology
from aifactory.service.settings import Settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; anything not committed is rolled back when the request ends.

    Async on purpose: creating a session does no I/O, so it costs no worker-thread hand-off; closing one
    that is still in a transaction rolls back (I/O) in a worker thread, while closing one that committed
    only returns its connection to the pool.
    """
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


async def get_now(request: Request) -> datetime:
    """The request's time from the injected clock (timezone-aware UTC)."""
    now = request.app.state.clock()
    assert isinstance(now, datetime)
    return now


async def get_settings(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


async def get_factory(request: Request) -> Topology:
    """The factory's shape, built once from the settings."""
    topology = request.app.state.topology
    assert isinstance(topology, Topology)
    return topology


SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(get_now)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
FactoryDep = Annotated[Topology, Depends(get_factory)]
