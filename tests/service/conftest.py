"""Fixtures of the service tests: every test runs on SQLite and on PostgreSQL.

PostgreSQL is ``postgresql+psycopg://postgres@127.0.0.1:5432/test`` (trust auth); each test module gets a
schema of its own (through ``search_path``), dropped afterwards, so xdist workers never collide. Without
a reachable server the PostgreSQL variants fail, unless ``AIFACTORY_SKIP_POSTGRES=1`` (local use only).
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # recent Starlette prefers the httpx2 package; httpx works the same here
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from aifactory.service.app import create_app
from aifactory.service.auth import issue_token
from aifactory.service.db import Base, Programme, Project, make_engine, make_sessionmaker, upgrade
from aifactory.service.settings import Settings

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _postgres_schema() -> Iterator[str]:
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_SERVER, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL at {POSTGRES_SERVER} unreachable: {str(exc).strip().splitlines()[0]}"
        if os.environ.get("AIFACTORY_SKIP_POSTGRES") == "1":
            pytest.skip(reason + " (AIFACTORY_SKIP_POSTGRES=1)")
        pytest.fail(reason + " (set AIFACTORY_SKIP_POSTGRES=1 to skip locally; CI always has it)")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database of the module's own: a SQLite file or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'service.db'}"
    else:
        yield from _postgres_schema()


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    """The module's database, migrated to the newest schema."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


class Clock:
    """A settable clock for the app (aware UTC)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="module")
def client(engine: Engine, clock: Clock, log_dir: Path, database_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database_url, log_dir=log_dir), clock=clock, engine=engine)
    with TestClient(app) as test_client:
        yield test_client


ROLES = ("operator", "council", "admin_a", "member_a", "admin_b", "member_b")
TOKEN_ROLES = {
    "operator": ("operator", None),
    "council": ("council", None),
    "admin_a": ("project_admin", "pa"),
    "member_a": ("project_member", "pa"),
    "admin_b": ("project_admin", "pb"),
    "member_b": ("project_member", "pb"),
}


@dataclass
class World:
    """Programme ``sci`` with projects ``pa`` and ``pb``, programme ``ind`` with ``pc``, and a token per
    role; ``headers[name]`` authenticates as that role (``anon``: no header, ``bad``: an unknown secret)."""

    client: TestClient
    engine: Engine
    clock: Clock
    log_dir: Path
    secrets: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, int] = field(default_factory=dict)

    def headers(self, name: str) -> dict[str, str]:
        if name == "anon":
            return {}
        if name == "bad":
            return {"Authorization": "Bearer aif_not-a-real-token-000000000000000000"}
        return {"Authorization": f"Bearer {self.secrets[name]}"}

    def call(self, role: str, method: str, url: str, json: Any = None, **kwargs: Any) -> Any:
        headers = {**self.headers(role), **kwargs.pop("headers", {})}
        return self.client.request(method, url, json=json, headers=headers, **kwargs)

    def get(self, role: str, url: str, **kwargs: Any) -> Any:
        return self.call(role, "GET", url, **kwargs)

    def post(self, role: str, url: str, json: Any = None, **kwargs: Any) -> Any:
        return self.call(role, "POST", url, json, **kwargs)

    def session(self) -> Session:
        return make_sessionmaker(self.engine)()

    def add_token(self, name: str, role: str, project_id: str | None) -> None:
        with self.session() as session:
            token, secret = issue_token(session, subject=name, role=role, project_id=project_id, now=START)
            session.commit()
            self.secrets[name], self.token_ids[name] = secret, token.id

    def submit(self, role: str = "operator", **body: Any) -> dict[str, Any]:
        payload = {"project_id": "pa", "command": "echo hi", "gpus": 1, "time_limit_s": 60} | body
        response = self.post(role, "/api/v1/jobs", payload)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    def request_allocation(self, role: str = "operator", **body: Any) -> dict[str, Any]:
        payload = {
            "project_id": "pa",
            "gpu_hours": 1000,
            "start_at": "2026-01-01T00:00:00Z",
            "end_at": "2026-04-01T00:00:00Z",
        } | body
        response = self.post(role, "/api/v1/allocations", payload)
        assert response.status_code == 201, response.text
        return dict(response.json())


def reset(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))


@pytest.fixture
def world(client: TestClient, engine: Engine, clock: Clock, log_dir: Path) -> World:
    reset(engine)
    clock.now = START
    with make_sessionmaker(engine)() as session:
        session.add_all(
            [
                Programme(id="sci", name="Science", share=0.6, created_at=START),
                Programme(id="ind", name="Industry", share=0.4, created_at=START),
            ]
        )
        session.flush()
        session.add_all(
            [
                Project(id="pa", programme_id="sci", name="A", weight=1.0, created_at=START),
                Project(id="pb", programme_id="sci", name="B", weight=1.0, created_at=START),
                Project(id="pc", programme_id="ind", name="C", weight=1.0, created_at=START),
            ]
        )
        session.commit()
    w = World(client, engine, clock, log_dir)
    for name, (role, project) in TOKEN_ROLES.items():
        w.add_token(name, role, project)
    return w


@pytest.fixture
def seeded(world: World) -> World:
    """The conftest world plus objects generated paths may point at: an approved and a requested
    allocation, jobs of ``pa`` (pending, cancelled, one with a log) and of ``pb``, and, when the market's
    routes are there, a provider, an offer and a reservation."""
    allocation = world.request_allocation(project_id="pa")
    world.post("council", f"/api/v1/allocations/{allocation['id']}/review", {"decision": "approve"})
    world.request_allocation(project_id="pb")
    kept = world.submit(project_id="pa", name="kept")
    cancelled = world.submit(project_id="pa", name="cancelled")
    world.post("operator", f"/api/v1/jobs/{cancelled['id']}/cancel")
    world.submit(project_id="pb", executor="simulated", duration_s=60)
    world.log_dir.joinpath(f"{kept['id']}.log").write_text("line 1\nline 2\n")
    provider = {"id": "factory", "name": "The factory", "country": "GB", "kind": "factory"}
    if world.post("operator", "/api/v1/providers", provider).status_code == 201:  # once the market lands
        offer = {"provider_id": "factory", "shape": "gpu.4xgb300", "price_per_gpu_hour": 2.5}
        offer |= {"kind": "reserved", "units": 4, "available_from": "2026-01-01T00:00:00Z"}
        booked = world.post("operator", "/api/v1/offers", offer).json()
        window = {"start_at": "2026-02-01T00:00:00Z", "end_at": "2026-02-02T00:00:00Z"}
        world.post("member_a", "/api/v1/reservations", {"offer_id": booked.get("id"), "units": 1} | window)
    return world
