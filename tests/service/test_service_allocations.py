"""Allocations: request validation, the review state machine (approve, amend, reject, never twice),
expiry when the period has passed, and list filters that hide other projects."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import World

URL = "/api/v1/allocations"
GOOD = {
    "project_id": "pa",
    "gpu_hours": 100,
    "start_at": "2026-02-01T00:00:00Z",
    "end_at": "2026-03-01T00:00:00Z",
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"gpu_hours": 0}, "gpu_hours"),
        ({"gpu_hours": -5}, "gpu_hours"),
        ({"gpu_hours": None}, "gpu_hours"),
        ({"end_at": "2026-02-01T00:00:00Z"}, "end_at"),
        ({"end_at": "2026-01-01T00:00:00Z"}, "end_at"),
        ({"start_at": "2026-02-01T00:00:00"}, "start_at"),
        ({"start_at": "yesterday"}, "start_at"),
        ({"start_at": 1767225600}, "start_at"),  # a number is not a date (strict bodies)
        ({"start_at": "1767225600"}, "start_at"),  # nor is a number in quotes
        ({"gpu_hours": "100"}, "gpu_hours"),  # "100" is not 100
        ({"gpu_hours": True}, "gpu_hours"),  # true is not 1
        ({"project_id": "nope"}, "project_id"),
        ({"justification": "x" * 10_001}, "justification"),
        ({"extra": 1}, "extra"),
    ],
)
def test_request_validation(world: World, change: dict[str, Any], field: str) -> None:
    body = {key: value for key, value in (GOOD | change).items() if value is not None}
    response = world.post("member_a", URL, body)
    if field == "project_id":  # a project token acting for a project it does not belong to
        assert response.status_code == 403
    else:
        assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{field}: ")


def test_operator_must_name_the_project(world: World) -> None:
    body = {key: value for key, value in GOOD.items() if key != "project_id"}
    response = world.post("operator", URL, body)
    assert response.status_code == 422 and response.json()["detail"].startswith("project_id: ")
    unknown = world.post("operator", URL, GOOD | {"project_id": "nope"})
    assert unknown.status_code == 422 and unknown.json()["detail"].startswith("project_id: ")


def test_request_defaults_to_own_project(world: World) -> None:
    body = {key: value for key, value in GOOD.items() if key != "project_id"} | {"justification": "why"}
    response = world.post("member_b", URL, body)
    assert response.status_code == 201
    allocation = response.json()
    assert allocation["project_id"] == "pb" and allocation["state"] == "requested"
    assert allocation["requested_by"] == "member_b" and allocation["gpu_hours_granted"] is None
    assert allocation["gpu_hours_used"] == 0 and allocation["justification"] == "why"


def test_approve(world: World) -> None:
    allocation = world.request_allocation()
    world.clock.advance(hours=2)
    response = world.post(
        "council", f"{URL}/{allocation['id']}/review", {"decision": "approve", "note": "ok"}
    )
    assert response.status_code == 200
    reviewed = response.json()
    assert reviewed["state"] == "approved" and reviewed["gpu_hours_granted"] == 1000
    assert reviewed["reviewed_by"] == "council" and reviewed["review_note"] == "ok"
    assert reviewed["reviewed_at"] == "2026-01-05T11:00:00Z"
    again = world.post("operator", f"{URL}/{allocation['id']}/review", {"decision": "reject"})
    assert again.status_code == 409 and again.json()["detail"].startswith("state: ")


def test_amend_changes_the_grant_and_period(world: World) -> None:
    allocation = world.request_allocation()
    body = {"decision": "amend", "gpu_hours": 400, "end_at": "2026-02-15T00:00:00Z"}
    reviewed = world.post("council", f"{URL}/{allocation['id']}/review", body).json()
    assert reviewed["state"] == "approved"
    assert reviewed["gpu_hours_requested"] == 1000 and reviewed["gpu_hours_granted"] == 400
    assert reviewed["start_at"] == "2026-01-01T00:00:00Z" and reviewed["end_at"] == "2026-02-15T00:00:00Z"


def test_reject(world: World) -> None:
    allocation = world.request_allocation()
    reviewed = world.post("council", f"{URL}/{allocation['id']}/review", {"decision": "reject", "note": "no"})
    assert reviewed.json()["state"] == "rejected" and reviewed.json()["gpu_hours_granted"] is None
    again = world.post("council", f"{URL}/{allocation['id']}/review", {"decision": "approve"})
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "maybe"}, "decision"),
        ({}, "decision"),
        ({"decision": "approve", "gpu_hours": 5}, "gpu_hours"),
        ({"decision": "reject", "end_at": "2026-05-01T00:00:00Z"}, "end_at"),
        ({"decision": "amend"}, "decision"),
        ({"decision": "amend", "gpu_hours": 0}, "gpu_hours"),
        ({"decision": "amend", "gpu_hours": "5"}, "gpu_hours"),
        ({"decision": True}, "decision"),
        ({"decision": "amend", "end_at": "2025-12-01T00:00:00Z"}, "end_at"),
        ({"decision": "amend", "start_at": "2026-06-01T00:00:00Z"}, "end_at"),
    ],
)
def test_review_validation(world: World, body: dict[str, Any], field: str) -> None:
    allocation = world.request_allocation()
    response = world.post("council", f"{URL}/{allocation['id']}/review", body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{field}: ")
    assert world.get("council", f"{URL}/{allocation['id']}").json()["state"] == "requested"


def test_review_missing_allocation(world: World) -> None:
    assert world.post("council", f"{URL}/424242/review", {"decision": "approve"}).status_code == 404
    assert world.post("council", f"{URL}/0/review", {"decision": "approve"}).status_code == 422
    assert world.get("council", f"{URL}/99999999999999").status_code == 422


def test_expiry(world: World) -> None:
    allocation = world.request_allocation(end_at="2026-01-10T00:00:00Z")
    world.post("council", f"{URL}/{allocation['id']}/review", {"decision": "approve"})
    assert world.get("member_a", f"{URL}/{allocation['id']}").json()["state"] == "approved"
    world.clock.advance(days=5)
    assert world.get("member_a", f"{URL}/{allocation['id']}").json()["state"] == "expired"
    assert [a["id"] for a in world.get("council", f"{URL}?state=expired").json()] == [allocation["id"]]


def test_list_filters_hide_other_projects(world: World) -> None:
    a = world.request_allocation("member_a")
    b = world.request_allocation("admin_b", project_id="pb")
    world.post("council", f"{URL}/{b['id']}/review", {"decision": "reject"})
    assert [x["id"] for x in world.get("council", URL).json()] == [a["id"], b["id"]]
    assert [x["id"] for x in world.get("council", f"{URL}?project=pb").json()] == [b["id"]]
    assert [x["id"] for x in world.get("council", f"{URL}?state=rejected").json()] == [b["id"]]
    assert [x["id"] for x in world.get("member_a", URL).json()] == [a["id"]]
    assert world.get("member_a", f"{URL}?project=pb").json() == []
    assert world.get("member_a", f"{URL}/{b['id']}").status_code == 404
    bad = world.get("council", f"{URL}?state=pending")
    assert bad.status_code == 422 and bad.json()["detail"].startswith("state: ")
