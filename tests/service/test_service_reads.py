"""Reads write nothing: every GET of the API and the dashboard, on a seeded world, commits no change
(the only write a request may make is its token's last-use time, once a minute); and an allocation
whose period has passed shows as expired on a read while the database keeps it until the worker
writes the expiry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy import event, select
from test_service_worker import make_worker

from aifactory.service.db.models import Allocation
from conftest import World

KNOWN = {  # a path parameter named like these is set to an id of that collection that exists
    "job_id": "jobs",
    "allocation_id": "allocations",
    "programme_id": "programmes",
    "project_id": "projects",
    "offer_id": "offers",
    "reservation_id": "reservations",
    "provider_id": "providers",
}


def _existing(world: World, collection: str) -> list[Any]:
    response = world.get("operator", f"/api/v1/{collection}")
    return [item["id"] for item in response.json()] if response.status_code == 200 else []


def _get_paths(world: World) -> list[str]:
    """Every GET the app serves — the API's (from its OpenAPI), the dashboard's and the ops' — with
    path parameters set to objects that exist."""
    known = {name: _existing(world, collection) for name, collection in KNOWN.items()}
    templates = [p for p, ops in world.client.get("/openapi.json").json()["paths"].items() if "get" in ops]
    templates += [r.path for r in world.client.app.routes if isinstance(r, APIRoute) and "GET" in r.methods]  # type: ignore[attr-defined]
    paths = []
    for template in templates:
        path = template
        for name, ids in known.items():
            if "{" + name + "}" in path and ids:
                path = path.replace("{" + name + "}", str(ids[0]))
        if "{" not in path:
            paths.append(path)
    return paths


def test_no_read_commits(seeded: World) -> None:
    world = seeded
    world.clock.advance(days=400)  # every allocation's period is over: a read must not expire them
    commits: list[Any] = []

    def listener(connection: Any) -> None:
        commits.append(connection)

    paths = _get_paths(world)
    assert any(p.startswith("/api/v1/allocations") for p in paths) and "/" in paths  # API and dashboard
    for role in ("operator", "member_a"):
        world.get(role, "/api/v1/whoami")  # the token's last use is written (once a minute)
        event.listen(world.engine, "commit", listener)
        try:
            for path in paths:
                params = {"start_at": "2026-01-05T00:00:00Z", "end_at": "2026-01-06T00:00:00Z"}
                response = world.get(role, path, params=params if path.endswith("/availability") else None)
                assert response.status_code < 500, (path, response.text)
                assert not commits, f"GET {path} as {role} committed"
        finally:
            event.remove(world.engine, "commit", listener)


def test_an_ended_period_shows_expired_and_the_worker_writes_it(world: World, tmp_path: Path) -> None:
    asked = world.request_allocation(end_at="2026-01-10T00:00:00Z")  # never reviewed
    world.clock.advance(days=30)
    shown = world.get("member_a", f"/api/v1/allocations/{asked['id']}").json()
    assert shown["state"] == "expired"
    with world.session() as session:
        assert session.scalar(select(Allocation.state).where(Allocation.id == asked["id"])) == "requested"
    refused = world.post("council", f"/api/v1/allocations/{asked['id']}/review", {"decision": "approve"})
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"state: allocation {asked['id']} is expired; only a requested allocation can be reviewed"
    )
    make_worker(world, tmp_path).cycle()  # the worker persists what the domain expired
    with world.session() as session:
        assert session.scalar(select(Allocation.state).where(Allocation.id == asked["id"])) == "expired"
