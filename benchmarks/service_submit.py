"""Job submissions per second against the real service on PostgreSQL (issue 5's benchmark).

What it does:

1. creates a fresh schema ``bench_<random>`` in PostgreSQL's database ``test`` on 127.0.0.1:5432 (the
   server is reached through ``search_path``), migrates it and seeds one programme, one project with an
   approved allocation, and one project-member token (the submissions' caller);
2. starts the real server as a separate process, the two ways a user would on this 2-core machine:
   ``aifactory serve`` (one uvicorn process; on PostgreSQL it runs no scheduler loop) and
   ``aifactory serve --workers 2 --no-access-log`` (one API process per core), each against a fresh
   schema; the one-CPU pinning of
   ``benchmarks.run`` is lifted first (the server, PostgreSQL and the load generator share the cores);
3. drives it from this process with ``--connections`` keep-alive HTTP/1.1 connections (a small asyncio
   client writing prepared requests: the load generator must cost far less than the server), each
   submitting one job after another with its own idempotency key: a warm-up, then ``--seconds`` of
   sustained load (30 s by default);
4. reports submissions per second (201 responses), p50/p95/p99/max latency, and errors by status; then
   checks in the database that every 201 is a committed job with a distinct number;
5. stops the server and drops the schema.

PostgreSQL unreachable: the benchmark is skipped with a message (``make bench`` goes on).
``python -m benchmarks.service_submit [--seconds 30] [--connections 32] [--workers 1 2]``; ``benchmarks.run
--only service`` runs it with the cycle benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench-out" / "service_submit.json"
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_PER_S, STRETCH_PER_S = 500.0, 2000.0
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
JOB = {"project_id": "bench", "name": "train", "command": "python train.py", "gpus": 4, "time_limit_s": 3600}


def log(message: str) -> None:
    print(f"[service-submit] {message}", file=sys.stderr, flush=True)


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers at 127.0.0.1:5432, else why not (one line)."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_SERVER, connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return f"PostgreSQL at {POSTGRES_SERVER} unreachable: {str(exc).strip().splitlines()[0]}"


@contextmanager
def fresh_schema(prefix: str = "bench") -> Iterator[str]:
    """A new PostgreSQL schema of its own (dropped afterwards); yields the SQLAlchemy URL that uses it."""
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def seed(url: str) -> str:
    """Migrate, add programme ``sci``, project ``bench`` with an approved allocation; a member's secret."""
    from aifactory.service.auth import issue_token
    from aifactory.service.db import Allocation, Programme, Project, make_engine, make_sessionmaker, upgrade

    engine = make_engine(url)
    try:
        upgrade(engine)
        with make_sessionmaker(engine)() as session:
            session.add(Programme(id="sci", name="Science", share=1.0, created_at=START))
            session.flush()
            session.add(Project(id="bench", programme_id="sci", name="Bench", weight=1.0, created_at=START))
            session.flush()
            session.add(
                Allocation(
                    project_id="bench",
                    state="approved",
                    gpu_hours_requested=1e9,
                    gpu_hours_granted=1e9,
                    start_at=START,
                    end_at=START + dt.timedelta(days=3650),
                    justification="benchmark",
                    requested_by="bench",
                    reviewed_by="council",
                    created_at=START,
                    reviewed_at=START,
                )
            )
            _, secret = issue_token(
                session, subject="member", role="project_member", project_id="bench", now=START
            )
            session.commit()
    finally:
        engine.dispose()
    return secret


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_command(port: int, workers: int) -> list[str]:
    """The command a user would type: ``aifactory serve`` (one process, access log on, its defaults), or
    ``aifactory serve --workers N --no-access-log`` (one API process per core)."""
    command = [str(Path(sys.executable).with_name("aifactory")), "serve", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers), "--no-access-log"]
    return command


