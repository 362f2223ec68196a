"""Reservations and spot in the scheduler loop, on both databases: a reservation is a guaranteed slice
of the council during its window (its holder reclaims borrowed GPUs, needs no allocation, pays the
booking's price), its jobs wait outside the window with the reason; spot runs are priced from idle
capacity at their start. Plus the pure carving of the market programme out of the council."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from aifactory.market import MarketError
from aifactory.market.slices import MarketSlice, market_slice, reservation_of, reservation_tenant
from aifactory.scheduler.tenancy import Tenancy
from aifactory.service.db import Allocation, Job, UsageRecord, make_sessionmaker
from aifactory.service.executors import SimulatedExecutor
from aifactory.service.market_sync import council_of, spot_price_now
from aifactory.service.worker import FactoryConfig, Worker
from conftest import START, World

API = "/api/v1"
HOUR = timedelta(hours=1)


def make_worker(world: World, **config: Any) -> Worker:
    settings = {"racks": 1, "rack_gpus": 8} | config
    return Worker(
        make_sessionmaker(world.engine),
        FactoryConfig(**settings),
        {"simulated": SimulatedExecutor()},
        world.log_dir,
        clock=lambda: world.clock.now.timestamp(),  # noqa: PLW0108 (the clock's time changes)
    )


def iso(t: Any) -> str:
    return str(t.isoformat().replace("+00:00", "Z"))


def factory_market(world: World) -> tuple[int, int]:
    """The factory with a reserved tray offer (3.0/GPU-hour) and a spot GPU offer (2.0 base)."""
    world.post(
        "operator", f"{API}/providers", {"id": "factory", "name": "F", "country": "TW", "kind": "factory"}
    )
    ids = []
    for shape, price, kind in (("gpu.4xgb300", 3.0, "reserved"), ("gpu.1xgb300", 2.0, "spot")):
        body = {"provider_id": "factory", "shape": shape, "price_per_gpu_hour": price, "kind": kind}
        response = world.post("operator", f"{API}/offers", body | {"units": 2, "available_from": iso(START)})
        assert response.status_code == 201, response.text
        ids.append(int(response.json()["id"]))
    return ids[0], ids[1]


def reserve(world: World, offer: int, start: Any, end: Any, role: str = "member_a") -> int:
    body = {"offer_id": offer, "units": 1, "start_at": iso(start), "end_at": iso(end)}
    response = world.post(role, f"{API}/reservations", body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def approve(world: World, project: str) -> int:
    alloc = world.request_allocation(project_id=project, gpu_hours=100)
    response = world.post("council", f"{API}/allocations/{alloc['id']}/review", {"decision": "approve"})
    assert response.status_code == 200, response.text
    return int(alloc["id"])


def simulated(world: World, role: str = "member_a", **body: Any) -> str:
    payload = {"executor": "simulated", "duration_s": 1800, "time_limit_s": 7200, "gpus": 4} | body
    return str(world.submit(role, **payload)["id"])


def row(world: World, job_id: str) -> Job:
    with world.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def usage(world: World, job_id: str) -> list[UsageRecord]:
    with world.session() as session:
        return list(
            session.scalars(select(UsageRecord).where(UsageRecord.job_id == job_id).order_by(UsageRecord.id))
        )


def test_a_reservation_reclaims_its_slice_in_its_window_and_waits_outside(world: World) -> None:
    tray, _ = factory_market(world)
    approve(world, "pc")  # pa has no allocation at all: its reserved runs need none
    borrowers = [
        simulated(world, "operator", project_id="pc", preemptible=True, duration_s=20000) for _ in range(2)
    ]
    rid = reserve(world, tray, START + HOUR, START + 3 * HOUR)
    reserved = simulated(world, reservation_id=rid)
    worker = make_worker(world)
    worker.cycle()
    assert [row(world, j).state for j in borrowers] == ["running", "running"]  # the factory is full
    waiting = row(world, reserved)
    assert waiting.state == "pending"
    assert f"reservation {rid} starts at 2026-01-05 10:00:00 UTC" in waiting.reason

    world.clock.advance(hours=1)  # the window opens: the market programme takes its slice back
    stats = worker.cycle()
    assert stats.preempted == 1 and stats.started == 1
    assert row(world, reserved).state == "running"
    assert worker.scheduler.tenancy.entitled_gpus(reservation_tenant(rid)) == pytest.approx(4)
    victim = next(j for j in borrowers if row(world, j).state == "pending")
    assert "preempted" in row(world, victim).reason

    world.clock.advance(seconds=1800)
    worker.cycle()
    assert row(world, reserved).state == "succeeded"
    (paid,) = usage(world, reserved)
    assert (paid.reservation_id, paid.price_per_gpu_hour, paid.allocation_id) == (rid, 3.0, None)
    assert paid.gpu_hours == pytest.approx(4 * 0.5)
    with world.session() as session:  # pa's reserved run burned no allocation (pc's did, for its own)
        assert all(a.project_id == "pc" for a in session.scalars(select(Allocation)))

    late = simulated(world, reservation_id=rid)  # submitted in the window, not started before its end
    world.clock.advance(hours=2)  # after the window: it waits, with the reason
    worker.cycle()
    assert row(world, late).state == "pending"
    assert f"reservation {rid} ended at 2026-01-05 12:00:00 UTC" in row(world, late).reason


def test_only_spot_runs_are_taken_back_for_a_reservation(world: World) -> None:
    tray, _ = factory_market(world)
    approve(world, "pc")
    worker = make_worker(world)
    spot = simulated(world, "operator", project_id="pc", preemptible=True, duration_s=20000)
    worker.cycle()
    world.clock.advance(seconds=60)
    steady = simulated(world, "operator", project_id="pc", duration_s=20000)  # newer, not preemptible
    worker.cycle()
    rid = reserve(world, tray, START + HOUR, START + 2 * HOUR)
    reserved = simulated(world, reservation_id=rid)
    world.clock.advance(hours=1)
    worker.cycle()
    assert (row(world, spot).state, row(world, steady).state) == ("pending", "running")
    assert row(world, reserved).state == "running"
    assert usage(world, spot)[0].price_per_gpu_hour == pytest.approx(0.6)  # it started on an idle factory


def test_a_cancelled_reservation_holds_its_jobs_even_without_the_allocation_rule(world: World) -> None:
    tray, _ = factory_market(world)
    rid = reserve(world, tray, START, START + 2 * HOUR)
    job = simulated(world, reservation_id=rid)
    assert world.post("admin_a", f"{API}/reservations/{rid}/cancel").status_code == 200
    worker = make_worker(world, require_allocation=False)
    worker.cycle()
    assert row(world, job).state == "pending"
    assert f"reservation {rid} was cancelled" in row(world, job).reason
    free = simulated(world)  # an ordinary job of pa runs (no allocation rule on this worker)
    worker.cycle()
    assert row(world, free).state == "running"


def test_spot_runs_are_priced_from_idle_capacity_at_their_start(world: World) -> None:
    factory_market(world)
    approve(world, "pa")
    ordinary = simulated(world)  # 4 of 8 GPUs
    worker = make_worker(world)
    worker.cycle()
    world.clock.advance(seconds=60)
    cheap = simulated(world, preemptible=True, gpus=2)  # starts with 4 of 8 busy: half idle
    worker.cycle()
    world.clock.advance(seconds=60)
    dearer = simulated(world, preemptible=True, gpus=2)  # starts with 6 of 8 busy
    worker.cycle()
    assert {row(world, j).state for j in (ordinary, cheap, dearer)} == {"running"}
    assert usage(world, ordinary)[0].price_per_gpu_hour is None  # paid by the allocation, no market price
    assert usage(world, cheap)[0].price_per_gpu_hour == pytest.approx(2.0 * (1 - 0.7 * 0.5))
    assert usage(world, dearer)[0].price_per_gpu_hour == pytest.approx(2.0 * (1 - 0.7 * 0.25))
    assert usage(world, cheap)[0].reservation_id is None


def test_a_restarted_worker_keeps_a_reserved_run_in_the_market_programme(world: World) -> None:
    tray, _ = factory_market(world)
    rid = reserve(world, tray, START, START + 2 * HOUR)
    job = simulated(world, reservation_id=rid, duration_s=2.5 * 3600, time_limit_s=3 * 3600)
    make_worker(world).cycle()
    assert row(world, job).state == "running"
    world.clock.advance(hours=1)
    again = make_worker(world)  # the first one "crashed"; this one recovers from the database
    again.cycle()
    tenant = reservation_tenant(rid)
    assert again.scheduler.tenancy.programme_of(tenant) == "market"
    assert again.scheduler.programme_gpus["market"] == 4
    world.clock.advance(hours=2)  # the run (2.5 h) outlives the window: it stays where it started
    again.cycle()
    assert row(world, job).state == "succeeded"
    assert again.scheduler.programme_gpus["market"] == 0 and again.scheduler.running_gpus[tenant] == 0
    (paid,) = usage(world, job)
    assert paid.reservation_id == rid and paid.price_per_gpu_hour == 3.0


# --------------------------------------------------------------------------------------- pure parts


def test_the_market_slice_scales_the_other_programmes() -> None:
    cut = market_slice({"sci": 0.6, "ind": 0.4}, {7: 36}, 144, known=[3, 7])
    assert cut.reserved_gpus == 36
    assert cut.tenants == {"res-3": 0, "res-7": 36}
    assert cut.shares["market"] == pytest.approx(0.25)
    assert cut.shares["sci"] == pytest.approx(0.45) and cut.shares["ind"] == pytest.approx(0.3)
    assert market_slice({"sci": 1.0}, {}, 144) == MarketSlice({"sci": 1.0}, {}, 0)  # nothing reserved
    assert market_slice({"a": 0.0, "b": 0.0}, {}, 8).shares == {"a": 1.0, "b": 1.0}  # 0 shares: equal
    over = market_slice({"sci": 1.0}, {1: 100, 2: 100}, 144)
    assert over.shares["sci"] == 0.0 and over.shares["market"] == pytest.approx(1.0)
    assert reservation_of("res-12") == 12 and reservation_of("res-x") is None and reservation_of("pa") is None


def test_the_market_slice_refuses_names_it_cannot_tell_apart() -> None:
    with pytest.raises(MarketError, match=r"^shares:"):
        market_slice({"market": 1.0}, {1: 4}, 8)
    with pytest.raises(MarketError, match=r"^shares:"):
        market_slice({"res-1": 1.0}, {}, 8, known=[2])
    assert market_slice({"market": 1.0, "res-1": 1.0}, {}, 8).shares == {"market": 1.0, "res-1": 1.0}
    with pytest.raises(MarketError, match=r"^total_gpus:"):
        market_slice({"sci": 1.0}, {1: 4}, 0)
    with pytest.raises(MarketError, match=r"^active\[1\]:"):
        market_slice({"sci": 1.0}, {1: -4}, 8)


@pytest.mark.parametrize(
    ("total", "reserved"), [(144, [4]), (144, [72, 68]), (10368, [4, 36, 1000]), (8, [8])]
)
def test_each_reservation_is_entitled_to_exactly_what_it_booked(total: int, reserved: list[int]) -> None:
    active = dict(enumerate(reserved, start=1))
    cut = market_slice({"sci": 0.6, "ind": 0.4}, active, total, known=[99])
    council = council_of(
        [("sci", 0.6, None), ("ind", 0.4, None)],
        [("pa", "sci", 1.0, None, None), ("pc", "ind", 1.0, None, None)],
        cut,
    )
    tenancy = Tenancy.of(council, total)
    for rid, gpus in active.items():
        assert tenancy.entitled_gpus(reservation_tenant(rid)) >= gpus  # never a hair short (reclaim needs it)
        assert tenancy.entitled_gpus(reservation_tenant(rid)) == pytest.approx(gpus)
    assert tenancy.entitled_gpus("res-99") == 0.0
    assert tenancy.programme_of("res-99") == "market"
    rest = total - sum(reserved)
    assert tenancy.entitled_gpus("pa") + tenancy.entitled_gpus("pc") == pytest.approx(rest, rel=1e-6)
    assert council.lending_limits() == {"market": 0.0}


def test_spot_price_now_clamps_busy_to_the_factory() -> None:
    assert spot_price_now(2.0, 8, 0) == pytest.approx(0.6)
    assert spot_price_now(2.0, 8, 8) == pytest.approx(2.0)
    assert spot_price_now(2.0, 8, 12) == pytest.approx(2.0)
