"""A state change happens once: of 20 concurrent requests to decide one allocation (some approving,
some rejecting) or to cancel one reservation, exactly one succeeds and the others get 409 — on SQLite
and PostgreSQL alike — and the stored object shows the winner's decision."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from conftest import World

N = 20


def _race(world: World, calls: list[tuple[str, str, dict[str, Any] | None]]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=N) as pool:
        return list(pool.map(lambda call: world.post(*call), calls))


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
