"""The ``ray`` executor against a real local Ray cluster (its job server), and through the worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aifactory.service.db import make_sessionmaker
from aifactory.service.executors.base import Ended, Launch
from aifactory.service.executors.ray import RayExecutor, RayUnavailable
from aifactory.service.worker import FactoryConfig, Worker
from conftest import World

pytestmark = pytest.mark.ray
pytest.importorskip("ray.job_submission")

# A driver that starts a one-CPU Ray cluster with its job server and keeps it until it is terminated.
CLUSTER = """
import signal, sys, threading, ray
ray.init(num_cpus=1, include_dashboard=True, dashboard_host="127.0.0.1", dashboard_port=int(sys.argv[1]),
         log_to_driver=False, configure_logging=False)
print("ready", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
ray.shutdown()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


TOKEN = "aif-test-" + "0" * 32


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A cluster with token authentication, as Ray starts new local clusters."""
    port = free_port()
    script = tmp_path_factory.mktemp("ray") / "cluster.py"
    script.write_text(CLUSTER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        env=os.environ | {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": TOKEN},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", f"the Ray cluster did not start (exit {proc.poll()})"
        address = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:  # the job server answers a little after ray.init returns
            try:
                client = RayExecutor(address, token=TOKEN).client()
                break
            except RayUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        while True:  # and takes submissions once its agent is up ("No available agent" until then)
            try:
                client.submit_job(entrypoint="true", submission_id="aifactory-warm-up")
                break
            except Exception as exc:
                if "agent" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def launch(tmp_path: Path, job_id: str, command: str | None, **kw: Any) -> Launch:
    values: dict[str, Any] = {
        "job_id": job_id,
        "attempt": 1,
        "command": command,
        "image": None,
        "gpu_ids": (3, 4),
        "time_limit_s": 60.0,
        "duration_s": None,
        "log_path": tmp_path / f"{job_id}.log",
    } | kw
    return Launch(**values)


def until_ended(executor: RayExecutor, run: Launch, ref: str, timeout: float = 60) -> Ended:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ended = executor.poll(run, ref, time.time())
        if ended is not None:
            return ended
        time.sleep(0.2)
    raise AssertionError(f"{ref} did not end in {timeout} s")


def test_runs_with_its_gpus_and_reports_exit_codes(ray_address: str, tmp_path: Path) -> None:
    executor = RayExecutor(ray_address, token=TOKEN)
    ok = launch(tmp_path, "j-0000000000a1", 'echo "gpus=$CUDA_VISIBLE_DEVICES job=$AIFACTORY_JOB_ID"')
    bad = launch(tmp_path, "j-0000000000a2", "echo failing >&2; exit 3")
    before = time.time()
    ref_ok, ref_bad = executor.start(ok, time.time()), executor.start(bad, time.time())
    assert ref_ok == "aif-j-0000000000a1.1"
    ended = until_ended(executor, ok, ref_ok)
    assert (ended.exit_code, ended.timed_out, ended.stopped, ended.lost) == (0, False, False, False)
    # Ray's end time (ms) in epoch seconds: after the submission, before poll reported the end
    assert ended.ended_at is not None and before <= ended.ended_at <= time.time()
    assert "gpus=3,4 job=j-0000000000a1" in ok.log_path.read_text()
    failed = until_ended(executor, bad, ref_bad)
    assert failed.exit_code == 3 and not failed.stopped
    assert "failing" in bad.log_path.read_text()


def test_the_cluster_checks_the_token(ray_address: str) -> None:
    with pytest.raises(RayUnavailable, match=r"(?i)auth"):
        RayExecutor(ray_address, token="wrong").client()


def test_an_attempt_is_never_submitted_twice(ray_address: str, tmp_path: Path) -> None:
    executor = RayExecutor(ray_address, token=TOKEN)
    run = launch(tmp_path, "j-0000000000b1", "echo once")
    ref = executor.start(run, time.time())
    with pytest.raises(RuntimeError):
        executor.start(run, time.time())
    until_ended(executor, run, ref)
    assert run.log_path.read_text().count("once") == 2  # the entrypoint line and its output, one run


def test_time_limit_and_stop(ray_address: str, tmp_path: Path) -> None:
    executor = RayExecutor(ray_address, token=TOKEN)
    slow = launch(tmp_path, "j-0000000000c1", "sleep 60", time_limit_s=1.0)
    victim = launch(tmp_path, "j-0000000000c2", "sleep 60")
    ref_slow, ref_victim = executor.start(slow, time.time()), executor.start(victim, time.time())
    deadline = time.monotonic() + 60
    while executor.client().get_job_status(ref_victim).value != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    executor.stop(victim, ref_victim)
    stopped = until_ended(executor, victim, ref_victim)
    assert stopped.stopped and not stopped.timed_out
    timed_out = until_ended(executor, slow, ref_slow)
    assert timed_out.timed_out and timed_out.stopped


def test_recover_after_a_worker_restart(ray_address: str, tmp_path: Path) -> None:
    first = RayExecutor(ray_address, token=TOKEN)
    never = launch(tmp_path, "j-0000000000d1", "echo never")
    assert first.recover(never, None, time.time()) == "not-started"
    run = launch(tmp_path, "j-0000000000d2", "sleep 2; echo done-d2")
    ref = first.start(run, time.time())
    second = RayExecutor(ray_address, token=TOKEN)  # a new worker process: no memory of the run
    assert second.recover(run, ref, time.time()) == "running"
    ended = until_ended(second, run, ref)
    assert ended.exit_code == 0
    assert RayExecutor(ray_address, token=TOKEN).poll(run, "", time.time()) == ended  # no stored ref
    third = RayExecutor(ray_address, token=TOKEN)
    recovered = third.recover(run, ref, time.time())
    assert isinstance(recovered, Ended) and recovered.exit_code == 0
    assert "done-d2" in run.log_path.read_text()


def test_an_unreachable_cluster_is_not_a_failed_job(tmp_path: Path) -> None:
    executor = RayExecutor(f"http://127.0.0.1:{free_port()}")
    run = launch(tmp_path, "j-0000000000e1", "echo hi")
    assert executor.poll(run, "aif-j-0000000000e1.1", time.time()) is None  # asked again next cycle
    with pytest.raises(RayUnavailable, match="does not answer"):
        executor.recover(run, "aif-j-0000000000e1.1", time.time())
    with pytest.raises(ValueError, match="runs commands"):
        RayExecutor("http://127.0.0.1:1").start(launch(tmp_path, "j-0000000000e2", None), time.time())


class FakeJobServer:
    """Ray's job API as ``poll`` uses it: each submission id's status and driver output, set by the test."""

    def __init__(self) -> None:
        self.jobs: dict[str, tuple[str, str]] = {}

    def get_job_info(self, ref: str) -> Any:
        status, _ = self.jobs[ref]
        return SimpleNamespace(
            status=status, start_time=1_000, end_time=2_000, driver_exit_code=0, message=""
        )

    def get_job_logs(self, ref: str) -> str:
        return self.jobs[ref][1]


def test_attempts_share_one_log_file(tmp_path: Path) -> None:
    server = FakeJobServer()
    executor = RayExecutor("http://ray.example", client_factory=lambda *_: server, log_every_s=0.0)
    first = launch(tmp_path, "j-0000000000f1", "x")
    second = launch(tmp_path, "j-0000000000f1", "x", attempt=2)
    server.jobs["aif-j-0000000000f1.1"] = ("RUNNING", "one\n")
    assert executor.poll(first, "aif-j-0000000000f1.1", 1.5) is None  # running: its output so far
    assert first.log_path.read_text() == "=== attempt 1 (Ray job aif-j-0000000000f1.1) ===\none\n"
    server.jobs["aif-j-0000000000f1.1"] = ("SUCCEEDED", "one\ntwo\n")
    ended = executor.poll(first, "aif-j-0000000000f1.1", 2.5)  # a later copy replaces the attempt's part
    assert ended is not None and ended.exit_code == 0
    server.jobs["aif-j-0000000000f1.2"] = ("RUNNING", "three\n")
    assert executor.poll(second, "aif-j-0000000000f1.2", 3.5) is None  # the next attempt goes after it
    assert first.log_path.read_text() == (
        "=== attempt 1 (Ray job aif-j-0000000000f1.1) ===\none\ntwo\n"
        "=== attempt 2 (Ray job aif-j-0000000000f1.2) ===\nthree\n"
    )


def test_the_worker_runs_jobs_on_ray(world: World, ray_address: str, tmp_path: Path) -> None:
    alloc = world.request_allocation(project_id="pa", gpu_hours=100)
    reviewed = world.post("council", f"/api/v1/allocations/{alloc['id']}/review", {"decision": "approve"})
    assert reviewed.status_code == 200, reviewed.text
    job = world.submit(
        "member_a",
        executor="ray",
        command='echo "on ray with $CUDA_VISIBLE_DEVICES"',
        gpus=4,
        time_limit_s=600,
    )
    worker = Worker(
        make_sessionmaker(world.engine),
        FactoryConfig(racks=1, rack_gpus=8),
        {"ray": RayExecutor(ray_address, token=TOKEN, log_every_s=0.0)},
        world.log_dir,
        clock=lambda: world.clock.now.timestamp(),  # noqa: PLW0108 (the clock's time changes)
    )
    deadline = time.monotonic() + 60
    while True:
        worker.cycle()
        shown = world.get("member_a", f"/api/v1/jobs/{job['id']}").json()
        if shown["state"] not in ("pending", "running"):
            break
        assert time.monotonic() < deadline, shown
        time.sleep(0.3)
    assert shown["state"] == "succeeded" and shown["exit_code"] == 0, shown
    assert shown["executor_ref"] == f"aif-{job['id']}.1"
    log_text = world.get("member_a", f"/api/v1/jobs/{job['id']}/logs").text
    assert f"on ray with {shown['gpu_ids']}" in log_text


def test_workers_offer_ray_only_with_an_address(tmp_path: Path) -> None:
    from aifactory.service.executors import executors_for
    from aifactory.service.settings import Settings

    assert set(executors_for(Settings(log_dir=tmp_path))) == {"simulated", "local"}
    settings = Settings.from_env(
        {"AIFACTORY_RAY_ADDRESS": "http://10.0.0.5:8265", "RAY_AUTH_TOKEN": "secret"}, log_dir=tmp_path
    )
    ray = executors_for(settings)["ray"]
    assert isinstance(ray, RayExecutor) and (ray.address, ray.token) == ("http://10.0.0.5:8265", "secret")
