"""Migrations create the whole schema on an empty database, a second upgrade changes nothing, and the
models match the migrations exactly; SQLite enforces foreign keys and uses WAL; timestamps stay UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError, StatementError

from aifactory.service.db import Base, Programme, Project, make_engine, make_sessionmaker, upgrade
from aifactory.service.db.migrate import current_revision, head_revision

TABLES = {
    "programmes",
    "projects",
    "tokens",
    "allocations",
    "providers",
    "offers",
    "reservations",
    "jobs",
    "usage_records",
    "rack_states",
}


@pytest.fixture(scope="module")
def empty_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_upgrade_creates_every_table_and_is_idempotent(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert set(inspect(empty_engine).get_table_names()) >= TABLES
    assert current_revision(empty_engine) == head_revision() == "0003"
    upgrade(empty_engine)  # a second upgrade is a no-op
    assert current_revision(empty_engine) == "0003"
    with empty_engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    indexes = {index["name"] for index in inspect(empty_engine).get_indexes("jobs")}
    assert "ix_jobs_state_seq" in indexes


def test_foreign_keys_and_checks_are_enforced(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with make_sessionmaker(empty_engine)() as session:
        session.add(Project(id="orphan", programme_id="missing", name="x", weight=1.0, created_at=now))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        session.add(Programme(id="neg", name="x", share=-1.0, created_at=now))
        with pytest.raises(IntegrityError):
            session.commit()


def test_timestamps_are_aware_utc(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    taipei = timezone(timedelta(hours=8))
    with make_sessionmaker(empty_engine)() as session:
        session.add(
            Programme(id="tz", name="x", share=1.0, created_at=datetime(2026, 1, 1, 8, tzinfo=taipei))
        )
        session.commit()
    with make_sessionmaker(empty_engine)() as session:
        stored = session.get(Programme, "tz")
        assert stored is not None
        assert stored.created_at == datetime(2026, 1, 1, 0, tzinfo=UTC)
        assert stored.created_at.utcoffset() == timedelta(0)
        session.add(Programme(id="naive", name="x", share=1.0, created_at=datetime(2026, 1, 1)))
        with pytest.raises(StatementError, match="timezone-aware"):
            session.commit()


def test_sqlite_pragmas(empty_engine: Engine) -> None:
    if empty_engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with empty_engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_migrations_ship_inside_the_package() -> None:
    from aifactory.service.db.migrate import MIGRATIONS

    assert (MIGRATIONS / "env.py").is_file()
    assert list((MIGRATIONS / "versions").glob("v0001_*.py"))


def test_migration_0002_round_trips(empty_engine: Engine) -> None:
    from alembic import command

    from aifactory.service.db.migrate import alembic_config

    upgrade(empty_engine)
    command.downgrade(alembic_config(empty_engine), "base")
    upgrade(empty_engine, "0001")
    columns = {c["name"] for c in inspect(empty_engine).get_columns("usage_records")}
    assert "price_per_gpu_hour" not in columns
    upgrade(empty_engine)
    columns = {c["name"] for c in inspect(empty_engine).get_columns("usage_records")}
    assert {"price_per_gpu_hour", "reservation_id"} <= columns
    command.downgrade(alembic_config(empty_engine), "0001")
    assert current_revision(empty_engine) == "0001"
    upgrade(empty_engine)
    assert current_revision(empty_engine) == "0003"


def test_migration_0003_adds_checked_borrowing_limits(empty_engine: Engine) -> None:
    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from aifactory.service.db.migrate import alembic_config

    upgrade(empty_engine)
    command.downgrade(alembic_config(empty_engine), "base")
    upgrade(empty_engine, "0002")
    for table in ("programmes", "projects"):
        assert "borrowing_limit_gpus" not in {c["name"] for c in inspect(empty_engine).get_columns(table)}
    with empty_engine.begin() as connection:  # a programme stored before 0003 keeps its row
        connection.execute(text("INSERT INTO programmes VALUES ('sci', 'Science', 1.0, '2026-01-01')"))
    upgrade(empty_engine)
    for table in ("programmes", "projects"):
        assert "borrowing_limit_gpus" in {c["name"] for c in inspect(empty_engine).get_columns(table)}
    with empty_engine.begin() as connection:
        assert connection.execute(text("SELECT borrowing_limit_gpus FROM programmes")).scalar_one() is None
    with pytest.raises(IntegrityError), empty_engine.begin() as connection:
        connection.execute(text("UPDATE programmes SET borrowing_limit_gpus = -1"))
    command.downgrade(alembic_config(empty_engine), "0002")
    assert "borrowing_limit_gpus" not in {c["name"] for c in inspect(empty_engine).get_columns("programmes")}
    with empty_engine.begin() as connection:
        assert connection.execute(text("SELECT id FROM programmes")).scalar_one() == "sci"
