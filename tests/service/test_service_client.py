"""The CLI client (``aifactory jobs|alloc|market …``) against the real API served over HTTP by uvicorn, on
SQLite and PostgreSQL: every command, its output, bad input (exit 2 with one line), an unreachable server
(exit 1), and a member who cannot see or cancel another project's jobs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import free_port, live_server
from sqlalchemy import Engine

from aifactory.cli.client import age, fail, parse_duration, parse_time
from aifactory.cli.jobs import command_text
from aifactory.cli.service_options import ServiceInputError
from aifactory.service.app import create_app
from aifactory.service.client import ApiClient, ClientError
from aifactory.service.db import Job
from aifactory.service.settings import Settings
from cli_invoke import invoke
from conftest import Clock, World


@pytest.fixture(scope="module")
def server_url(engine: Engine, clock: Clock, log_dir: Path, database_url: str) -> Iterator[str]:
    app = create_app(Settings(database_url=database_url, log_dir=log_dir), clock=clock, engine=engine)
    with live_server(app) as url:
        yield url


class Cli:
    """``aifactory …`` in-process as one of the world's tokens (through AIFACTORY_URL/AIFACTORY_TOKEN)."""

    def __init__(self, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch, world: World, url: str):
        self.capsys, self.mp, self.world, self.url = capsys, mp, world, url

    def __call__(self, role: str, *args: str) -> tuple[int, str, str]:
        self.mp.setenv("AIFACTORY_URL", self.url)
        self.mp.setenv("AIFACTORY_TOKEN", self.world.secrets[role])
        return invoke(self.capsys, *args)

    def ok(self, role: str, *args: str) -> str:
        code, out, err = self(role, *args)
        assert code == 0, err
        return out

    def json(self, role: str, *args: str) -> Any:
        return json.loads(self.ok(role, *args, "--json"))

    def refused(self, role: str, *args: str, code: int = 2) -> str:
        """The command failed with ``code`` and one line on stderr; that line."""
        got, out, err = self(role, *args)
        assert got == code, (out, err)
        assert len(err.strip().splitlines()) == 1, err
        return err


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, world: World, server_url: str
) -> Cli:
    return Cli(capsys, monkeypatch, world, server_url)


def job_row(world: World, job_id: str) -> Job:
    with world.session() as session:
        row = session.get(Job, job_id)
        assert row is not None
        return row


def submitted_id(out: str) -> str:
    line = out.strip()
    assert line.startswith("Submitted job j-"), line
    return line.removeprefix("Submitted job ")


# ------------------------------------------------------------------------------------- pure parsing


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("3600", 3600),
        ("90s", 90),
        ("30m", 1800),
        ("2h", 7200),
        ("1d", 86400),
        ("1.5h", 5400),
        ("10:30", 630),  # MM:SS, as sbatch
        ("01:02:03", 3723),
        ("2-12", 2 * 86400 + 12 * 3600),
        ("1-00:30", 86400 + 1800),
        ("1-01:02:03", 86400 + 3723),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "0", "0:00", "1:60", "1:02:60", "-5", "2w", "1h30"])
def test_bad_durations_name_the_option(text: str) -> None:
    with pytest.raises(ServiceInputError, match=r"^--time: "):
        parse_duration(text)


def test_times() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_time("2026-01-01", "--start", now) == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_time("2026-01-01T09:00+02:00", "--start", now) == datetime(2026, 1, 1, 7, tzinfo=UTC)
    assert parse_time("now", "--start", now) == now
    assert parse_time("+2h", "--end", now) == now + timedelta(hours=2)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    assert parse_time("+30d", "--end", now, after=start) == datetime(2026, 7, 1, tzinfo=UTC)
    assert parse_time("2026-08-01", "--end", now, after=start) == datetime(2026, 8, 1, tzinfo=UTC)
    with pytest.raises(ServiceInputError, match=r"^--end: 'tomorrow' is not a time"):
        parse_time("tomorrow", "--end", now)
    assert age((now - timedelta(minutes=125)).isoformat(), now) == "2h"
    assert age((now - timedelta(seconds=42)).isoformat(), now) == "42s"


def test_command_words() -> None:
    assert command_text(["python train.py > out.txt"]) == "python train.py > out.txt"
    assert command_text(["python", "-c", "print('a b')"]) == "python -c 'print('\"'\"'a b'\"'\"')'"


