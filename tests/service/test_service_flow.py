"""The issue's whole flow, on SQLite and PostgreSQL, through the real HTTP API and the CLI client: the
operator sets up a programme, a project and its tokens; the project admin asks for an allocation with
``aifactory alloc request``; the council approves it with ``aifactory alloc review``; a member submits
jobs with ``aifactory jobs submit``; the worker runs them with the local executor; the member reads their
logs with ``aifactory jobs logs``; usage records and the allocation's burn-down match the runs. The member
also books factory capacity with ``aifactory market book`` and runs a job inside that booking: it is paid
by the booking, not by the allocation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import live_server
from sqlalchemy import Engine, select

from aifactory.service.app import create_app
from aifactory.service.client import ApiClient
from aifactory.service.db import Job, UsageRecord, make_sessionmaker
from aifactory.service.executors import LocalExecutor
from aifactory.service.settings import Settings
from aifactory.service.worker import FactoryConfig, Worker
from cli_invoke import invoke
from conftest import Clock, World

RUN_S = 600  # what the worker's (settable) clock advances while the jobs run


@pytest.fixture(scope="module")
def server_url(engine: Engine, clock: Clock, log_dir: Path, database_url: str) -> Iterator[str]:
    app = create_app(Settings(database_url=database_url, log_dir=log_dir), clock=clock, engine=engine)
    with live_server(app) as url:
        yield url


def job_program(out: Path) -> str:
    """A real command: writes a file, prints the GPUs it was given."""
    code = (
        "import os, pathlib; "
        f"pathlib.Path({str(out)!r}).write_text(os.environ['AIFACTORY_JOB_ID']); "
        "print('CUDA_VISIBLE_DEVICES=' + os.environ['CUDA_VISIBLE_DEVICES'])"
    )
    return f"{sys.executable} -c {json.dumps(code)}"


def test_full_flow(
    world: World,
    server_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("AIFACTORY_URL", server_url)

    def cli(secret: str, *args: str) -> str:
        monkeypatch.setenv("AIFACTORY_TOKEN", secret)
        code, out, err = invoke(capsys, *args)
        assert code == 0, err
        return out

    # the operator: a programme, a project in it, the project's admin; the admin adds a member
    with ApiClient(server_url, world.secrets["operator"]) as operator:
        operator.create_programme("national", "National science", 0.5)
        operator.create_project("climate", "national", "Climate AI", quota_gpus=8)
        alice = operator.create_token("alice", "project_admin", "climate")["secret"]
    with ApiClient(server_url, alice) as admin:
        bob = admin.create_token("bob", "project_member")["secret"]
        assert admin.whoami()["project_id"] == "climate"

    # the admin asks for GPU-hours; the council approves
    requested = json.loads(
        cli(alice, "alloc", "request", "--gpu-hours", "10", "--start", "2026-01-01", "--end", "2026-04-01",
            "--justification", "climate model fine-tuning", "--json")
    )  # fmt: skip
    assert (requested["project_id"], requested["state"]) == ("climate", "requested")
    approved = cli(
        world.secrets["council"], "alloc", "review", str(requested["id"]), "approve", "--note", "ok"
    )
    assert approved.startswith(f"Approved allocation {requested['id']} for climate: 10.00 of 10.00 GPU-hours")

    # the operator puts the factory's capacity on the market; the member books a slice of it for an hour
    with ApiClient(server_url, world.secrets["operator"]) as operator:
        operator.create_provider("factory", "The AI factory", "DE", "factory")
        offer = operator.publish_offer(
            "factory", shape="gpu.4xgb300", price_per_gpu_hour=3.0, kind="reserved", units=2,
            available_from="2026-01-01T00:00:00Z",
        )  # fmt: skip
    offers = cli(bob, "market", "offers", "--shape", "gpu.4xgb300", "--country", "DE")
    assert offers.strip().splitlines()[1].split()[:2] == [str(offer["id"]), "The"]
    booked = json.loads(
        cli(bob, "market", "book", str(offer["id"]), "--units", "1", "--start", "2026-01-05T09:00Z",
            "--end", "+1h", "--json")
    )  # fmt: skip
    assert (booked["project_id"], booked["gpus"], booked["cost"]) == ("climate", 4, 12.0)

    # the member submits jobs through the CLI: in-process, and as a real `aifactory` process
    first_out, second_out, booked_out = (
        tmp_path / "first.txt",
        tmp_path / "second.txt",
        tmp_path / "booked.txt",
    )
    first = cli(
        bob, "jobs", "submit", "--name", "first", "--gpus", "2", "--time", "5m", job_program(first_out)
    )
    first_id = first.strip().removeprefix("Submitted job ")
    env = {**os.environ, "AIFACTORY_URL": server_url, "AIFACTORY_TOKEN": bob}
    done = subprocess.run(
        [sys.executable, "-m", "aifactory", "jobs", "submit", "--name", "second", "--shape", "gpu.2xgb300",
         "--time", "00:05:00", "--json", job_program(second_out)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    second_id = json.loads(done.stdout)["id"]
    third = cli(bob, "jobs", "submit", "--name", "booked", "--gpus", "4", "--reservation", str(booked["id"]),
                "--time", "10m", job_program(booked_out))  # fmt: skip
    third_id = third.strip().removeprefix("Submitted job ")
    assert cli(bob, "jobs", "list").count("pending") == 3

    # another project's member sees none of it, and cannot cancel it
    monkeypatch.setenv("AIFACTORY_TOKEN", world.secrets["member_a"])
    code, _, err = invoke(capsys, "jobs", "cancel", first_id)
    assert code == 2 and err.strip() == f"error: job '{first_id}' not found"
    assert first_id not in cli(world.secrets["member_a"], "jobs", "list", "--all")

    # the worker starts both, the clock moves on while they run, the worker records their ends
    sessions = make_sessionmaker(world.engine)
    worker = Worker(
        sessions,
        FactoryConfig(racks=1, rack_gpus=72),  # one NVL72 rack
        {"local": LocalExecutor(tmp_path / "runs")},
        world.log_dir,
        clock=lambda: world.clock.now.timestamp(),  # noqa: PLW0108 (the clock's time changes)
    )
    assert worker.cycle().started == 3  # 2 + 2 GPUs on the allocation, 4 in the booking
    running = json.loads(cli(bob, "jobs", "list", "--json"))
    assert [(j["id"], j["state"]) for j in running] == [
        (i, "running") for i in (first_id, second_id, third_id)
    ]
    world.clock.advance(seconds=RUN_S)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        worker.cycle()
        jobs = json.loads(cli(bob, "jobs", "list", "--all", "--json"))
        if all(j["state"] not in ("pending", "running") for j in jobs):
            break
        time.sleep(0.1)
    jobs = {j["id"]: j for j in json.loads(cli(bob, "jobs", "list", "--all", "--json"))}
    assert {i: (j["state"], j["exit_code"]) for i, j in jobs.items()} == {
        first_id: ("succeeded", 0),
        second_id: ("succeeded", 0),
        third_id: ("succeeded", 0),
    }

    # what the jobs did: files written, their GPUs printed into logs the member reads through the CLI
    assert (first_out.read_text(), second_out.read_text(), booked_out.read_text()) == (
        first_id,
        second_id,
        third_id,
    )
    for job_id in (first_id, second_id, third_id):
        gpu_ids = jobs[job_id]["gpu_ids"]
        assert cli(bob, "jobs", "logs", job_id).strip().endswith(f"CUDA_VISIBLE_DEVICES={gpu_ids}")
        assert cli(bob, "jobs", "logs", job_id, "--tail", "1") == f"CUDA_VISIBLE_DEVICES={gpu_ids}\n"
    gpu_ids = [int(g) for j in jobs.values() for g in j["gpu_ids"].split(",")]
    assert len(set(gpu_ids)) == 8 and all(0 <= g < 72 for g in gpu_ids)

    # usage: one record per run, GPUs × the worker's clock between start and end; the allocation is burnt
    # by the jobs that ran on it, the booked job is paid by its booking at the booking's price
    with sessions() as session:
        usage = {
            u.job_id: u
            for u in session.scalars(select(UsageRecord).where(UsageRecord.project_id == "climate"))
        }
        rows: dict[str, Any] = {
            j.id: j for j in session.scalars(select(Job).where(Job.project_id == "climate"))
        }
    assert set(usage) == {first_id, second_id, third_id}
    for job_id, gpus in ((first_id, 2), (second_id, 2), (third_id, 4)):
        record, row = usage[job_id], rows[job_id]
        assert (record.gpus, record.attempt) == (gpus, 1)
        assert record.start_at == row.started_at and record.end_at == row.ended_at
        assert record.gpu_hours == pytest.approx(gpus * RUN_S / 3600, abs=1e-9)
    assert (usage[first_id].allocation_id, usage[second_id].allocation_id) == (
        requested["id"],
        requested["id"],
    )
    assert (usage[third_id].allocation_id, usage[third_id].reservation_id) == (None, booked["id"])
    assert usage[third_id].price_per_gpu_hour == pytest.approx(3.0)
    on_allocation = usage[first_id].gpu_hours + usage[second_id].gpu_hours
    assert on_allocation == pytest.approx(4 * RUN_S / 3600, abs=1e-9)
    allocation = json.loads(cli(bob, "alloc", "show", str(requested["id"]), "--json"))
    assert allocation["gpu_hours_used"] == pytest.approx(on_allocation, abs=1e-9)
    table = cli(alice, "alloc", "list").strip().splitlines()
    assert table[1].split()[:7] == [
        str(requested["id"]),
        "climate",
        "approved",
        "10.00",
        "10.00",
        "0.67",
        "9.33",
    ]
