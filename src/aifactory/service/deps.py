"""FastAPI dependencies for what ``create_app`` put in ``app.state``: sessions, the clock, settings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from aifactory.service.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; anything not committed is rolled back when the request ends."""
    with request.app.state.sessionmaker() as session:
        yield session


def get_now(request: Request) -> datetime:
    """The request's time from the injected clock (timezone-aware UTC)."""
    now = request.app.state.clock()
    assert isinstance(now, datetime)
    return now


def get_settings(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(get_now)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
