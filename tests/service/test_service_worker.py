"""The scheduler loop against the database: starts, ends, usage and budgets, cancels, time limits,
preemption, and recovery after a crash — with the simulated and the local executors."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from aifactory.service.db import Allocation, Job, UsageRecord, make_sessionmaker
from aifactory.service.executors import LocalExecutor, SimulatedExecutor
from aifactory.service.worker import FactoryConfig, Worker
from cli_invoke import invoke
from conftest import World


def make_worker(world: World, tmp_path: Path, **config: Any) -> Worker:
    settings = {"racks": 1, "rack_gpus": 8} | config
    return Worker(
        make_sessionmaker(world.engine),
        FactoryConfig(**settings),
        {"simulated": SimulatedExecutor(), "local": LocalExecutor(tmp_path / "runs")},
        world.log_dir,
        clock=lambda: world.clock.now.timestamp(),  # noqa: PLW0108 (the clock's time changes)
    )


def approve(world: World, project: str = "pa", gpu_hours: float = 100.0) -> int:
    alloc = world.request_allocation(project_id=project, gpu_hours=gpu_hours)
    response = world.post("council", f"/api/v1/allocations/{alloc['id']}/review", {"decision": "approve"})
    assert response.status_code == 200, response.text
    return int(alloc["id"])


def job(world: World, job_id: str) -> Job:
    with world.session() as session:
        row = session.get(Job, job_id)
        assert row is not None
        return row


def simulated(world: World, role: str = "member_a", **body: Any) -> str:
    payload = {"executor": "simulated", "duration_s": 600, "time_limit_s": 3600, "gpus": 4} | body
    return str(world.submit(role, **payload)["id"])


def test_simulated_jobs_run_and_burn_the_allocation(world: World, tmp_path: Path) -> None:
    alloc = approve(world, gpu_hours=100)
    a = simulated(world)
    b = simulated(world, gpus=2, duration_s=1800)
    worker = make_worker(world, tmp_path)
    stats = worker.cycle()
    assert (stats.submitted, stats.started) == (2, 2)
    ja, jb = job(world, a), job(world, b)
    assert (ja.state, jb.state) == ("running", "running")
    assert ja.attempt == 1 and ja.executor_ref is not None and ja.executor_ref.startswith("sim:")
    ids = [int(x) for x in (ja.gpu_ids or "").split(",")] + [int(x) for x in (jb.gpu_ids or "").split(",")]
    assert sorted(ids) == list(range(6))  # six distinct GPUs of rack 0
    world.clock.advance(seconds=600)
    worker.cycle()
    assert job(world, a).state == "succeeded" and job(world, a).exit_code == 0
    assert job(world, b).state == "running"
    world.clock.advance(seconds=1200)
    worker.cycle()
    assert job(world, b).state == "succeeded"
    with world.session() as session:
        usage = {u.job_id: u for u in session.scalars(select(UsageRecord))}
        allocation = session.get(Allocation, alloc)
        assert allocation is not None
        assert usage[a].gpu_hours == pytest.approx(4 * 600 / 3600)
        assert usage[b].gpu_hours == pytest.approx(2 * 1800 / 3600)
        assert usage[a].allocation_id == alloc
        assert allocation.gpu_hours_used == pytest.approx(4 * 600 / 3600 + 2 * 1800 / 3600)
    assert "[simulated] attempt 1" in world.get("member_a", f"/api/v1/jobs/{a}/logs").text


def test_without_an_allocation_jobs_are_held(world: World, tmp_path: Path) -> None:
    a = simulated(world)
    worker = make_worker(world, tmp_path)
    worker.cycle()
    row = job(world, a)
    assert row.state == "pending"
    assert "no approved allocation" in row.reason
    approve(world)
    worker.cycle()
    assert job(world, a).state == "running"


def test_a_used_up_budget_holds_further_jobs(world: World, tmp_path: Path) -> None:
    approve(world, gpu_hours=1.0)  # 4 GPUs × 900 s = 1 GPU-hour
    a = simulated(world, duration_s=900)
    worker = make_worker(world, tmp_path)
    worker.cycle()
    world.clock.advance(seconds=900)
    worker.cycle()
    assert job(world, a).state == "succeeded"
    b = simulated(world)
    worker.cycle()
    assert job(world, b).state == "pending"
    assert "budget" in job(world, b).reason


def test_time_limit_and_cancel(world: World, tmp_path: Path) -> None:
    approve(world)
    slow = simulated(world, duration_s=5000, time_limit_s=100)
    running = simulated(world)
    waiting = simulated(world, gpus=8)
    worker = make_worker(world, tmp_path)
    worker.cycle()
    assert world.post("member_a", f"/api/v1/jobs/{running}/cancel").status_code == 200
    assert world.post("member_a", f"/api/v1/jobs/{waiting}/cancel").status_code == 200
    world.clock.advance(seconds=100)
    stats = worker.cycle()
    assert stats.dropped == 1
    assert waiting not in worker.scheduler.queue
    assert job(world, slow).state == "timed_out"
    assert job(world, running).state == "cancelled"
    assert job(world, waiting).state == "cancelled"
    assert worker.scheduler.state.free_gpus == 8  # nothing left allocated


def test_reclaim_preempts_and_requeues_a_borrower(world: World, tmp_path: Path) -> None:
    approve(world, "pa")
    approve(world, "pc")
    borrowers = [simulated(world, "operator", project_id="pc", preemptible=True) for _ in range(2)]
    worker = make_worker(world, tmp_path)
    worker.cycle()
    assert [job(world, j).state for j in borrowers] == ["running", "running"]
    mine = simulated(world, gpus=2)  # within pa's entitlement: 8 × 0.6 × ½ = 2.4 GPUs
    world.clock.advance(seconds=60)
    stats = worker.cycle()
    assert stats.preempted == 1
    states = sorted(job(world, j).state for j in borrowers)
    assert states == ["pending", "running"]
    victim = next(j for j in borrowers if job(world, j).state == "pending")
    assert "preempted" in job(world, victim).reason
    with world.session() as session:
        closed = session.scalars(select(UsageRecord).where(UsageRecord.job_id == victim)).one()
        assert closed.gpu_hours == pytest.approx(4 * 60 / 3600)
    worker.cycle()
    assert job(world, mine).state == "running"


# ---------------------------------------------------------------------------------- local executor


def wait_for(world: World, worker: Worker, job_id: str, states: set[str], timeout: float = 20) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.cycle()
        row = job(world, job_id)
        if row.state in states:
            return row
        time.sleep(0.1)
    raise AssertionError(f"{job_id} still {job(world, job_id).state}")


def local(world: World, command: str, **body: Any) -> str:
    payload = {"executor": "local", "command": command, "time_limit_s": 60, "gpus": 2} | body
    return str(world.submit("member_a", **payload)["id"])


def test_local_executor_runs_the_command_with_its_gpus(world: World, tmp_path: Path) -> None:
    approve(world)
    ok = local(world, 'echo "gpus=$CUDA_VISIBLE_DEVICES job=$AIFACTORY_JOB_ID"')
    bad = local(world, "echo failing >&2; exit 3")
    worker = make_worker(world, tmp_path)
    done = wait_for(world, worker, ok, {"succeeded", "failed"})
    assert done.state == "succeeded" and done.exit_code == 0
    log_text = world.get("member_a", f"/api/v1/jobs/{ok}/logs").text
    assert log_text == f"gpus={done.gpu_ids} job={ok}\n"  # the command's output only (no wrapper noise)
    failed = wait_for(world, worker, bad, {"succeeded", "failed"})
    assert (failed.state, failed.exit_code) == ("failed", 3)
    assert "failing" in world.get("member_a", f"/api/v1/jobs/{bad}/logs").text


def test_local_executor_enforces_the_time_limit_and_cancels(world: World, tmp_path: Path) -> None:
    approve(world)
    slow = local(world, "sleep 30", time_limit_s=1)
    victim = local(world, "sleep 30")
    worker = make_worker(world, tmp_path)
    worker.cycle()
    assert world.post("member_a", f"/api/v1/jobs/{victim}/cancel").status_code == 200
    assert wait_for(world, worker, slow, {"timed_out"}).state == "timed_out"
    assert wait_for(world, worker, victim, {"cancelled"}).state == "cancelled"


def test_recovery_adopts_running_jobs_and_requeues_unlaunched_ones(world: World, tmp_path: Path) -> None:
    approve(world)
    a = local(world, "sleep 1; echo finished")
    first = make_worker(world, tmp_path)
    first.cycle()
    assert job(world, a).state == "running"
    # the worker "dies": a new one takes over the same database and run folder
    second = make_worker(world, tmp_path)
    second.recover()
    assert a in second.scheduler.running
    assert second.slots.held[a] == [int(x) for x in (job(world, a).gpu_ids or "").split(",")]
    row = wait_for(world, second, a, {"succeeded", "failed"})
    assert (row.state, row.attempt) == ("succeeded", 1)  # ran once
    assert world.get("member_a", f"/api/v1/jobs/{a}/logs").text.count("finished") == 1
    # a start committed but never launched goes back to the queue
    b = local(world, "echo again")
    with world.session() as session:
        row_b = session.get(Job, b)
        assert row_b is not None
        row_b.state, row_b.attempt, row_b.gpu_ids = "running", 1, "0,1"
        session.add(UsageRecord(job_id=b, project_id="pa", attempt=1, start_at=world.clock.now, gpus=2))
        session.commit()
    fourth = make_worker(world, tmp_path)
    fourth.recover()
    requeued = job(world, b)
    assert (requeued.state, requeued.attempt) == ("pending", 0)
    assert wait_for(world, fourth, b, {"succeeded"}).attempt == 1


# ------------------------------------------------------------------------------------ the command


def test_worker_once_runs_a_cycle(
    capsys: pytest.CaptureFixture[str], world: World, tmp_path: Path, database_url: str
) -> None:
    a = simulated(world)
    args = ["worker", "--once", "--database-url", database_url, "--log-dir", str(tmp_path), "--racks", "1"]
    code, out, err = invoke(capsys, *args)  # the command runs on the wall clock: no allocation is active
    assert code == 0, err
    assert "1 submitted, 0 started" in out
    assert "no approved allocation" in job(world, a).reason
    args.append("--no-require-allocation")
    code, out, err = invoke(capsys, *args)
    assert code == 0, err
    assert "1 submitted, 1 started" in out
    assert job(world, a).state == "running"


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--policy", "nope"], "unknown policy 'nope'"), (["--rack-gpus", "10"], "multiple of 4")],
)
def test_worker_bad_options_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str], message: str
) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    code, _, err = invoke(capsys, "worker", "--once", "--database-url", url, *extra)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_run_is_billed_to_its_end_not_to_when_the_worker_noticed(world: World, tmp_path: Path) -> None:
    alloc = approve(world, gpu_hours=100)
    a = simulated(world, gpus=4, duration_s=600)
    worker = make_worker(world, tmp_path)
    worker.cycle()
    started = job(world, a).started_at
    world.clock.advance(hours=2)  # the worker was slow (or down) long after the run ended
    worker.cycle()
    row = job(world, a)
    assert row.state == "succeeded" and started is not None
    assert row.ended_at == started + timedelta(seconds=600)
    with world.session() as session:
        usage = session.scalars(select(UsageRecord).where(UsageRecord.job_id == a)).one()
        assert usage.gpu_hours == pytest.approx(4 * 600 / 3600)
        allocation = session.get(Allocation, alloc)
        assert allocation is not None and allocation.gpu_hours_used == pytest.approx(4 * 600 / 3600)


def test_a_start_on_gpus_a_preempted_run_still_holds_waits_for_it(world: World, tmp_path: Path) -> None:
    approve(world, "pa")
    approve(world, "pc")
    stubborn = "trap '' TERM; echo started; sleep 30"  # ignores SIGTERM: stopped after the wrapper's grace
    borrowers = [
        str(world.submit("operator", **body)["id"])
        for body in [
            {"project_id": "pc", "executor": "local", "command": stubborn, "gpus": 4, "preemptible": True}
        ]
        * 2
    ]
    worker = make_worker(world, tmp_path)
    for borrower in borrowers:
        wait_for(world, worker, borrower, {"running"})
    deadline = time.monotonic() + 20
    while not all("started" in (world.log_dir / f"{b}.log").read_text() for b in borrowers):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    mine = local(world, "echo mine")
    world.clock.advance(seconds=60)
    assert worker.cycle().preempted == 1
    victim = next(j for j in borrowers if job(world, j).state == "pending")
    assert job(world, mine).state == "running" and mine in worker.deferred  # its GPUs are the victim's
    assert job(world, mine).executor_ref is None
    assert wait_for(world, worker, mine, {"succeeded"}).state == "succeeded"
    runs = tmp_path / "runs"
    victim_exit = (runs / f"{victim}.1.exit").stat().st_mtime
    assert (runs / f"{mine}.1.launch").stat().st_mtime >= victim_exit  # never two processes on one GPU


def test_a_job_cancelled_while_the_cycle_decides_is_not_started(world: World, tmp_path: Path) -> None:
    approve(world)
    a, b = simulated(world, gpus=2), simulated(world, gpus=2)
    worker = make_worker(world, tmp_path)
    decide = worker.scheduler.cycle

    def cycle_then_cancel(now: float) -> Any:  # the API cancels b after the scheduler chose to start it
        result = decide(now)
        assert world.post("member_a", f"/api/v1/jobs/{b}/cancel").status_code == 200
        return result

    worker.scheduler.cycle = cycle_then_cancel  # type: ignore[method-assign]
    stats = worker.cycle()
    assert stats.started == 1 and (job(world, a).state, job(world, b).state) == ("running", "cancelled")
    assert b not in worker.scheduler.running and b not in worker.slots.held and b not in worker.runs
    with world.session() as session:
        assert session.scalars(select(UsageRecord).where(UsageRecord.job_id == b)).all() == []
    assert sum(worker.scheduler.state.used) == 2  # only a's GPUs are held
