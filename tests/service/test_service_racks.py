"""Racks in and out of service: the operator's API, the rack map, and the worker honouring both."""

from __future__ import annotations

from typing import Any

import pytest

from aifactory.service.db import Job, make_sessionmaker
from aifactory.service.executors import SimulatedExecutor
from aifactory.service.worker import FactoryConfig, Worker
from conftest import World

V1 = "/api/v1"


def put(world: World, role: str, rack: int, **body: Any) -> Any:
    return world.call(role, "PUT", f"{V1}/racks/{rack}", body)


def test_racks_are_listed_and_set_by_the_operator_only(world: World) -> None:
    assert world.get("member_a", f"{V1}/racks").json() == [
        {"rack": 0, "drained": False, "failed_trays": 0},
        {"rack": 1, "drained": False, "failed_trays": 0},
    ]
    for role in ("council", "admin_a", "member_a"):
        assert put(world, role, 0, drained=True).status_code == 403
    assert put(world, "anon", 0, drained=True).status_code == 401
    response = put(world, "operator", 1, drained=True, failed_trays=2)
    assert response.status_code == 200 and response.json() == {"rack": 1, "drained": True, "failed_trays": 2}
    assert world.get("council", f"{V1}/racks").json()[1] == {"rack": 1, "drained": True, "failed_trays": 2}
    cluster = world.get("member_a", f"{V1}/cluster").json()
    assert cluster["rack_list"][1]["drained"] and cluster["gpus_drained"] == 72
    assert put(world, "operator", 1).json() == {"rack": 1, "drained": False, "failed_trays": 0}  # restore


@pytest.mark.parametrize(
    ("rack", "body", "status", "detail"),
    [
        (2, {"drained": True}, 404, "rack 2 not found (racks 0–1)"),
        (0, {"failed_trays": 19}, 422, "failed_trays: a rack has 18 trays, 19 given"),
        (0, {"failed_trays": -1}, 422, "failed_trays: "),
        (0, {"drained": "maybe"}, 422, "drained: "),
        (0, {"colour": "red"}, 422, "colour: "),
    ],
)
def test_bad_rack_requests(world: World, rack: int, body: dict[str, Any], status: int, detail: str) -> None:
    response = put(world, "operator", rack, **body)
    assert response.status_code == status and response.json()["detail"].startswith(detail)


def worker(world: World) -> Worker:
    return Worker(
        make_sessionmaker(world.engine),
        FactoryConfig(racks=2, rack_gpus=8, require_allocation=False),
        {"simulated": SimulatedExecutor()},
        world.log_dir,
        clock=lambda: world.clock.now.timestamp(),  # noqa: PLW0108 (the clock's time changes)
    )


def submit(world: World, gpus: int) -> str:
    body = {"executor": "simulated", "duration_s": 600, "time_limit_s": 3600, "gpus": gpus}
    return str(world.submit("member_a", **body)["id"])


def row(world: World, job_id: str) -> Job:
    with world.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_the_worker_starts_nothing_on_a_drained_rack_and_skips_broken_trays(world: World) -> None:
    loop = worker(world)
    first = submit(world, 4)
    loop.cycle()
    assert row(world, first).gpu_ids == "0,1,2,3"  # rack 0, tray 0
    assert put(world, "operator", 0, drained=True).status_code == 200
    assert put(world, "operator", 1, failed_trays=1).status_code == 200  # no spares: rack 1 keeps 4 GPUs
    big, small = submit(world, 8), submit(world, 4)
    world.clock.advance(seconds=1)
    loop.cycle()
    assert row(world, first).state == "running"  # a drain lets running jobs finish
    assert row(world, big).state == "pending"  # nowhere: rack 0 drained, rack 1 down to one tray
    assert row(world, small).state == "running" and row(world, small).gpu_ids == "8,9,10,11"
    assert put(world, "operator", 1).status_code == 200  # rack 1 repaired
    world.clock.advance(seconds=700)  # the first and the small job end
    loop.cycle()
    assert row(world, big).state == "running" and row(world, big).gpu_ids == ",".join(map(str, range(8, 16)))
