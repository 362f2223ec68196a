"""Use cases the CLI runs against the database: upgrade it, bootstrap the first operator token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from aifactory.service.auth import issue_token
from aifactory.service.db.engine import make_engine, make_sessionmaker
from aifactory.service.db.migrate import upgrade
from aifactory.service.db.models import Token


class AdminError(ValueError):
    """A database URL or state the command cannot work with (one line, exit code 2)."""


def open_database(url: str) -> Engine:
    """An engine for ``url``, brought to the newest schema; AdminError if the URL is unusable."""
    try:
        engine = make_engine(url)
    except (ArgumentError, ValueError) as exc:
        raise AdminError(f"--database-url {url!r}: {_line(exc)}") from None
    except ImportError as exc:
        raise AdminError(f"--database-url {url!r}: missing driver ({_line(exc)})") from None
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise AdminError(f"--database-url {_safe(url)}: {_line(exc)}") from None
    return engine


def upgrade_database(url: str) -> None:
    open_database(url).dispose()


def bootstrap(url: str, *, subject: str, force: bool, now: datetime) -> str:
    """Create an operator token and return its secret; AdminError if one exists and not ``force``."""
    subject = subject.strip()
    if not subject:
        raise AdminError("--subject: must not be empty")
    engine = open_database(url)
    try:
        with make_sessionmaker(engine)() as session:
            existing = session.scalars(
                select(Token).where(Token.role == "operator", Token.revoked_at.is_(None)).limit(1)
            ).first()
            if existing is not None and not force:
                raise AdminError(
                    f"an operator token already exists (id {existing.id}, subject {existing.subject!r}); "
                    "use --force to create another"
                )
            _, secret = issue_token(session, subject=subject, role="operator", project_id=None, now=now)
            session.commit()
            return secret
    finally:
        engine.dispose()


def _line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _safe(url: str) -> str:
    """The URL without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
