"""Every endpoint × every role: 401 without a valid token, 403 for a wrong role, 404 (not 403) for another
project's job, allocation, project or token, and the expected success code otherwise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conftest import World

Request = tuple[str, str, Any]
Case = tuple[str, Callable[[World, str], Request], dict[str, int]]

ALL_OK = dict.fromkeys(("operator", "council", "admin_a", "member_a", "admin_b", "member_b"), 200)
READERS_A = {
    "operator": 200,
    "council": 200,
    "admin_a": 200,
    "member_a": 200,
    "admin_b": 404,
    "member_b": 404,
}
COUNCIL_WRITES = {
    "operator": 201,
    "council": 201,
    "admin_a": 403,
    "member_a": 403,
    "admin_b": 403,
    "member_b": 403,
}
PROJECT_A_WRITES = {
    "operator": 201,
    "council": 403,
    "admin_a": 201,
    "member_a": 201,
    "admin_b": 403,
    "member_b": 403,
}
REVIEWERS = {
    "operator": 200,
    "council": 200,
    "admin_a": 403,
    "member_a": 403,
    "admin_b": 403,
    "member_b": 403,
}
JOB_ACTORS_A = {
    "operator": 200,
    "council": 403,
    "admin_a": 200,
    "member_a": 200,
    "admin_b": 404,
    "member_b": 404,
}


def _job(w: World) -> str:
    return str(w.submit()["id"])


def _allocation(w: World) -> int:
    return int(w.request_allocation()["id"])


def _member_token(w: World) -> int:
    w.add_token("member_a2", "project_member", "pa")
    return w.token_ids["member_a2"]


CASES: list[Case] = [
    ("whoami", lambda w, r: ("GET", "/api/v1/whoami", None), ALL_OK),
    ("list programmes", lambda w, r: ("GET", "/api/v1/programmes", None), ALL_OK),
    ("show own programme", lambda w, r: ("GET", "/api/v1/programmes/sci", None), ALL_OK),
    (
        "show other programme",
        lambda w, r: ("GET", "/api/v1/programmes/ind", None),
        {"operator": 200, "council": 200, "admin_a": 404, "member_a": 404, "admin_b": 404, "member_b": 404},
    ),
    (
        "create programme",
        lambda w, r: ("POST", "/api/v1/programmes", {"id": f"new-{r}".replace("_", "-"), "name": "N"}),
        COUNCIL_WRITES,
    ),
    ("list projects", lambda w, r: ("GET", "/api/v1/projects", None), ALL_OK),
    ("show project", lambda w, r: ("GET", "/api/v1/projects/pa", None), READERS_A),
    (
        "create project",
        lambda w, r: ("POST", "/api/v1/projects", {"id": f"p-{r}", "programme_id": "sci", "name": "N"}),
        COUNCIL_WRITES,
    ),
    (
        "create member token",
        lambda w, r: (
            "POST",
            "/api/v1/tokens",
            {"subject": "zoe", "role": "project_member", "project_id": "pa"},
        ),
        {"operator": 201, "council": 403, "admin_a": 201, "member_a": 403, "admin_b": 403, "member_b": 403},
    ),
    (
        "list tokens",
        lambda w, r: ("GET", "/api/v1/tokens", None),
        {"operator": 200, "council": 200, "admin_a": 200, "member_a": 403, "admin_b": 200, "member_b": 403},
    ),
    (
        "revoke member token",
        lambda w, r: ("DELETE", f"/api/v1/tokens/{_member_token(w)}", None),
        {"operator": 200, "council": 403, "admin_a": 200, "member_a": 403, "admin_b": 404, "member_b": 403},
    ),
    (
        "request allocation",
        lambda w, r: (
            "POST",
            "/api/v1/allocations",
            {
                "project_id": "pa",
                "gpu_hours": 10,
                "start_at": "2026-02-01T00:00:00Z",
                "end_at": "2026-03-01T00:00:00Z",
            },
        ),
        PROJECT_A_WRITES,
    ),
    ("list allocations", lambda w, r: ("GET", "/api/v1/allocations", None), ALL_OK),
    ("show allocation", lambda w, r: ("GET", f"/api/v1/allocations/{_allocation(w)}", None), READERS_A),
    (
        "review allocation",
        lambda w, r: ("POST", f"/api/v1/allocations/{_allocation(w)}/review", {"decision": "approve"}),
        REVIEWERS,
    ),
    (
        "submit job",
        lambda w, r: (
            "POST",
            "/api/v1/jobs",
            {"project_id": "pa", "command": "true", "gpus": 1, "time_limit_s": 5},
        ),
        PROJECT_A_WRITES,
    ),
    ("list jobs", lambda w, r: ("GET", "/api/v1/jobs", None), ALL_OK),
    ("show job", lambda w, r: ("GET", f"/api/v1/jobs/{_job(w)}", None), READERS_A),
    ("cancel job", lambda w, r: ("POST", f"/api/v1/jobs/{_job(w)}/cancel", None), JOB_ACTORS_A),
    ("job logs", lambda w, r: ("GET", f"/api/v1/jobs/{_job(w)}/logs", None), READERS_A),
]

PARAMS = [
    pytest.param(make, role, expected.get(role, 401), id=f"{name}-{role}")
    for name, make, expected in CASES
    for role in ("anon", "bad", *expected)
]


@pytest.mark.parametrize(("make", "role", "expected"), PARAMS)
def test_endpoint_role(world: World, make: Callable[[World, str], Request], role: str, expected: int) -> None:
    method, url, body = make(world, role)
    response = world.call(role, method, url, body)
    assert response.status_code == expected, response.text
    if expected >= 400:
        detail = response.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail
    if expected == 401:
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/openapi.json"])
def test_open_endpoints_need_no_token(world: World, path: str) -> None:
    assert world.get("anon", path).status_code == 200