def every_cpu() -> str:
    """Undo ``benchmarks.run``'s one-CPU pinning: a service is several processes (the server, PostgreSQL,
    the load generator) sharing the machine's cores. The server inherits it."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    cpus = set(range(os.cpu_count() or 1))
    os.sched_setaffinity(0, cpus)
    return f"unpinned: every CPU ({len(cpus)})"


@contextmanager
def running_server(url: str, workers: int, log_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """The service as a child process on a free port, ready (``/healthz`` answers); stopped afterwards."""
    port = free_port()
    env = {**os.environ, "AIFACTORY_DATABASE_URL": url, "AIFACTORY_LOG_DIR": str(log_path.parent / "logs")}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as out:
        proc = subprocess.Popen(server_command(port, workers), env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {proc.returncode}; see {log_path}")
                try:
                    status, _ = asyncio.run(one_request(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
                    if status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not answer /healthz within 60 s; see {log_path}")
                time.sleep(0.2)
            yield port, proc
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def process_tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its descendants so far (Linux ``/proc``; 0 elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


# ------------------------------------------------------------------------------------ load generator


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response with a Content-Length body: (status, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
    body = await reader.readexactly(length) if length else b""
    return status, body


async def one_request(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        return await read_response(reader)
    finally:
        writer.close()


def submit_request(secret: str, key: str) -> bytes:
    body = json.dumps(JOB | {"idempotency_key": key}).encode()
    return (
        b"POST /api/v1/jobs HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer "
        + secret.encode()
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


@dataclass
class Load:
    """What the load generator saw in the measured window."""

    seconds: float = 0.0
    latencies_s: list[float] = field(default_factory=list)  # of the 201 responses
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # connection errors by kind
    created_ids: list[str] = field(default_factory=list)
    responses: int = 0  # every response, warm-up included (for the server's CPU time per request)


async def drive(port: int, secret: str, connections: int, warmup_s: float, seconds: float) -> Load:
    """``connections`` clients submitting back to back; only what ends inside the window is counted."""
    load = Load()
    run = uuid.uuid4().hex[:8]
    loop = asyncio.get_running_loop()
    t_start = loop.time() + warmup_s
    t_end = t_start + seconds

    async def client(c: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = 0
        try:
            while loop.time() < t_end:
                request = submit_request(secret, f"{run}-{c}-{n}")
                n += 1
                sent = time.perf_counter()
                writer.write(request)
                try:
                    status, body = await read_response(reader)
                except (OSError, asyncio.IncompleteReadError) as exc:
                    load.errors[type(exc).__name__] += 1
                    return
                took = time.perf_counter() - sent
                load.responses += 1
                if loop.time() < t_start:
                    continue
                if loop.time() > t_end:
                    break
                load.statuses[status] += 1
                if status == 201:
                    load.latencies_s.append(took)
                    load.created_ids.append(json.loads(body)["id"])
        finally:
            writer.close()

    await asyncio.gather(*(client(c) for c in range(connections)))
    load.seconds = seconds
    return load


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class SubmitResult:
    server: str
    workers: int
    connections: int
    warmup_s: float
    seconds: float
    submitted: int = 0
    per_second: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    mean_ms: float = 0.0
    server_cpu_ms_per_request: float = 0.0  # CPU time of the server's processes per answered request
    statuses: dict[str, int] = field(default_factory=dict)
    connection_errors: dict[str, int] = field(default_factory=dict)
    committed_ok: bool = False
    distinct_seqs: bool = False
    checks: dict[str, bool] = field(default_factory=dict)


def verify(url: str, ids: list[str]) -> tuple[bool, bool]:
    """Every acknowledged job is in the database; all job numbers are distinct."""
    from sqlalchemy import func, select

    from aifactory.service.db import Job, make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            found = 0
            for chunk in range(0, len(ids), 5000):
                found += (
                    connection.scalar(
                        select(func.count()).select_from(Job).where(Job.id.in_(ids[chunk : chunk + 5000]))
                    )
                    or 0
                )
            total = connection.scalar(select(func.count()).select_from(Job)) or 0
            seqs = connection.scalar(select(func.count(func.distinct(Job.seq)))) or 0
    finally:
        engine.dispose()
    return found == len(ids), seqs == total


def run(*, seconds: float, connections: int, workers: int, warmup_s: float, out_dir: Path) -> SubmitResult:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - optional
        pass
    with fresh_schema() as url:
        secret = seed(url)
        result = SubmitResult(
            server=" ".join(server_command(0, workers)).replace(" --port 0", ""),
            workers=workers,
            connections=connections,
            warmup_s=warmup_s,
            seconds=seconds,
        )
        log(f"server: {result.server}; {connections} connections, {warmup_s:g} s warm-up, {seconds:g} s")
        with running_server(url, workers, out_dir / "service_submit_server.log") as (port, proc):
            cpu_before = process_tree_cpu_s(proc.pid)
            load = asyncio.run(drive(port, secret, connections, warmup_s, seconds))
            cpu_used = process_tree_cpu_s(proc.pid) - cpu_before
        result.server_cpu_ms_per_request = cpu_used / max(load.responses, 1) * 1e3
        result.submitted = len(load.latencies_s)
        result.per_second = result.submitted / seconds
        ms = [x * 1e3 for x in load.latencies_s]
        result.p50_ms, result.p95_ms = quantile(ms, 0.50), quantile(ms, 0.95)
        result.p99_ms, result.max_ms = quantile(ms, 0.99), max(ms, default=float("nan"))
        result.mean_ms = statistics.fmean(ms) if ms else float("nan")
        result.statuses = {str(k): v for k, v in sorted(load.statuses.items())}
        result.connection_errors = dict(load.errors)
        result.committed_ok, result.distinct_seqs = verify(url, load.created_ids)
    errors = sum(v for k, v in load.statuses.items() if k != 201) + sum(load.errors.values())
    result.checks = {
        "no_errors": errors == 0,
        "every_201_committed": result.committed_ok,
        "distinct_seqs": result.distinct_seqs,
        f"ge_{TARGET_PER_S:g}_per_s": result.per_second >= TARGET_PER_S,
        f"ge_{STRETCH_PER_S:g}_per_s_stretch": result.per_second >= STRETCH_PER_S,
    }
    return result


def markdown(results: list[SubmitResult]) -> str:
    first = results[0]
    lines = [
        f"{first.connections} keep-alive connections, {first.warmup_s:g} s warm-up, {first.seconds:g} s "
        "measured, a new idempotency key per submission.",
        "",
        "| server | submissions | per second | p50 | p95 | p99 | max | statuses | connection errors "
        "| server CPU per request |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| `{r.server}` | {r.submitted:,} | **{r.per_second:,.0f}/s** | {r.p50_ms:.1f} ms "
            f"| {r.p95_ms:.1f} ms | **{r.p99_ms:.1f} ms** | {r.max_ms:.1f} ms | {r.statuses} "
            f"| {r.connection_errors or 'none'} | {r.server_cpu_ms_per_request:.2f} ms |"
        )
    lines += ["", "| server processes | check | result |", "|---|---|---|"]
    for r in results:
        lines += [f"| {r.workers} | {name} | {'pass' if ok else 'FAIL'} |" for name, ok in r.checks.items()]
    return "\n".join(lines) + "\n"


def main(
    *,
    quick: bool = False,
    info: dict[str, Any] | None = None,
    command: str = "",
    out: Path = DEFAULT_OUT,
    seconds: float | None = None,
    connections: int = 32,
    workers: tuple[int, ...] = (1, 2),
) -> list[SubmitResult]:
    """Run the benchmark once per server set-up (``workers``: 1 is ``aifactory serve``, N > 1 is
    ``aifactory serve --workers N``), print the table and write ``out``; nothing, with a message, without
    PostgreSQL."""
    reason = postgres_reachable()
    if reason is not None:
        log(f"skipped: {reason}")
        return []
    seconds = seconds if seconds is not None else (5.0 if quick else 30.0)
    pinning = every_cpu()
    results = [
        run(
            seconds=seconds,
            connections=connections,
            workers=n,
            warmup_s=2.0 if quick else 5.0,
            out_dir=out.parent,
        )
        for n in workers
    ]
    text = markdown(results)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "service_submit",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "quick": quick,
        "machine": info,
        "pinning": pinning,
        "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "targets": {"per_second": TARGET_PER_S, "per_second_stretch": STRETCH_PER_S},
        "results": [asdict(r) for r in results],
        "markdown": text,
    }
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {out}")
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.service_submit", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="5 s of load after 2 s of warm-up")
    parser.add_argument("--seconds", type=float, help="measured seconds of sustained load (default 30)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="server processes, one run each (1: aifactory serve; N: aifactory serve --workers N)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse_args(None)
    main(
        quick=args.quick,
        command=" ".join(["python", "-m", "benchmarks.service_submit", *sys.argv[1:]]),
        out=args.out,
        seconds=args.seconds,
        connections=args.connections,
        workers=tuple(args.workers),
    )