def test_client_errors_carry_the_servers_detail() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/whoami"):
            assert request.headers["Authorization"] == "Bearer aif_x"
            return httpx.Response(403, json={"detail": "role: council may not do this"})
        return httpx.Response(502, text="bad gateway\nmore")

    with ApiClient("http://svc.example/", "aif_x", transport=httpx.MockTransport(answer)) as api:
        with pytest.raises(ClientError) as refused:
            api.whoami()
        assert (refused.value.status, refused.value.detail) == (403, "role: council may not do this")
        assert refused.value.is_client_error
        with pytest.raises(ClientError) as failed:
            api.list_jobs()
        assert failed.value.status == 502 and not failed.value.is_client_error
        assert failed.value.detail == "HTTP 502 Bad Gateway: bad gateway"

    def silent(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    api = ApiClient("http://svc.example", "aif_x", transport=httpx.MockTransport(silent))
    with api, pytest.raises(ClientError) as late:
        api.get_job("j-000000000000")
    assert late.value.status is None and not late.value.is_client_error
    assert late.value.detail.startswith("the aifactory service at http://svc.example did not answer in time")
    with pytest.raises(SystemExit) as exit_info:
        fail(failed.value)
    assert exit_info.value.code == 1
    with pytest.raises(ServiceInputError, match="role: council"):
        fail(refused.value)


# ---------------------------------------------------------------------------------------------- jobs


def test_submit_prints_the_id_and_sends_every_option(cli: Cli) -> None:
    out = cli.ok(
        "member_a",
        "jobs", "submit", "--gpus", "2", "--time", "2h", "--priority", "5", "--name", "train",
        "--preemptible", "--", "python", "train.py", "--lr", "3e-4",
    )  # fmt: skip
    job = job_row(cli.world, submitted_id(out))
    assert (job.project_id, job.name, job.command, job.gpus, job.time_limit_s) == (
        "pa", "train", "python train.py --lr 3e-4", 2, 7200.0,
    )  # fmt: skip
    assert (job.priority, job.preemptible, job.executor, job.submitted_by) == (5, True, "local", "member_a")

    # options before the command need no --: everything after the first word is the command's
    out = cli.ok("member_a", "jobs", "submit", "-t", "01:00:00", "sh", "-c", "echo $HOME", "--not-mine")
    job = job_row(cli.world, submitted_id(out))
    assert (job.command, job.time_limit_s, job.gpus, job.name) == (
        "sh -c 'echo $HOME' --not-mine",
        3600,
        1,
        "sh",
    )

    out = cli.ok("member_a", "jobs", "submit", "--shape", "gpu.4xgb300", "--time", "90", "--", "sleep 1")
    job = job_row(cli.world, submitted_id(out))
    assert (job.gpus, job.shape, job.time_limit_s, job.command, job.name) == (
        4,
        "gpu.4xgb300",
        90,
        "sleep 1",
        "sleep",
    )

    image = "nvcr.io/nvidia/pytorch:25.01-py3"
    data = cli.json("operator", "jobs", "submit", "--project", "pb", "--image", image,
                    "--executor", "simulated", "--duration", "10m")  # fmt: skip
    assert (data["project_id"], data["image"], data["command"], data["duration_s"]) == (
        "pb", image, None, 600,
    )  # fmt: skip
    assert data["name"] == "pytorch" and data["executor"] == "simulated"


def test_submit_with_an_idempotency_key_returns_the_same_job(cli: Cli) -> None:
    first = submitted_id(cli.ok("member_a", "jobs", "submit", "--idempotency-key", "run-1", "--", "echo 1"))
    again = cli.ok("admin_a", "jobs", "submit", "--idempotency-key", "run-1", "--", "echo 1")
    assert again.strip() == f"Job {first} was already submitted with idempotency key 'run-1'"
    assert len(cli.world.get("operator", "/api/v1/jobs").json()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("jobs", "submit"), "error: command: give the command after the options"),
        (("jobs", "submit", "--image", "x", "--", "echo"),
         "error: command: give a command or --image, not both"),
        (("jobs", "submit", "--time", "soon", "--", "echo"), "error: --time: 'soon' is not a duration"),
        (("jobs", "submit", "--gpus", "0", "--", "echo"),
         "error: gpus: Input should be greater than or equal to 1"),
        (("jobs", "submit", "--shape", "gpu.3xgb300", "--", "echo"),
         "error: shape: 3 x gb300 is not a sellable slice in 'gpu.3xgb300'"),
        (("jobs", "submit", "--executor", "k8s", "--", "echo"), "error: executor: Input should be"),
        (("jobs", "submit", "--project", "pb", "--", "echo"),
         "error: project_id: a project_member token may not act on project 'pb'"),
        (("jobs", "submit", "--reservation", "99", "--", "echo"), "error: reservation_id: no reservation 99"),
        (("jobs", "submit", "--gpus", "two", "--", "echo"), "error: Invalid value for '--gpus' / '-G'"),
        (("jobs", "show", "j-000000000000"), "error: job 'j-000000000000' not found"),
        (("jobs", "list", "--state", "sleeping"), "error: state: Input should be"),
        (("alloc", "request", "--gpu-hours", "5", "--start", "2026-02-01", "--end", "2026-01-01"),
         "error: end_at: must be after start_at"),
        (("alloc", "request", "--gpu-hours", "-5", "--start", "now", "--end", "+1d"),
         "error: gpu_hours: Input should be greater than 0"),
        (("alloc", "review", "1", "approve"), "error: a project_member token may not do this"),
        (("alloc", "review", "1", "maybe"), "error: decision: 'maybe' is not one of approve, amend, reject"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(cli: Cli, args: tuple[str, ...], message: str) -> None:
    assert message in cli.refused("member_a", *args)


def test_token_and_url_problems(
    cli: Cli, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIFACTORY_TOKEN", raising=False)
    monkeypatch.setenv("AIFACTORY_URL", cli.url)
    code, _, err = invoke(capsys, "jobs", "list")
    assert (
        code == 2
        and err.strip() == "error: token: give --token or set AIFACTORY_TOKEN (aifactory bootstrap makes one)"
    )
    code, _, err = invoke(capsys, "jobs", "list", "--token", "aif_not-a-real-token-000000000000000000")
    assert code == 2 and err.startswith("error: ") and "token" in err and len(err.splitlines()) == 1
    # --url and --token win over the environment
    monkeypatch.setenv("AIFACTORY_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("AIFACTORY_TOKEN", "aif_wrong")
    code, out, err = invoke(
        capsys, "jobs", "list", "--url", cli.url, "--token", cli.world.secrets["member_a"]
    )
    assert code == 0, err
    assert "JOBID" in out
    code, _, err = invoke(capsys, "jobs", "list", "--url", "ftp://example.org")
    assert code == 2 and err.strip() == "error: --url: 'ftp://example.org' is not an http:// or https:// URL"
    nowhere = f"http://127.0.0.1:{free_port()}"
    code, _, err = invoke(capsys, "jobs", "list", "--url", nowhere)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: cannot reach the aifactory service at {nowhere}")


def test_list_is_squeue_like(cli: Cli) -> None:
    a = submitted_id(cli.ok("member_a", "jobs", "submit", "--name", "alpha", "--gpus", "3", "--", "echo a"))
    b = submitted_id(cli.ok("member_a", "jobs", "submit", "--name", "beta", "--", "echo b"))
    c = submitted_id(cli.ok("member_b", "jobs", "submit", "--name", "gamma", "--", "echo c"))
    with cli.world.session() as session:  # one running, as the worker would have it
        row = session.get(Job, b)
        assert row is not None
        row.state, row.reason = "running", ""
        session.commit()
    cli.ok("member_a", "jobs", "cancel", a)

    out = cli.ok("member_a", "jobs", "list")
    lines = out.strip().splitlines()
    assert lines[0].split() == ["JOBID", "PROJECT", "NAME", "STATE", "GPUS", "AGE", "REASON"]
    assert [line.split()[:4] for line in lines[1:]] == [[b, "pa", "beta", "running"]]  # not a (done), not c
    out = cli.ok("member_a", "jobs", "list", "--all")
    rows = [line.split() for line in out.strip().splitlines()[1:]]
    assert [r[:5] for r in rows[:2]] == [
        [a, "pa", "alpha", "cancelled", "3"],
        [b, "pa", "beta", "running", "1"],
    ]
    assert "cancelled by member_a before it started" in out
    assert c not in out
    assert [j["id"] for j in cli.json("operator", "jobs", "list")] == [b, c]
    assert [j["id"] for j in cli.json("operator", "jobs", "list", "--project", "pb")] == [c]
    assert [j["id"] for j in cli.json("council", "jobs", "list", "--state", "cancelled")] == [a]
    assert [j["id"] for j in cli.json("member_b", "jobs", "list", "--all", "--project", "pa")] == []


def test_show_and_cancel_only_within_the_project(cli: Cli) -> None:
    a = submitted_id(cli.ok("member_a", "jobs", "submit", "--name", "mine", "--", "echo a"))
    out = cli.ok("admin_a", "jobs", "show", a)
    assert f"id: {a}" in out and "name: mine" in out and "state: pending" in out
    assert cli.json("admin_a", "jobs", "show", a)["command"] == "echo a"

    assert f"error: job '{a}' not found" in cli.refused("member_b", "jobs", "show", a)
    assert f"error: job '{a}' not found" in cli.refused("admin_b", "jobs", "cancel", a)
    assert f"error: job '{a}' not found" in cli.refused("member_b", "jobs", "logs", a)
    assert job_row(cli.world, a).state == "pending"
    assert "error: a council token may not do this" in cli.refused(
        "council", "jobs", "cancel", a
    )  # council reads, does not act

    b = submitted_id(cli.ok("member_a", "jobs", "submit", "--", "echo b"))
    with cli.world.session() as session:
        row = session.get(Job, b)
        assert row is not None
        row.state = "running"
        session.commit()
    out = cli.ok("member_a", "jobs", "cancel", a, b)
    assert out.splitlines() == [
        f"Cancelled job {a}",
        f"Cancel requested for job {b} (running; the worker stops it)",
    ]
    assert job_row(cli.world, a).state == "cancelled" and job_row(cli.world, b).cancel_requested
    # every id is tried; the ones refused are reported, one line each, and the exit code is 2
    code, out, err = cli("member_a", "jobs", "cancel", a, "j-ffffffffffff")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"error: state: job {a} is cancelled; only pending or running jobs can be cancelled",
        "error: job 'j-ffffffffffff' not found",
    ]


def test_logs_tail_and_follow(cli: Cli) -> None:
    a = submitted_id(cli.ok("member_a", "jobs", "submit", "--", "echo a"))
    assert cli.ok("member_a", "jobs", "logs", a) == ""  # nothing written yet
    log = cli.world.log_dir / f"{a}.log"
    log.write_text("one\ntwo\nthree\n")
    assert cli.ok("member_a", "jobs", "logs", a) == "one\ntwo\nthree\n"
    assert cli.ok("admin_a", "jobs", "logs", a, "--tail", "2") == "two\nthree\n"

    # --follow prints what the job writes while it runs, and returns when it has ended
    with cli.world.session() as session:
        row = session.get(Job, a)
        assert row is not None
        row.state = "running"
        session.commit()

    first_read = threading.Event()  # the job writes on only once the client has read the log once
    read_logs = ApiClient.job_logs

    def spy(api: ApiClient, job_id: str, *, tail: int | None = None) -> str:
        text = read_logs(api, job_id, tail=tail)
        first_read.set()
        return text

    cli.mp.setattr(ApiClient, "job_logs", spy)

    def run_job() -> None:
        assert first_read.wait(30)
        for word in ("four", "five"):
            time.sleep(0.3)
            with log.open("a") as file:
                file.write(word + "\n")
        with cli.world.session() as session:
            row = session.get(Job, a)
            assert row is not None
            row.state = "succeeded"
            session.commit()

    writer = threading.Thread(target=run_job)
    writer.start()
    out = cli.ok("member_a", "jobs", "logs", a, "--follow", "--tail", "1", "--interval", "0.1")
    writer.join()
    assert out == "three\nfour\nfive\n"  # returned once the job ended, with what it wrote until then
    assert cli.ok("member_a", "jobs", "logs", a, "-f") == "one\ntwo\nthree\nfour\nfive\n"  # ended: at once


# --------------------------------------------------------------------------------------- allocations


def test_allocation_request_review_and_list(cli: Cli) -> None:
    data = cli.json(
        "admin_a", "alloc", "request", "--gpu-hours", "5000", "--start", "2026-01-01", "--end", "2026-04-01",
        "--justification", "pre-training",
    )  # fmt: skip
    first = data["id"]
    assert (data["project_id"], data["state"], data["gpu_hours_requested"]) == ("pa", "requested", 5000)
    assert data["start_at"].startswith("2026-01-01T00:00:00") and data["justification"] == "pre-training"
    out = cli.ok("member_a", "alloc", "request", "--gpu-hours", "100", "--start", "2026-01-01T00:00Z",
                 "--end", "2026-02-01T00:00Z")  # fmt: skip
    second = int(out.split()[2])
    assert out.strip() == (
        f"Requested allocation {second} for pa: 100.00 GPU-hours, "
        "2026-01-01 00:00 → 2026-02-01 00:00 (requested)"
    )
    out = cli.ok("operator", "alloc", "request", "--project", "pb", "--gpu-hours", "7", "--start", "now",
                 "--end", "+30d")  # fmt: skip
    third = int(out.split()[2])

    out = cli.ok(
        "council", "alloc", "review", str(first), "amend", "--gpu-hours", "3000", "--note", "3000 of 5000"
    )
    assert out.strip() == (
        f"Amended allocation {first} for pa: 3,000.00 of 5,000.00 GPU-hours, "
        "2026-01-01 00:00 → 2026-04-01 00:00 (approved)"
    )
    assert "Approved allocation" in cli.ok("operator", "alloc", "review", str(second), "approve")
    assert cli.json("council", "alloc", "review", str(third), "reject", "--note", "no")["state"] == "rejected"
    assert "error: state: allocation" in cli.refused("council", "alloc", "review", str(first), "approve")
    assert "error: gpu_hours: approve grants as requested; use amend to change it" in cli.refused(
        "council", "alloc", "review", str(second), "approve", "--gpu-hours", "3"
    )
    assert f"error: allocation {third} not found" in cli.refused("member_a", "alloc", "show", str(third))

    show = cli.ok("member_a", "alloc", "show", str(first))
    assert "gpu_hours_granted: 3000.0" in show and "review_note: 3000 of 5000" in show
    out = cli.ok("member_a", "alloc", "list")
    lines = out.strip().splitlines()
    assert lines[0].split() == [
        "ID",
        "PROJECT",
        "STATE",
        "REQUESTED",
        "GRANTED",
        "USED",
        "REMAINING",
        "START",
        "END",
    ]
    assert [line.split()[:7] for line in lines[1:]] == [
        [str(first), "pa", "approved", "5,000.00", "3,000.00", "0.00", "3,000.00"],
        [str(second), "pa", "approved", "100.00", "100.00", "0.00", "100.00"],
    ]
    assert [a["id"] for a in cli.json("council", "alloc", "list", "--state", "rejected")] == [third]
    assert [a["id"] for a in cli.json("operator", "alloc", "list", "--project", "pb")] == [third]


# -------------------------------------------------------------------------------------------- market


def offers_on_sale(cli: Cli) -> dict[str, int]:
    """The factory's reserved 4-GPU units, a partner's on-demand ones in Taiwan, a partner's spot 1-GPU."""
    with ApiClient(cli.url, cli.world.secrets["operator"]) as api:
        api.create_provider("factory", "The AI factory", "DE", "factory")
        api.create_provider("acme", "ACME Cloud", "TW", "partner")
        start = "2026-01-01T00:00:00Z"
        ids = {
            "factory": api.publish_offer(
                "factory", shape="gpu.4xgb300", price_per_gpu_hour=3.0, kind="reserved", units=2,
                available_from=start,
            )["id"],
            "acme": api.publish_offer(
                "acme", shape="gpu.4xgb300", price_per_gpu_hour=2.5, kind="on_demand", units=10,
                available_from=start,
            )["id"],
            "spot": api.publish_offer(
                "acme", shape="gpu.1xgb300", price_per_gpu_hour=1.25, kind="spot", units=4,
                available_from=start, country="JP",
            )["id"],
        }  # fmt: skip
    return {name: int(value) for name, value in ids.items()}


def test_market_offers(cli: Cli) -> None:
    ids = offers_on_sale(cli)
    out = cli.ok("member_a", "market", "offers")
    lines = out.strip().splitlines()
    assert lines[0].split() == [
        "ID",
        "PROVIDER",
        "COUNTRY",
        "SHAPE",
        "KIND",
        "PRICE/GPU-H",
        "UNITS",
        "FROM",
        "UNTIL",
    ]
    rows = [line.split() for line in lines[1:]]
    assert [r[0] for r in rows] == [str(ids["spot"]), str(ids["acme"]), str(ids["factory"])]  # cheapest first
    assert rows[1][:7] == [str(ids["acme"]), "ACME", "Cloud", "TW", "gpu.4xgb300", "on_demand", "2.50"]
    assert [o["id"] for o in cli.json("member_a", "market", "offers", "--shape", "gpu.4xgb300")] == [
        ids["acme"],
        ids["factory"],
    ]
    assert [o["id"] for o in cli.json("member_b", "market", "offers", "--country", "tw")] == [ids["acme"]]
    assert [o["id"] for o in cli.json("council", "market", "offers", "--max-price", "2.5")] == [
        ids["spot"],
        ids["acme"],
    ]
    assert [o["id"] for o in cli.json("operator", "market", "offers", "--kind", "reserved")] == [
        ids["factory"]
    ]
    assert "error: kind: Input should be" in cli.refused("member_a", "market", "offers", "--kind", "cheap")


def test_market_book_list_and_cancel(cli: Cli) -> None:
    ids = offers_on_sale(cli)
    factory = str(ids["factory"])
    out = cli.ok(
        "member_a", "market", "book", factory, "--units", "1", "--start", "2026-01-05T10:00Z", "--end", "+2h"
    )
    first = int(out.split()[2])
    assert out.strip() == (
        f"Booked reservation {first} on offer {factory} for pa: 1 units (4 GPUs), "
        "2026-01-05 10:00 → 2026-01-05 12:00, 3.00 per GPU-hour, cost 24.00 (booked)"
    )
    data = cli.json(
        "admin_b", "market", "book", factory, "--start", "2026-01-05T11:00Z", "--end", "2026-01-06"
    )
    assert (data["project_id"], data["units"], data["gpus"], data["state"]) == ("pb", 1, 4, "booked")
    second = data["id"]
    # the offer's two units are taken from 11:00 to 12:00
    assert f"error: units: only 0 of offer {factory} free in that window, 1 asked" in cli.refused(
        "operator",
        "market",
        "book",
        factory,
        "--project",
        "pc",
        "--start",
        "2026-01-05T11:30Z",
        "--end",
        "+1h",
    )
    assert "error: end_at: must be after start_at" in cli.refused(
        "member_a", "market", "book", factory, "--start", "2026-01-05T11:00Z", "--end", "2026-01-05T10:00Z"
    )
    assert "error: project_id: a project_member token may not act on project 'pb'" in cli.refused(
        "member_a", "market", "book", factory, "--project", "pb", "--start", "2026-01-06", "--end", "+1h"
    )
    assert "error: Invalid value for '--units'" in cli.refused(
        "member_a", "market", "book", factory, "--units", "0"
    )

    out = cli.ok("member_a", "market", "reservations")
    lines = out.strip().splitlines()
    assert lines[0].split() == [
        "ID", "OFFER", "PROJECT", "UNITS", "GPUS", "START", "END", "PRICE/GPU-H", "COST", "STATE",
    ]  # fmt: skip
    assert [line.split()[:3] for line in lines[1:]] == [[str(first), factory, "pa"]]  # not pb's
    assert [r["id"] for r in cli.json("council", "market", "reservations")] == [first, second]
    assert [r["id"] for r in cli.json("operator", "market", "reservations", "--project", "pb")] == [second]

    assert f"error: reservation {first} not found" in cli.refused("member_b", "market", "cancel", str(first))
    out = cli.ok("member_a", "market", "cancel", str(first))
    assert out.startswith(f"Cancelled reservation {first} on offer {factory}") and out.strip().endswith(
        "(cancelled)"
    )
    assert f"error: state: reservation {first} is cancelled" in cli.refused(
        "member_a", "market", "cancel", str(first)
    )
    assert [r["id"] for r in cli.json("member_a", "market", "reservations", "--state", "booked")] == []
