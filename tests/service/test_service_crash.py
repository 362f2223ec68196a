"""Crash safety with real processes: ``aifactory serve`` and ``aifactory worker`` killed with SIGKILL
under load and restarted, on a SQLite file and on PostgreSQL.

Submitters post jobs (``local`` ones that append ``<job id> <attempt>`` to a marker file, and
``simulated`` ones), each with an idempotency key they retry, unchanged, until the API acknowledges it
(200/201): a submission the killed API committed but never answered is not duplicated by the retry. The
API is killed once and the worker several times while jobs run. Afterwards every acknowledged job is in
the database and succeeded, each local job's command ran exactly once (its marker appears once, with the
job's final attempt), no job is left running, no usage record is open, no GPU was ever held by two
running jobs at once, and the usage records and the allocation's burn-down agree with the jobs' run
times. ``aifactory serve`` with the worker inside (the single-machine mode) gets the same treatment.

In process, the windows a kill can fall into are reproduced exactly: a launch that fails, a worker that
dies after committing a start but before the job's wrapper began, one that dies after launching a run
but before storing its reference, and a wrapper that begins only after a restarted worker gave its
launch up.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from test_service_worker import approve, job, local, make_worker, wait_for

from aifactory.cli import service_options as cli_worker
from aifactory.service.auth import issue_token
from aifactory.service.db import Allocation, Job, Programme, Project, UsageRecord, make_sessionmaker
from aifactory.service.executors import SimulatedExecutor
from aifactory.service.executors import local as local_executor
from aifactory.service.executors.base import Ended, Launch, Status
from aifactory.service.worker_lock import WorkerLock
from cli_invoke import invoke
from conftest import World, reset

SUBMITTERS = 3
JOBS_PER_SUBMITTER = 20
RACK = ["--racks", "1", "--rack-gpus", "8"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Factory:
    """The service's processes against one database, and what the submitters were told."""

    url: str
    engine: Engine
    tmp: Path
    secret: str = ""
    port: int = field(default_factory=_free_port)
    api: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    acked: dict[str, str] = field(default_factory=dict)  # idempotency key -> job id
    unexpected: list[str] = field(default_factory=list)
    overlaps: list[str] = field(default_factory=list)
    logs: dict[str, Path] = field(default_factory=dict)  # the newest process's log, by command

    @property
    def markers(self) -> Path:
        return self.tmp / "markers.txt"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "aifactory", *args, "--database-url", self.url]
        argv += ["--log-dir", str(self.tmp / "logs")]
        self.logs[args[0]] = self.tmp / f"{args[0]}-{len(list(self.tmp.glob(args[0] + '-*.log')))}.log"
        with self.logs[args[0]].open("ab") as log:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def start_api(self, *extra: str) -> None:
        for _ in range(5):  # the port may be taken between choosing it and binding it (other tests run)
            self.api = self._spawn("serve", "--port", str(self.port), *extra)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if self.api.poll() is not None:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError("the API did not come up:\n" + self.log("serve"))
            assert "address already in use" in self.log("serve"), self.log("serve")
            self.port = _free_port()
        raise AssertionError("no free port for the API:\n" + self.log("serve"))

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", *RACK, "--interval", "0.1")

    def wait_log(self, name: str, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log(name):
            assert time.monotonic() < deadline, f"{text!r} not in the {name} log:\n{self.log(name)}"
            time.sleep(0.1)

    def log(self, name: str) -> str:
        path = self.logs.get(name)
        return path.read_text()[-3000:] if path is not None and path.exists() else ""

    @staticmethod
    def kill(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGKILL) -> int | None:
        if proc is None or proc.poll() is not None:
            return None if proc is None else proc.returncode
        proc.send_signal(sig)
        return proc.wait(timeout=30)

    def jobs(self) -> list[Job]:
        with make_sessionmaker(self.engine)() as session:
            return list(session.scalars(select(Job).order_by(Job.seq)))

    def usage(self) -> list[UsageRecord]:
        with make_sessionmaker(self.engine)() as session:
            return list(session.scalars(select(UsageRecord)))

    def submit_all(self, submitter: int, stop_at: float) -> None:
        """Post this submitter's jobs; retry each, with the same key, until acknowledged."""
        headers = {"Authorization": f"Bearer {self.secret}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=10) as client:
            for n in range(JOBS_PER_SUBMITTER):
                key = f"s{submitter}-{n}"
                body: dict[str, Any] = {"name": key, "gpus": 1 + n % 2, "time_limit_s": 60}
                if n % 3 == 2:
                    body |= {"executor": "simulated", "command": "simulated", "duration_s": 0.3}
                else:
                    marker = f'echo "$AIFACTORY_JOB_ID $AIFACTORY_ATTEMPT" >> {self.markers}; sleep 0.4'
                    body |= {"executor": "local", "command": marker}
                while time.monotonic() < stop_at:
                    try:
                        response = client.post("/api/v1/jobs", json=body, headers={"Idempotency-Key": key})
                    except httpx.HTTPError:  # the API is down: try again, the same key
                        time.sleep(0.1)
                        continue
                    if response.status_code in (200, 201):
                        self.acked[key] = response.json()["id"]
                        break
                    if response.status_code < 500:
                        self.unexpected.append(f"{key}: {response.status_code} {response.text}")
                        break
                    time.sleep(0.1)
                time.sleep(0.05)

    def check_gpus(self) -> None:
        """No GPU is held by two running jobs at once (sampled)."""
        try:
            running = [j for j in self.jobs() if j.state == "running"]
        except Exception:  # a sample may meet a locked SQLite file; the next one will do
            return
        held = Counter(g for j in running for g in (j.gpu_ids or "").split(",") if g)
        doubled = sorted(g for g, n in held.items() if n > 1)
        if doubled:
            self.overlaps.append(f"GPUs {doubled} held twice by {[(j.id, j.gpu_ids) for j in running]}")

    def wait_running_local(self, timeout: float) -> set[str]:
        """The local jobs running once there are any (empty if none run within ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_gpus()
            running = {j.id for j in self.jobs() if j.state == "running" and j.executor == "local"}
            if running or time.monotonic() >= deadline:
                return running
            time.sleep(0.1)

    def wait_idle(self, timeout: float) -> list[Job]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_gpus()
            jobs = self.jobs()
            if len(jobs) >= len(self.acked) and all(j.state not in ("pending", "running") for j in jobs):
                return jobs
            time.sleep(0.2)
        states = Counter(j.state for j in self.jobs())
        raise AssertionError(f"jobs still busy: {dict(states)}\n{self.log('worker')}")


@pytest.fixture
def factory(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Factory]:
    """A project with an allocation active now, an operator token, and no processes yet."""
    reset(engine)
    now = datetime.now(UTC)
    with make_sessionmaker(engine)() as session:
        session.add(Programme(id="sci", name="Science", share=1.0, created_at=now))
        session.flush()
        session.add(Project(id="pa", programme_id="sci", name="A", weight=1.0, created_at=now))
        session.flush()
        session.add(
            Allocation(
                project_id="pa",
                state="approved",
                gpu_hours_requested=1000.0,
                gpu_hours_granted=1000.0,
                start_at=now - timedelta(days=1),
                end_at=now + timedelta(days=1),
                requested_by="test",
                created_at=now,
            )
        )
        _, secret = issue_token(session, subject="load", role="project_admin", project_id="pa", now=now)
        session.commit()
    f = Factory(database_url, engine, tmp_path, secret)
    try:
        yield f
    finally:
        Factory.kill(f.api)
        Factory.kill(f.worker)


def check_outcome(f: Factory, jobs: list[Job]) -> None:
    assert not f.unexpected
    assert not f.overlaps
    assert len(f.acked) == SUBMITTERS * JOBS_PER_SUBMITTER  # every submission was acknowledged
    by_id = {j.id: j for j in jobs}
    assert len(jobs) == len(f.acked)  # retried keys were not submitted twice
    assert set(f.acked.values()) == set(by_id)
    states = Counter(j.state for j in jobs)
    assert states == {"succeeded": len(jobs)}, [
        (j.id, j.state, j.reason) for j in jobs if j.state != "succeeded"
    ]
    runs = Counter(line.split()[0] for line in f.markers.read_text().splitlines())
    attempts = {line.split()[0]: int(line.split()[1]) for line in f.markers.read_text().splitlines()}
    local = {j.id for j in jobs if j.executor == "local"}
    assert set(runs) == local
    assert {job_id: n for job_id, n in runs.items() if n != 1} == {}  # no local job ran twice
    assert all(attempts[j] == by_id[j].attempt for j in local)
    usage = f.usage()
    assert all(u.end_at is not None for u in usage)  # no open usage record: no GPU held by a dead job
    per_job = Counter(u.job_id for u in usage)
    assert per_job == Counter({j.id: 1 for j in jobs})  # one record per job: its one run
    for u in usage:
        job = by_id[u.job_id]
        assert u.attempt == job.attempt and u.gpus == job.gpus
        assert job.started_at is not None and job.ended_at is not None and u.end_at is not None
        assert u.start_at == job.started_at and u.end_at == job.ended_at
        assert u.gpu_hours == pytest.approx(job.gpus * (u.end_at - u.start_at).total_seconds() / 3600)
    with make_sessionmaker(f.engine)() as session:
        allocation = session.scalars(select(Allocation)).one()
        assert allocation.gpu_hours_used == pytest.approx(sum(u.gpu_hours or 0.0 for u in usage))


def test_sigkill_of_the_api_and_the_worker_under_load(factory: Factory) -> None:
    f = factory
    f.start_api("--no-worker")
    f.start_worker()
    stop_at = time.monotonic() + 60
    threads = [threading.Thread(target=f.submit_all, args=(i, stop_at)) for i in range(SUBMITTERS)]
    for thread in threads:
        thread.start()
    plan = ["worker", "api", "worker", "worker", "worker"]
    running_at_kill: set[str] = set()
    for victim in plan:
        if victim == "worker":  # kill it while local commands run: the next worker has to adopt them
            f.wait_log("worker", "every 0.1 s")
            running_at_kill |= f.wait_running_local(15)
            assert Factory.kill(f.worker) == -signal.SIGKILL, f.log("worker")
            f.start_worker()
        else:
            time.sleep(0.5)
            assert Factory.kill(f.api) == -signal.SIGKILL, f.log("serve")
            time.sleep(0.3)
            f.start_api("--no-worker")
    for thread in threads:
        thread.join()
    jobs = f.wait_idle(60)
    f.wait_log("worker", "every 0.1 s")  # the last worker is up (its signal handlers are set)
    assert Factory.kill(f.worker, signal.SIGTERM) == 0
    check_outcome(f, jobs)
    assert running_at_kill  # the kills did fall on running commands (adopted after the restart)


def test_serve_with_the_worker_inside_survives_sigkill(factory: Factory, database_url: str) -> None:
    """The single-machine mode (``--worker``, the default on SQLite): killed with a local job running,
    restarted, the job is adopted and finishes once; SIGTERM stops the loop and the server cleanly."""
    f = factory
    mode = () if database_url.startswith("sqlite") else ("--worker",)  # off by default on PostgreSQL
    f.start_api(*mode, *RACK, "--interval", "0.1")
    headers = {"Authorization": f"Bearer {f.secret}"}
    marker = f'echo "$AIFACTORY_JOB_ID $AIFACTORY_ATTEMPT" >> {f.markers}; sleep 2'
    body = {"command": marker, "gpus": 4, "time_limit_s": 60}
    job_id = httpx.post(f"{f.base}/api/v1/jobs", json=body, headers=headers).json()["id"]
    f.acked["one"] = job_id
    deadline = time.monotonic() + 20
    while next(j for j in f.jobs() if j.id == job_id).state != "running":
        assert time.monotonic() < deadline, f.log("serve")
        time.sleep(0.1)
    assert Factory.kill(f.api) == -signal.SIGKILL
    f.start_api(*mode, *RACK, "--interval", "0.1")
    (job,) = f.wait_idle(30)
    assert (job.state, job.attempt) == ("succeeded", 1)
    assert f.markers.read_text().split() == [job_id, "1"]
    # uvicorn shuts down, then re-raises the signal it caught: the exit status is the signal's
    assert Factory.kill(f.api, signal.SIGTERM) in (0, -signal.SIGTERM)
    log = f.log("serve")
    assert log.index("worker stopped") < log.index("Application shutdown complete")
    assert not any(u.end_at is None for u in f.usage())


# ------------------------------------------------------------------------ the windows, in process


def test_a_failed_launch_gives_its_gpus_back(world: World, tmp_path: Path) -> None:
    approve(world)
    image_only = world.submit("member_a", command=None, image="registry/train:1", gpus=8, executor="local")[
        "id"
    ]
    worker = make_worker(world, tmp_path)  # one rack of 8 GPUs
    worker.cycle()
    failed = job(world, image_only)
    assert failed.state == "failed" and "launch failed" in failed.reason
    assert worker.scheduler.state.free_gpus == 8 and not worker.runs and not worker.slots.held
    after = local(world, "true", gpus=8)
    assert wait_for(world, worker, after, {"succeeded", "failed"}).state == "succeeded"


def test_a_run_launched_before_its_reference_was_stored_is_adopted(world: World, tmp_path: Path) -> None:
    approve(world)
    marker = tmp_path / "marker"
    a = local(world, f'echo "$AIFACTORY_JOB_ID" >> {marker}; sleep 1')
    first = make_worker(world, tmp_path)
    first.cycle()
    with world.session() as session:  # the worker died between the launch and the reference's commit
        row = session.get(Job, a)
        assert row is not None and row.state == "running"
        row.executor_ref = None
        session.commit()
    second = make_worker(world, tmp_path)
    second.recover()
    assert a in second.runs
    done = wait_for(world, second, a, {"succeeded", "failed"})
    assert (done.state, done.attempt) == ("succeeded", 1)
    assert marker.read_text().split() == [a]
    assert not second.slots.held and second.scheduler.state.free_gpus == 8


def test_a_worker_killed_before_the_wrapper_began_requeues_the_job(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    approve(world)
    marker = tmp_path / "marker"
    a = local(world, f'echo "$AIFACTORY_JOB_ID $AIFACTORY_ATTEMPT" >> {marker}')
    first = make_worker(world, tmp_path)

    def killed(*_: Any, **__: Any) -> None:  # the worker dies after writing the launch, before the spawn
        raise SystemExit("SIGKILL")

    monkeypatch.setattr(local_executor.subprocess, "Popen", killed)
    with pytest.raises(SystemExit):
        first.cycle()
    monkeypatch.undo()
    assert job(world, a).state == "running"
    second = make_worker(world, tmp_path)
    second.recover()
    requeued = job(world, a)
    assert (requeued.state, requeued.attempt) == ("pending", 0)
    assert "requeued" in requeued.reason
    done = wait_for(world, second, a, {"succeeded", "failed"})
    assert (done.state, done.attempt) == ("succeeded", 1)
    assert marker.read_text().split() == [a, "1"]  # ran once, as attempt 1


def test_a_wrapper_that_lost_its_ticket_never_runs_the_command(tmp_path: Path) -> None:
    """A restarted worker deleted the ticket (and requeued the job) before this slow wrapper began."""
    marker = tmp_path / "marker"
    argv = [sys.executable, "-m", "aifactory.service.executors.runner", str(tmp_path), "j-x.1", "10"]
    gone = subprocess.run([*argv, "abc", "--", f"echo ran >> {marker}"], check=False, timeout=30)
    assert gone.returncode == 0
    assert not marker.exists() and not (tmp_path / "j-x.1.pid").exists()
    assert not (tmp_path / "j-x.1.exit").exists()
    (tmp_path / "j-x.1.def.ticket").touch()
    taken = subprocess.run([*argv, "def", "--", f"echo ran >> {marker}"], check=False, timeout=30)
    assert taken.returncode == 0 and marker.read_text() == "ran\n"
    assert not (tmp_path / "j-x.1.def.ticket").exists()
    assert json.loads((tmp_path / "j-x.1.exit").read_text())["exit_code"] == 0


# --------------------------------------------------------------------------- one loop per database


def test_one_worker_lock_per_database(engine: Engine) -> None:
    first, second = WorkerLock(engine), WorkerLock(engine)
    assert first.acquire()
    try:
        assert not second.acquire(wait_s=0.3)
    finally:
        first.release()
    assert second.acquire()
    second.release()


def test_a_second_worker_is_refused(
    capsys: pytest.CaptureFixture[str], engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``aifactory worker`` (or ``serve --worker``) against a database whose loop already runs: exit 2."""
    monkeypatch.setattr(cli_worker, "LOCK_WAIT_S", 0.3)
    running = WorkerLock(engine)
    assert running.acquire()
    try:
        code, _, err = invoke(capsys, "worker", "--once", "--database-url", database_url)
    finally:
        running.release()
    assert code == 2
    assert err.strip() == "error: another worker already runs against this database; stop it first"
    code, out, err = invoke(capsys, "worker", "--once", "--database-url", database_url, *RACK)
    assert code == 0, err
    assert out.startswith("cycle:")


class Unreachable(SimulatedExecutor):
    """Its second ``recover`` fails once, like a job server that does not answer."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def recover(self, launch: Launch, ref: str | None, now: float) -> Ended | Status:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("job server does not answer")
        return super().recover(launch, ref, now)


def test_a_recovery_that_fails_changes_nothing_and_is_tried_again(world: World, tmp_path: Path) -> None:
    approve(world)
    body = {"executor": "simulated", "duration_s": 600, "gpus": 4}
    a, b = (world.submit("member_a", **body)["id"] for _ in range(2))
    make_worker(world, tmp_path).cycle()
    held = {j: job(world, j).gpu_ids for j in (a, b)}
    executor = Unreachable()
    second = make_worker(world, tmp_path)
    second.executors["simulated"] = executor
    with pytest.raises(RuntimeError):
        second.cycle()
    assert not second.runs and not second.scheduler.running and not second.slots.held  # nothing half-adopted
    assert {j: (job(world, j).state, job(world, j).gpu_ids) for j in (a, b)} == {
        j: ("running", held[j]) for j in (a, b)
    }
    stop = threading.Event()
    loop = threading.Thread(target=second.run_forever, args=(stop,))
    loop.start()  # the loop survives the failed recovery and recovers on its next cycle
    deadline = time.monotonic() + 10
    while not second.recovered and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    loop.join(10)
    assert second.recovered and set(second.runs) == {a, b}
    assert second.scheduler.state.free_gpus == 0
    assert {j: ",".join(map(str, second.slots.held[j])) for j in (a, b)} == held
