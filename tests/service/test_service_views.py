"""The read-only views (/cluster, /queue, /usage) and the dashboard's page shells, on both databases:
what they count, and that project roles never learn another project's job ids or names."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from aifactory.service.app import create_app
from aifactory.service.db import Job, RackState, UsageRecord, make_sessionmaker
from aifactory.service.executors import SimulatedExecutor
from aifactory.service.settings import Settings
from aifactory.service.worker import FactoryConfig, Worker
from conftest import START, Clock, World

# 2 racks of 16 GPUs (4 trays of 4), 3 trays schedulable: one spare tray per rack.
FACTORY = {"racks": 2, "rack_gpus": 16, "schedulable_trays": 3}


@pytest.fixture(scope="module")
def client(engine: Engine, clock: Clock, log_dir: Path, database_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, log_dir=log_dir, **FACTORY)
    with TestClient(create_app(settings, clock=clock, engine=engine)) as test_client:
        yield test_client


def make_worker(world: World) -> Worker:
    return Worker(
        make_sessionmaker(world.engine),
        FactoryConfig(**FACTORY),
        {"simulated": SimulatedExecutor()},
        world.log_dir,
        clock=lambda: world.clock.now.timestamp(),  # noqa: PLW0108 (the clock's time changes)
    )


def approve(world: World, project: str, gpu_hours: float = 100.0) -> int:
    alloc = world.request_allocation(project_id=project, gpu_hours=gpu_hours)
    response = world.post("council", f"/api/v1/allocations/{alloc['id']}/review", {"decision": "approve"})
    assert response.status_code == 200, response.text
    return int(alloc["id"])


def simulated(world: World, role: str, **body: Any) -> dict[str, Any]:
    payload = {"executor": "simulated", "duration_s": 3600, "time_limit_s": 7200, "gpus": 4} | body
    project = {"member_a": "pa", "admin_a": "pa", "member_b": "pb", "admin_b": "pb"}.get(role, "pc")
    return world.submit(role, project_id=project, **payload)


def gpu_ids(world: World, job_id: str) -> list[int]:
    with world.session() as session:
        row = session.get(Job, job_id)
        assert row is not None and row.state == "running", row and row.state
        return [int(x) for x in (row.gpu_ids or "").split(",")]


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def trays_by_key(cluster: dict[str, Any]) -> dict[tuple[int, int], dict[str, Any]]:
    return {(r["rack"], t["tray"]): t for r in cluster["rack_list"] for t in r["trays"]}


@pytest.fixture
def running(world: World) -> dict[str, dict[str, Any]]:
    """pa runs a 4-GPU job and pb a 2-GPU job (placed by the worker); pc's job is held."""
    approve(world, "pa")
    approve(world, "pb")
    jobs = {
        "a": simulated(world, "member_a", name="alpha-train"),
        "b": simulated(world, "member_b", name="beta-secret", gpus=2),
        "c": simulated(world, "operator", name="gamma-held", gpus=1),
    }
    make_worker(world).cycle()
    return jobs


@pytest.mark.parametrize("path", ["/api/v1/cluster", "/api/v1/queue", "/api/v1/usage"])
def test_views_need_a_token(world: World, path: str) -> None:
    assert world.get("anon", path).status_code == 401
    assert world.get("bad", path).status_code == 401


