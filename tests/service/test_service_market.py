"""The marketplace API on both databases: providers, offers (search, spot price now, availability),
reservations (booking, overbooking, concurrent bookings, cancel) — every endpoint × every role, 422s
naming the field — and jobs that run on a reservation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import update

from aifactory.service.db import Job, Reservation
from conftest import ROLES, World

API = "/api/v1"
DAY1 = {"start_at": "2026-01-06T00:00:00Z", "end_at": "2026-01-07T00:00:00Z"}
FROM = "2026-01-01T00:00:00Z"


def market(world: World) -> dict[str, int]:
    """The factory (TW, GB300) and a partner (US): a reserved tray offer, a spot GPU offer, the
    partner's H100 nodes. Returns the offers' ids by name."""
    for body in (
        {"id": "factory", "name": "The AI factory", "country": "TW", "kind": "factory"},
        {"id": "acme", "name": "ACME Cloud", "country": "us", "kind": "partner"},
    ):
        response = world.post("operator", f"{API}/providers", body)
        assert response.status_code == 201, response.text
    offers: dict[str, dict[str, Any]] = {
        "tray": {
            "provider_id": "factory",
            "shape": "gpu.4xgb300",
            "price_per_gpu_hour": 3.0,
            "kind": "reserved",
        },
        "spot": {"provider_id": "factory", "shape": "gpu.1xgb300", "price_per_gpu_hour": 2.0, "kind": "spot"},
        "h100": {
            "provider_id": "acme",
            "shape": "gpu.8xh100",
            "price_per_gpu_hour": 2.5,
            "kind": "on_demand",
        },
    }
    ids: dict[str, int] = {}
    for name, body in offers.items():
        response = world.post("operator", f"{API}/offers", body | {"units": 4, "available_from": FROM})
        assert response.status_code == 201, response.text
        ids[name] = int(response.json()["id"])
    return ids


def book(world: World, offer: int, role: str = "member_a", units: int = 1, **body: Any) -> Any:
    return world.post(role, f"{API}/reservations", {"offer_id": offer, "units": units, **DAY1, **body})


def booked(world: World, offer: int, role: str = "member_a", **body: Any) -> dict[str, Any]:
    response = book(world, offer, role, **body)
    assert response.status_code == 201, response.text
    return dict(response.json())


# ------------------------------------------------------------------------------------------- roles

ALL = dict.fromkeys(ROLES, 200)
OPERATOR_ONLY = {role: 201 if role == "operator" else 403 for role in ROLES}
PROJECT_A_BOOKS = {
    "operator": 201,
    "council": 403,
    "admin_a": 201,
    "member_a": 201,
    "admin_b": 403,
    "member_b": 403,
}
READ_A = {"operator": 200, "council": 200, "admin_a": 200, "member_a": 200, "admin_b": 404, "member_b": 404}
CANCEL_A = {"operator": 200, "council": 403, "admin_a": 200, "member_a": 200, "admin_b": 404, "member_b": 404}


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_for_every_role(world: World, role: str) -> None:
    ids = market(world)
    tray = ids["tray"]
    assert world.get(role, f"{API}/providers").status_code == ALL[role]
    provider = {"id": f"p-{role}", "name": "P", "country": "DE", "kind": "partner"}
    assert world.post(role, f"{API}/providers", provider).status_code == OPERATOR_ONLY[role]
    offer = {"provider_id": "acme", "shape": "gpu.1xh100", "price_per_gpu_hour": 1.0, "kind": "on_demand"}
    assert (
        world.post(role, f"{API}/offers", offer | {"units": 1, "available_from": FROM}).status_code
        == (OPERATOR_ONLY[role])
    )
    assert world.get(role, f"{API}/offers").status_code == ALL[role]
    assert world.get(role, f"{API}/offers/{tray}").status_code == ALL[role]
    assert world.get(role, f"{API}/offers/{tray}/availability", params=DAY1).status_code == ALL[role]
    assert book(world, tray, role, project_id="pa").status_code == PROJECT_A_BOOKS[role]
    mine = booked(world, tray, "admin_a")["id"]
    assert world.get(role, f"{API}/reservations/{mine}").status_code == READ_A[role]
    listed = world.get(role, f"{API}/reservations")
    assert listed.status_code == 200
    assert (mine in [r["id"] for r in listed.json()]) == (READ_A[role] == 200)
    assert world.post(role, f"{API}/reservations/{mine}/cancel").status_code == CANCEL_A[role]


@pytest.mark.parametrize(
    "endpoint", ["/providers", "/offers", "/offers/1", "/reservations", "/reservations/1"]
)
def test_no_or_bad_token_is_401(world: World, endpoint: str) -> None:
    for who in ("anon", "bad"):
        assert world.get(who, f"{API}{endpoint}").status_code == 401
    assert world.post("anon", f"{API}/reservations", {}).status_code == 401


def test_project_roles_see_only_their_reservations(world: World) -> None:
    ids = market(world)
    a = booked(world, ids["tray"], "member_a")
    b = booked(world, ids["tray"], "member_b")
    assert [r["id"] for r in world.get("admin_a", f"{API}/reservations").json()] == [a["id"]]
    assert [r["id"] for r in world.get("member_b", f"{API}/reservations?project_id=pa").json()] == []
    assert [r["id"] for r in world.get("council", f"{API}/reservations?project_id=pb").json()] == [b["id"]]
    assert world.post("member_b", f"{API}/reservations/{a['id']}/cancel").status_code == 404
    assert world.get("member_a", f"{API}/reservations/{a['id']}").json()["state"] == "booked"


def test_a_project_token_books_only_for_its_project(world: World) -> None:
    ids = market(world)
    response = book(world, ids["tray"], "member_a", project_id="pb")
    assert response.status_code == 403 and response.json()["detail"].startswith("project_id:")
    response = book(world, ids["tray"], "operator")
    assert response.status_code == 422 and response.json()["detail"].startswith("project_id:")


# ------------------------------------------------------------------------------------- validation


def detail(response: Any, status: int = 422) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["detail"])


def test_providers_validate_their_fields(world: World) -> None:
    market(world)

    def post(body: dict[str, Any]) -> Any:
        return world.post("operator", f"{API}/providers", body)

    good = {"id": "nova", "name": "Nova", "country": "FR", "kind": "partner"}
    assert detail(post(good | {"country": "1X"})).startswith("country:")
    assert detail(post(good | {"country": "FRA"})).startswith("country:")
    assert detail(post(good | {"kind": "cloud"})).startswith("kind:")
    assert detail(post(good | {"id": "Not A Slug"})).startswith("id:")
    assert detail(post(good | {"id": "acme"}), 409).startswith("id:")
    created = post(good | {"country": "fr"})
    assert created.status_code == 201 and created.json()["country"] == "FR"


def test_offers_validate_their_fields(world: World) -> None:
    market(world)
    good = {
        "provider_id": "factory",
        "shape": "gpu.4xgb300",
        "price_per_gpu_hour": 3.0,
        "kind": "reserved",
        "units": 2,
        "available_from": FROM,
    }

    def post(**change: Any) -> Any:
        return world.post("operator", f"{API}/offers", good | change)

    assert detail(post(shape="gpu.3xgb300")).startswith("shape:")
    assert detail(post(shape="tray")).startswith("shape:")
    assert "gb300" in detail(post(shape="gpu.8xh100"))  # the factory sells its own GB300 racks only
    assert detail(post(provider_id="nobody")).startswith("provider_id:")
    assert detail(post(price_per_gpu_hour=-1)).startswith("price_per_gpu_hour:")
    assert detail(post(units=0)).startswith("units:")
    assert detail(post(kind="cheap")).startswith("kind:")
    assert detail(post(country="Taiwan")).startswith("country:")
    assert detail(post(available_from="2026-01-01T00:00:00")).startswith("available_from:")  # no timezone
    assert detail(post(available_until="2025-12-31T00:00:00Z")).startswith("available_until:")
    made = post(shape=" GPU.72xGB300 ", country="jp")
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["shape"], body["gpus_per_unit"], body["country"]) == ("gpu.72xgb300", 72, "JP")
    assert post(provider_id="acme").json()["country"] == "US"  # the provider's country by default


def test_a_job_can_ask_for_every_shape_the_market_sells_of_the_factory(world: World) -> None:
    """Jobs and offers share one catalogue: each GB300 slice (part of a tray up to a whole rack) is a
    job shape with its GPU count; a shape of GPUs the factory does not have is refused, naming it."""
    market(world)
    expected = {"gpu.1xgb300": 1, "gpu.2xgb300": 2, "gpu.4xgb300": 4, "gpu.8xgb300": 8,
                "gpu.18xgb300": 18, "gpu.36xgb300": 36, "gpu.72xgb300": 72}  # fmt: skip
    for shape, gpus in expected.items():
        made = world.post("member_a", f"{API}/jobs", {"command": "true", "shape": shape, "time_limit_s": 60})
        assert made.status_code == 201 and made.json()["gpus"] == gpus, made.text
        sold = world.post(
            "operator", f"{API}/offers",
            {"provider_id": "factory", "shape": shape, "price_per_gpu_hour": 3.0, "kind": "on_demand",
             "units": 1, "available_from": FROM},
        )  # fmt: skip
        assert sold.status_code == 201 and sold.json()["gpus_per_unit"] == gpus, sold.text
    other = world.post(
        "member_a", f"{API}/jobs", {"command": "true", "shape": "gpu.8xb200", "time_limit_s": 60}
    )
    assert other.status_code == 422
    assert other.json()["detail"].startswith("shape: gpu.8xb200: this factory's GPUs are gb300")


def test_search_filters_and_sorts_cheapest_first(world: World) -> None:
    ids = market(world)
    everything = world.get("member_b", f"{API}/offers").json()
    prices = [o["price_per_gpu_hour"] for o in everything]
    assert prices == sorted(prices) and len(everything) == 3
    spot = next(o for o in everything if o["id"] == ids["spot"])
    assert spot["base_price_per_gpu_hour"] == 2.0
    assert spot["price_per_gpu_hour"] == pytest.approx(0.6)  # all idle: 30 % of the base
    assert spot["provider_name"] == "The AI factory"

    def found(**params: Any) -> list[int]:
        response = world.get("member_a", f"{API}/offers", params=params)
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()]

    assert found(shape="gpu.4xgb300") == [ids["tray"]]
    past = {"provider_id": "factory", "shape": "gpu.4xgb300", "price_per_gpu_hour": 0.1, "kind": "reserved"}
    past |= {"units": 1, "available_from": FROM, "available_until": "2026-01-02T00:00:00Z"}
    assert world.post("operator", f"{API}/offers", past).status_code == 201
    assert found(shape="gpu.4xgb300") == [ids["tray"]]  # an offer past its availability is not listed
    assert found(country="us") == [ids["h100"]]
    assert found(kind="spot") == [ids["spot"]]
    assert found(provider_id="factory") == [ids["spot"], ids["tray"]]
    assert found(max_price=2.5) == [ids["spot"], ids["h100"]]
    assert found(max_price=2.5, country="TW") == [ids["spot"]]
    assert detail(world.get("member_a", f"{API}/offers", params={"shape": "gpu.5xgb300"})).startswith(
        "shape:"
    )
    assert detail(world.get("member_a", f"{API}/offers", params={"country": "1A"})).startswith("country:")
    assert detail(world.get("member_a", f"{API}/offers", params={"max_price": -1})).startswith("max_price:")
    for bad in ("nan", "inf", "-inf"):
        refused = world.get("member_a", f"{API}/offers", params={"max_price": bad})
        assert detail(refused) == "max_price: Input should be a finite number"
    assert detail(world.get("member_a", f"{API}/offers", params={"kind": "x"})).startswith("kind:")
    assert detail(world.get("member_a", f"{API}/offers/999999"), 404).startswith("offer 999999")


def test_the_factory_spot_price_follows_idle_capacity(world: World) -> None:
    ids = market(world)
    job = world.submit("member_a", gpus=72)  # the factory of the tests: 2 racks × 72 GPUs
    with world.session() as session:
        session.execute(update(Job).where(Job.id == job["id"]).values(state="running"))
        session.commit()
    spot = world.get("member_a", f"{API}/offers/{ids['spot']}").json()
    assert spot["price_per_gpu_hour"] == pytest.approx(2.0 * (1 - 0.7 * 0.5))  # half idle: 0.65 × base
    assert world.get("member_a", f"{API}/offers", params={"max_price": 1.0}).json() == []
    reservation = booked(world, ids["spot"])  # a spot booking locks the price of the moment
    assert reservation["price_per_gpu_hour"] == pytest.approx(1.3)
    tray = world.get("member_a", f"{API}/offers/{ids['tray']}").json()
    assert tray["price_per_gpu_hour"] == tray["base_price_per_gpu_hour"] == 3.0  # not spot: as listed


# ----------------------------------------------------------------------------------- reservations


def test_a_booking_has_its_gpus_price_and_cost(world: World) -> None:
    ids = market(world)
    r = booked(world, ids["tray"], "admin_a", units=2)
    assert (r["project_id"], r["units"], r["gpus"], r["state"]) == ("pa", 2, 8, "booked")
    assert r["price_per_gpu_hour"] == 3.0 and r["cost"] == pytest.approx(8 * 24 * 3.0)
    assert r["created_by"] == "admin_a"
    cancelled = world.post("member_a", f"{API}/reservations/{r['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert detail(world.post("member_a", f"{API}/reservations/{r['id']}/cancel"), 409).startswith("state:")
    states = {
        x["state"] for x in world.get("member_a", f"{API}/reservations", params={"state": "booked"}).json()
    }
    assert states <= {"booked"}


def test_reservations_validate_their_fields(world: World) -> None:
    ids = market(world)
    assert detail(book(world, ids["tray"], end_at=DAY1["start_at"])).startswith("end_at:")
    assert detail(book(world, 999999)).startswith("offer_id:")
    assert detail(book(world, ids["tray"], units=0)).startswith("units:")
    assert detail(book(world, ids["tray"], units=5)).startswith("units:")  # more than the offer has at all
    assert detail(book(world, ids["tray"], start_at="2026-01-06T00:00:00")).startswith("start_at:")
    early: dict[str, Any] = {"start_at": "2025-12-30T00:00:00Z", "end_at": "2025-12-31T00:00:00Z"}
    assert detail(book(world, ids["tray"], **early)).startswith("end_at:")  # over before now
    before: dict[str, Any] = {"start_at": "2025-12-31T00:00:00Z", "end_at": "2026-01-08T00:00:00Z"}
    assert detail(book(world, ids["tray"], **before)).startswith("start_at:")  # before the offer starts
    short = {"provider_id": "factory", "shape": "gpu.4xgb300", "price_per_gpu_hour": 3.0, "kind": "reserved"}
    short |= {"units": 4, "available_from": FROM, "available_until": "2026-01-06T12:00:00Z"}
    offer = world.post("operator", f"{API}/offers", short).json()["id"]
    assert detail(book(world, offer)) == (  # past the end of the offer's capacity window
        f"end_at: 2026-01-07T00:00:00+00:00 is after offer {offer} stops being available "
        "(2026-01-06T12:00:00+00:00)"
    )
    assert book(world, offer, end_at="2026-01-06T12:00:00Z").status_code == 201
    assert detail(book(world, ids["tray"], project_id="nope", role="operator")).startswith("project_id:")
    assert detail(book(world, ids["tray"], colour="red")).startswith("colour:")
    avail = world.get("member_a", f"{API}/offers/{ids['tray']}/availability", params={**DAY1, "end_at": FROM})
    assert detail(avail).startswith("end_at:")


def test_overbooking_is_409_and_availability_is_the_peak(world: World) -> None:
    ids = market(world)
    tray = ids["tray"]
    booked(world, tray, "member_a", units=3)
    refused = book(world, tray, "member_b", units=2)
    assert detail(refused, 409).startswith(f"units: only 1 of offer {tray} free in that window, 2 asked (")
    later = {"start_at": "2026-01-07T00:00:00Z", "end_at": "2026-01-08T00:00:00Z"}  # touches, no overlap
    booked(world, tray, "member_b", units=4, **later)
    span = {"start_at": "2026-01-06T12:00:00Z", "end_at": "2026-01-07T12:00:00Z"}
    free = world.get("member_b", f"{API}/offers/{tray}/availability", params=span).json()
    assert (free["units"], free["units_free"]) == (4, 0)
    assert world.get("member_b", f"{API}/offers/{tray}/availability", params=DAY1).json()["units_free"] == 1
    mine = world.get("member_a", f"{API}/reservations").json()[0]
    world.post("member_a", f"{API}/reservations/{mine['id']}/cancel")
    assert world.get("member_b", f"{API}/offers/{tray}/availability", params=DAY1).json()["units_free"] == 4
    booked(world, tray, "member_b", units=2)  # the cancelled units are free again


def test_the_factory_offers_together_never_reserve_more_than_the_factory(world: World) -> None:
    ids = market(world)
    racks = {"provider_id": "factory", "shape": "gpu.72xgb300", "price_per_gpu_hour": 2.8, "kind": "reserved"}
    whole = world.post("operator", f"{API}/offers", racks | {"units": 3, "available_from": FROM}).json()["id"]
    booked(world, ids["tray"], "member_b")  # 4 of the factory's 2 × 72 GPUs
    refused = book(world, whole, "member_a", units=2)  # 144 more: one offer has them, the factory not
    assert (
        detail(refused, 409)
        == "units: the factory has 140 of its 144 GPUs left to reserve in that window, 144 asked"
    )
    booked(world, whole, "member_a", units=1)
    booked(world, ids["h100"], "member_a", units=4)  # a partner's capacity is its own
    later = {"start_at": "2026-01-07T00:00:00Z", "end_at": "2026-01-08T00:00:00Z"}
    booked(world, whole, "member_a", units=2, **later)  # another window: the whole factory


def test_concurrent_bookings_never_oversell(world: World) -> None:
    ids = market(world)
    roles = ["member_a", "admin_a", "member_b", "admin_b"] * 3

    def attempt(role: str) -> int:
        return int(book(world, ids["tray"], role).status_code)

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(attempt, roles))
    assert sorted(codes) == [201] * 4 + [409] * 8, codes
    with world.session() as session:
        units = session.query(Reservation).filter(Reservation.state == "booked").all()
        assert sum(r.units for r in units) == 4


# ---------------------------------------------------------------------------- jobs on reservations


def test_jobs_on_a_reservation_are_checked(world: World) -> None:
    ids = market(world)
    mine = booked(world, ids["tray"], "member_a")  # 4 GPUs of the factory
    theirs = booked(world, ids["tray"], "member_b")
    partner = booked(world, ids["h100"], "member_a")
    job: dict[str, Any] = {"project_id": "pa", "command": "python train.py", "time_limit_s": 60}

    def submit(role: str = "member_a", **change: Any) -> Any:
        return world.post(role, f"{API}/jobs", job | change)

    ok = submit(gpus=4, reservation_id=mine["id"])
    assert ok.status_code == 201 and ok.json()["reservation_id"] == mine["id"]
    assert detail(submit(gpus=8, reservation_id=mine["id"])).startswith("reservation_id:")
    assert detail(submit(gpus=1, reservation_id=theirs["id"])).startswith("reservation_id:")
    assert detail(submit(gpus=1, reservation_id=partner["id"])).startswith("reservation_id:")
    assert detail(submit(gpus=1, reservation_id=999999)).startswith("reservation_id:")
    world.post("member_a", f"{API}/reservations/{mine['id']}/cancel")
    assert "cancelled" in detail(submit(gpus=1, reservation_id=mine["id"]))
