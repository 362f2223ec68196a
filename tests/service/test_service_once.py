"""A state change happens once: of 20 concurrent requests to decide one allocation (some approving,
some rejecting), to cancel one reservation or one job, to revoke one token or to drain one rack, exactly
one succeeds and the others get 409 — on SQLite and PostgreSQL alike — and the stored object shows the
winner's change. Nobody locks everyone out: the last operator token and a project's last admin token
cannot be revoked, even by concurrent revocations of different tokens."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select

from aifactory.service.db.models import Token
from conftest import World

N = 20


def _race(
    world: World, calls: list[tuple[str, str, dict[str, Any] | None]], method: str = "POST"
) -> list[Any]:
    with ThreadPoolExecutor(max_workers=N) as pool:
        return list(pool.map(lambda call: world.call(call[0], method, call[1], call[2]), calls))


def _once(answers: list[Any], field: str) -> None:
    assert Counter(a.status_code for a in answers) == {200: 1, 409: N - 1}, [a.text for a in answers]
    assert all(a.json()["detail"].startswith(f"{field}: ") for a in answers if a.status_code == 409)


def test_concurrent_reviews_decide_an_allocation_once(world: World) -> None:
    asked = world.request_allocation()
    url = f"/api/v1/allocations/{asked['id']}/review"
    decisions = [{"decision": "approve" if i % 2 else "reject", "note": str(i)} for i in range(N)]
    answers = _race(world, [("council", url, body) for body in decisions])
    assert Counter(a.status_code for a in answers) == {200: 1, 409: N - 1}, [a.text for a in answers]
    (won,) = [a.json() for a in answers if a.status_code == 200]
    stored = world.get("council", f"/api/v1/allocations/{asked['id']}").json()
    assert stored["state"] == won["state"] and stored["review_note"] == won["review_note"]
    assert all(a.json()["detail"].startswith("state: ") for a in answers if a.status_code == 409)


def test_concurrent_cancels_cancel_a_reservation_once(world: World) -> None:
    provider = {"id": "factory", "name": "The factory", "country": "GB", "kind": "factory"}
    assert world.post("operator", "/api/v1/providers", provider).status_code == 201
    offer = {"provider_id": "factory", "shape": "gpu.4xgb300", "price_per_gpu_hour": 2.5, "kind": "reserved"}
    offer |= {"units": 4, "available_from": "2026-01-01T00:00:00Z"}
    offer_id = world.post("operator", "/api/v1/offers", offer).json()["id"]
    window = {"start_at": "2026-02-01T00:00:00Z", "end_at": "2026-02-02T00:00:00Z"}
    booked = world.post("member_a", "/api/v1/reservations", {"offer_id": offer_id, "units": 1} | window)
    assert booked.status_code == 201, booked.text
    url = f"/api/v1/reservations/{booked.json()['id']}/cancel"
    answers = _race(world, [("member_a", url, None)] * N)
    assert Counter(a.status_code for a in answers) == {200: 1, 409: N - 1}, [a.text for a in answers]
    assert world.get("member_a", f"/api/v1/reservations/{booked.json()['id']}").json()["state"] == "cancelled"


def test_concurrent_cancels_cancel_a_job_once(world: World) -> None:
    job = world.submit("member_a")
    answers = _race(world, [("member_a", f"/api/v1/jobs/{job['id']}/cancel", None)] * N)
    _once(answers, "state")
    assert world.get("member_a", f"/api/v1/jobs/{job['id']}").json()["state"] == "cancelled"


def test_concurrent_revocations_revoke_a_token_once(world: World) -> None:
    url = f"/api/v1/tokens/{world.token_ids['member_a']}"
    _once(_race(world, [("operator", url, None)] * N, "DELETE"), "revoked_at")
    assert world.get("member_a", "/api/v1/whoami").status_code == 401


def test_concurrent_drains_drain_a_rack_once(world: World) -> None:
    answers = _race(world, [("operator", "/api/v1/racks/1", {"drained": True, "failed_trays": 2})] * N, "PUT")
    _once(answers, "drained")
    assert world.get("operator", "/api/v1/racks").json()[1] == {"rack": 1, "drained": True, "failed_trays": 2}


def test_the_last_operator_token_cannot_be_revoked(world: World) -> None:
    own = world.call("operator", "DELETE", f"/api/v1/tokens/{world.token_ids['operator']}")
    assert own.status_code == 409 and own.json()["detail"].startswith("role: ")
    assert "last active operator token" in own.json()["detail"]
    assert world.get("operator", "/api/v1/whoami").status_code == 200


def test_concurrent_revocations_of_two_operator_tokens_leave_one(world: World) -> None:
    """Two operator tokens, each asked to be revoked ten times at once (by the first): each revocation
    alone would leave the other, so without locking both could succeed and nobody could make tokens."""
    world.add_token("second", "operator", None)
    first, second = world.token_ids["operator"], world.token_ids["second"]
    calls = [("operator", f"/api/v1/tokens/{first if i % 2 else second}", None) for i in range(N)]
    answers = _race(world, calls, "DELETE")
    assert Counter(a.status_code for a in answers)[200] == 1, [a.text for a in answers]
    assert all(a.status_code in (200, 401, 409) for a in answers)
    with world.session() as session:
        active = session.scalars(
            select(Token.id).where(Token.role == "operator", Token.revoked_at.is_(None))
        ).all()
    assert len(active) == 1


def test_a_projects_last_admin_token_cannot_be_revoked(world: World) -> None:
    url = f"/api/v1/tokens/{world.token_ids['admin_a']}"
    refused = world.call("operator", "DELETE", url)
    assert refused.status_code == 409 and "project pa's last active project_admin token" in refused.text
    world.add_token("admin_a2", "project_admin", "pa")
    assert world.call("operator", "DELETE", url).status_code == 200  # another admin remains