def test_cluster_marks_the_gpus_of_running_jobs(world: World, running: dict[str, dict[str, Any]]) -> None:
    a, b = running["a"]["id"], running["b"]["id"]
    ids_a, ids_b = gpu_ids(world, a), gpu_ids(world, b)
    cluster = ok(world.get("operator", "/api/v1/cluster"))
    assert (cluster["racks"], cluster["rack_gpus"], cluster["trays_per_rack"]) == (2, 16, 4)
    assert cluster["schedulable_trays"] == 3
    assert cluster["gpus_total"] == 32
    assert cluster["gpus_busy"] == 6
    assert cluster["gpus_spare"] == 8  # tray 3 of each rack
    assert cluster["gpus_free"] == 24 - 6
    assert cluster["gpus_drained"] == 0
    gpus = {g["gpu"]: g for r in cluster["rack_list"] for t in r["trays"] for g in t["gpus"]}
    assert sorted(gpus) == list(range(32))
    for gid in ids_a:
        assert gpus[gid] == {"gpu": gid, "busy": True, "job_id": a, "project_id": "pa"}
    for gid in ids_b:
        assert gpus[gid]["job_id"] == b
    trays = trays_by_key(cluster)
    a_trays = {(gid // 16, gid % 16 // 4) for gid in ids_a}
    assert len(a_trays) == 1  # a 4-GPU job fills one whole tray
    assert trays[a_trays.pop()]["state"] == "busy"
    b_tray = {(gid // 16, gid % 16 // 4) for gid in ids_b}.pop()
    assert trays[b_tray]["state"] == "partial"
    assert [trays[(r, 3)]["state"] for r in (0, 1)] == ["spare", "spare"]
    states = [t["state"] for t in trays.values()]
    assert states.count("free") == 6 - 2


def test_cluster_shows_drained_racks_and_failed_trays(
    world: World, running: dict[str, dict[str, Any]]
) -> None:
    # the worker fills the lowest slots first: a holds rack 0's tray 0, b half of its tray 1
    assert (gpu_ids(world, running["a"]["id"]), gpu_ids(world, running["b"]["id"])) == ([0, 1, 2, 3], [4, 5])
    with world.session() as session:
        session.add(RackState(rack=0, drained=True, failed_trays=0))  # drained under its running jobs
        session.add(RackState(rack=1, drained=False, failed_trays=1))
        session.commit()
    cluster = ok(world.get("council", "/api/v1/cluster"))
    racks = {r["rack"]: r for r in cluster["rack_list"]}
    assert (racks[0]["drained"], racks[0]["failed_trays"]) == (True, 0)
    assert (racks[1]["drained"], racks[1]["failed_trays"]) == (False, 1)
    # rack 0: GPUs a job still holds stay busy (tray 0 whole, tray 1 half), the rest is drained; rack 1:
    # its last schedulable tray (2) failed, trays 0 and 1 free; tray 3 of each rack is the spare
    assert {key: t["state"] for key, t in trays_by_key(cluster).items()} == {
        (0, 0): "busy", (0, 1): "partial", (0, 2): "drained", (0, 3): "spare",
        (1, 0): "free", (1, 1): "free", (1, 2): "drained", (1, 3): "spare",
    }  # fmt: skip
    gpus = {g["gpu"]: g["busy"] for r in cluster["rack_list"] for t in r["trays"] for g in t["gpus"]}
    assert [gid for gid, busy in sorted(gpus.items()) if busy] == [0, 1, 2, 3, 4, 5]
    # by hand: busy 4 + 2 = 6; drained 2 (GPUs 6, 7 of rack 0's tray 1) + 4 (its tray 2) + 4 (rack 1's
    # tray 2) = 10; free 2 trays × 4 = 8 (rack 1's trays 0 and 1); spare 2 trays × 4 = 8; 6 + 10 + 8 + 8 = 32
    counts = tuple(cluster[k] for k in ("gpus_busy", "gpus_drained", "gpus_free", "gpus_spare"))
    assert counts == (6, 10, 8, 8)


def test_a_member_sees_other_projects_jobs_only_as_busy(
    world: World, running: dict[str, dict[str, Any]]
) -> None:
    a, b = running["a"], running["b"]
    response = world.get("member_a", "/api/v1/cluster")
    cluster = ok(response)
    for secret in (b["id"], b["name"], running["c"]["id"], "pb"):
        assert secret not in response.text
    gpus = {g["gpu"]: g for r in cluster["rack_list"] for t in r["trays"] for g in t["gpus"]}
    for gid in gpu_ids(world, b["id"]):
        assert gpus[gid] == {"gpu": gid, "busy": True, "job_id": None, "project_id": None}
    for gid in gpu_ids(world, a["id"]):
        assert gpus[gid]["job_id"] == a["id"]
    assert cluster["gpus_busy"] == 6  # counts include everyone's


def test_queue_lists_waiting_jobs_in_scheduler_order_with_reasons(
    world: World, running: dict[str, dict[str, Any]]
) -> None:
    low = simulated(world, "member_a", name="alpha-low", gpus=16, priority=-1)
    high = simulated(world, "member_b", name="beta-high", gpus=16, priority=5)
    same = simulated(world, "admin_a", name="alpha-same", gpus=16)
    make_worker_again = make_worker(world)
    make_worker_again.cycle()
    queue = ok(world.get("operator", "/api/v1/queue"))
    order = [j["id"] for j in queue["pending"]]
    held = running["c"]["id"]
    # priority first, then submission (all at the same instant here), then sequence
    assert order == [high["id"], held, same["id"], low["id"]]
    assert [j["position"] for j in queue["pending"]] == [0, 1, 2, 3]
    reasons = {j["id"]: j["reason"] for j in queue["pending"]}
    assert "no approved allocation" in reasons[held]
    assert all(reasons.values())
    assert {j["id"] for j in queue["running"]} == {running["a"]["id"], running["b"]["id"]}
    assert (queue["pending_total"], queue["running_total"]) == (4, 2)
    assert (queue["pending_others"], queue["running_others"]) == (0, 0)
    assert queue["gpus_waiting"] == 16 * 3 + 1
    running_a = next(j for j in queue["running"] if j["id"] == running["a"]["id"])
    assert running_a["gpu_ids"] == gpu_ids(world, running["a"]["id"])

    response = world.get("member_a", "/api/v1/queue")
    mine = ok(response)
    assert [j["id"] for j in mine["pending"]] == [same["id"], low["id"]]
    assert [j["position"] for j in mine["pending"]] == [2, 3]  # places in the whole queue
    assert [j["id"] for j in mine["running"]] == [running["a"]["id"]]
    assert (mine["pending_others"], mine["running_others"]) == (2, 1)
    for secret in (high["id"], high["name"], held, running["b"]["id"], running["b"]["name"], "pb", "pc"):
        assert secret not in response.text


def test_queue_limit_and_role_scoping_of_reasons(world: World) -> None:
    with world.session() as session:
        session.add(
            Job(
                id="j-00000000000b",
                seq=1,
                project_id="pb",
                submitted_by="x",
                name="beta-first",
                command="true",
                gpus=1,
                time_limit_s=60,
                priority=1,
                executor="simulated",
                duration_s=1,
                state="pending",
                reason="",
                submitted_at=START,
            )
        )
        session.add(
            Job(
                id="j-00000000000a",
                seq=2,
                project_id="pa",
                submitted_by="x",
                name="alpha-second",
                command="true",
                gpus=1,
                time_limit_s=60,
                executor="simulated",
                duration_s=1,
                state="pending",
                reason="j-00000000000a waits (order): 1 job ahead of it behind j-00000000000b (1 GPUs)",
                submitted_at=START,
            )
        )
        session.commit()
    mine = ok(world.get("member_a", "/api/v1/queue"))
    assert mine["pending"][0]["reason"] == (
        "j-00000000000a waits (order): 1 job ahead of it behind another project's job (1 GPUs)"
    )
    everything = ok(world.get("council", "/api/v1/queue", params={"limit": 1}))
    assert [j["id"] for j in everything["pending"]] == ["j-00000000000b"]
    assert everything["pending_total"] == 2
    assert world.get("council", "/api/v1/queue", params={"limit": 0}).status_code == 422


def test_usage_counts_closed_and_open_segments_against_shares(
    world: World, running: dict[str, dict[str, Any]]
) -> None:
    a, b = running["a"]["id"], running["b"]["id"]
    worker = make_worker(world)
    worker.recover()
    world.clock.advance(minutes=30)  # both still running: open segments count up to now
    usage = ok(world.get("council", "/api/v1/usage"))
    projects = {p["id"]: p for p in usage["projects"]}
    assert projects["pa"]["gpu_hours"] == pytest.approx(4 * 0.5)
    assert projects["pb"]["gpu_hours"] == pytest.approx(2 * 0.5)
    assert projects["pc"]["gpu_hours"] == 0
    assert usage["gpu_hours_total"] == pytest.approx(3.0)
    programmes = {p["id"]: p for p in usage["programmes"]}
    assert programmes["sci"]["share"] == pytest.approx(0.6)
    assert programmes["ind"]["share"] == pytest.approx(0.4)
    assert programmes["sci"]["gpu_hours"] == pytest.approx(3.0)
    assert programmes["sci"]["fraction_of_total"] == pytest.approx(1.0)
    assert programmes["ind"]["fraction_of_total"] == 0

    world.clock.advance(minutes=30)
    worker.cycle()  # both end after 3600 s: closed segments, allocations burnt
    with world.session() as session:
        record = session.scalars(select(UsageRecord).where(UsageRecord.job_id == b)).one()
        assert record.end_at is not None
        record.price_per_gpu_hour = 2.5  # as if b had run on a reservation at $2.50/GPU-h
        session.commit()
    world.clock.advance(hours=5)  # nothing runs now: totals stay
    usage = ok(world.get("operator", "/api/v1/usage"))
    projects = {p["id"]: p for p in usage["projects"]}
    assert projects["pa"]["gpu_hours"] == pytest.approx(4.0)
    assert projects["pb"]["gpu_hours"] == pytest.approx(2.0)
    assert projects["pb"]["cost"] == pytest.approx(5.0)
    assert projects["pa"]["cost"] == 0
    assert projects["pa"]["gpu_hours_granted"] == pytest.approx(100.0)
    assert projects["pa"]["gpu_hours_used"] == pytest.approx(4.0)
    assert projects["pa"]["gpu_hours_remaining"] == pytest.approx(96.0)
    assert projects["pa"]["allocations"][0]["active"] is True
    assert projects["pc"]["gpu_hours_granted"] == 0

    # a window clips the segments: the first quarter hour only
    since, until = START.isoformat(), (START + timedelta(minutes=15)).isoformat()
    window = ok(world.get("council", "/api/v1/usage", params={"since": since, "until": until}))
    clipped = {p["id"]: p["gpu_hours"] for p in window["projects"]}
    assert clipped["pa"] == pytest.approx(1.0) and clipped["pb"] == pytest.approx(0.5)
    assert window["since"].startswith("2026-01-05T09:00") and window["until"].startswith("2026-01-05T09:15")

    response = world.get("member_b", "/api/v1/usage")
    theirs = ok(response)
    assert [p["id"] for p in theirs["projects"]] == ["pb"]
    # their programme's figures only: sci (pa and pb) used 4 + 2 GPU-hours; nothing of ind
    assert {p["id"]: p["gpu_hours"] for p in theirs["programmes"]} == {"sci": pytest.approx(6.0)}
    # no total, no fraction of it: with it, total − sci would be every other programme's hours
    assert theirs["gpu_hours_total"] is None
    assert [p["fraction_of_total"] for p in theirs["programmes"]] == [None]
    for secret in (a, running["a"]["name"], '"pa"', '"pc"', '"ind"'):
        assert secret not in response.text


def test_usage_shows_reservations_with_their_cost(world: World) -> None:
    from aifactory.service.db import Offer, Provider, Reservation

    with world.session() as session:
        session.add(Provider(id="factory", name="Factory", country="DE", kind="factory"))
        session.flush()
        offer = Offer(
            provider_id="factory",
            shape="gpu.4xgb300",
            gpus_per_unit=4,
            country="DE",
            price_per_gpu_hour=3.0,
            kind="reserved",
            units=4,
            available_from=START,
            available_until=None,
            active=True,
            created_at=START,
        )
        session.add(offer)
        session.flush()
        session.add(
            Reservation(
                offer_id=offer.id,
                project_id="pa",
                units=2,
                gpus=8,
                start_at=START,
                end_at=START + timedelta(hours=10),
                price_per_gpu_hour=3.0,
                state="booked",
                created_by="admin_a",
                created_at=START,
            )
        )
        session.commit()
    usage = ok(world.get("admin_a", "/api/v1/usage"))
    (reservation,) = usage["projects"][0]["reservations"]
    assert (reservation["gpus"], reservation["state"]) == (8, "booked")
    assert reservation["cost"] == pytest.approx(8 * 10 * 3.0)
    other = ok(world.get("admin_b", "/api/v1/usage"))
    assert other["projects"][0]["reservations"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-01-05T10:00:00Z", "until": "2026-01-05T09:00:00Z"}, "since"),
        ({"since": "2026-01-05T10:00:00"}, "since"),
        ({"until": "not a time"}, "until"),
        ({"since": "0001-01-01T00:00:00+05:00"}, "since"),
        ({"until": "9999-12-31T23:59:59-05:00"}, "until"),
    ],
)
def test_usage_rejects_a_bad_window_naming_the_field(
    world: World, params: dict[str, str], field: str
) -> None:
    response = world.get("operator", "/api/v1/usage", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{field}:")


def test_dashboard_shells_and_assets_are_served(world: World) -> None:
    page = world.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'for="token"' in page.text and "/dashboard/static/dashboard.js" in page.text
    for heading in ("Rack map", "Queue", "Usage against council shares", "Budgets", "Marketplace"):
        assert heading in page.text
    job_page = world.client.get("/jobs/j-0123456789ab")
    assert job_page.status_code == 200 and 'data-job-id="j-0123456789ab"' in job_page.text
    assert world.client.get("/jobs/nope").status_code == 404
    script = world.client.get("/dashboard/static/dashboard.js")
    assert script.status_code == 200 and "sessionStorage" in script.text
    assert world.client.get("/dashboard/static/dashboard.css").status_code == 200
    assert "/" not in world.client.get("/openapi.json").json()["paths"]
