"""The CLI client of the operations service: ``aifactory jobs …``, ``aifactory alloc …``,
``aifactory market …`` — thin shells over :class:`aifactory.service.client.ApiClient`, with the habits of
``sbatch``/``squeue``/``scancel`` and NVIDIA's ``lep``.

The server is ``--url`` (env ``AIFACTORY_URL``, default ``http://127.0.0.1:8000``), the token ``--token``
(env ``AIFACTORY_TOKEN``). Exit codes: 0 done; 2 the request was refused (bad input here, or any 4xx
answer: the server's one-line detail is printed); 1 the server could not be reached, timed out or failed
(5xx) — worth retrying, unlike 2.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from aifactory.cli.service import ServiceInputError

if TYPE_CHECKING:  # httpx loads only when a client command runs
    from rich.table import Table

    from aifactory.service.client import ApiClient, ClientError

jobs_app = typer.Typer(
    help="Submit, list, show and cancel jobs, read their logs (like sbatch, squeue, scancel).",
    no_args_is_help=True,
)
alloc_app = typer.Typer(help="GPU-hour allocations: request, list, review.", no_args_is_help=True)
market_app = typer.Typer(
    help="The marketplace: offers of capacity, bookings (reservations).", no_args_is_help=True
)

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIME = "1h"
FINISHED = frozenset({"succeeded", "failed", "cancelled", "timed_out"})
ACTIVE = ("pending", "running")

Url = Annotated[
    str,
    typer.Option("--url", envvar="AIFACTORY_URL", help="The service's base URL.", show_envvar=True),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="AIFACTORY_TOKEN", help="API token (aif_...).", show_envvar=True, show_default=False
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the server's JSON instead of text.")]


# ------------------------------------------------------------------------------------------- parsing

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_AMOUNT = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_CLOCK = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def parse_duration(text: str, option: str = "--time") -> float:
    """Seconds in ``text``: ``90`` or ``90s`` (seconds), ``30m``, ``2h``, ``1.5d``, or sbatch's clock forms
    ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM``, ``D-HH:MM:SS``. A bare number is seconds (unlike
    sbatch, where it is minutes). Bad text raises :class:`ServiceInputError` naming ``option``."""
    value = text.strip().lower()
    amount = _AMOUNT.match(value)
    if amount is not None:
        seconds = float(amount.group(1)) * _UNITS[amount.group(2) or "s"]
    else:
        clock = _CLOCK.match(value)
        if clock is None or (clock.group(1) is None and clock.group(3) is None):
            raise ServiceInputError(
                f"{option}: {text!r} is not a duration (use 90, 30m, 2h, 1d, MM:SS, HH:MM:SS or D-HH:MM:SS)"
            )
        days = int(clock.group(1) or 0)
        fields = [int(part) for part in clock.group(2, 3, 4) if part is not None]
        if clock.group(1) is not None:  # D-H, D-H:M, D-H:M:S
            hours, minutes, secs = (*fields, 0, 0)[:3]
        elif len(fields) == 2:  # M:S
            hours, minutes, secs = 0, fields[0], fields[1]
        else:  # H:M:S
            hours, minutes, secs = fields
        later = fields[1:]
        if any(part >= 60 for part in later):
            raise ServiceInputError(f"{option}: {text!r} has minutes or seconds of 60 or more")
        seconds = float(((days * 24 + hours) * 60 + minutes) * 60 + secs)
    if seconds <= 0:
        raise ServiceInputError(f"{option}: {text!r} must be longer than zero")
    return seconds


def parse_time(
    text: str, option: str, now: datetime | None = None, after: datetime | None = None
) -> datetime:
    """An instant: ISO 8601 (``2026-01-01``, ``2026-01-01T09:00``, with ``Z`` or an offset; without one it
    is UTC), ``now``, or ``+DURATION`` (``+2h``, ``+30d``) counted from ``after`` (an end counts from its
    start), else from now."""
    value = text.strip()
    now = now or datetime.now(UTC)
    if value.lower() == "now":
        return now
    if value.startswith("+"):
        return (after or now) + timedelta(seconds=parse_duration(value[1:], option))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ServiceInputError(
            f"{option}: {text!r} is not a time (use 2026-01-01, 2026-01-01T09:00Z, now or +2h)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def command_text(words: list[str]) -> str:
    """The shell command of the words after ``--``: one word is taken as a shell command line as it is
    (``'python train.py > out.txt'``); several are quoted so that each stays one argument."""
    return words[0] if len(words) == 1 else shlex.join(words)


def _default_name(words: list[str], image: str | None) -> str:
    """A job's name when none is given, as sbatch names a job after its script: the program's file name
    (``python`` for ``python train.py``), or the image's name without registry and tag."""
    if words:
        try:
            program = shlex.split(words[0])[0] if len(words) == 1 else words[0]
        except (ValueError, IndexError):  # unbalanced quotes, or nothing but spaces
            program = words[0].strip() or "job"
    else:
        program = (image or "job").split("@", 1)[0]
    base = program.rstrip("/").rsplit("/", 1)[-1]
    return (base if words else base.split(":", 1)[0])[:200] or "job"


def age(stamp: str | None, now: datetime | None = None) -> str:
    """How long ago an ISO timestamp was, squeue-style (``45s``, ``12m``, ``3h``, ``2d``)."""
    if not stamp:
        return ""
    seconds = max(((now or datetime.now(UTC)) - datetime.fromisoformat(stamp)).total_seconds(), 0.0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _day(stamp: str | None) -> str:
    """A timestamp to the minute, in UTC (``2026-01-05 09:00``)."""
    if not stamp:
        return ""
    return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _hours(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


# ------------------------------------------------------------------------------------------ plumbing


def _check_url(url: str) -> str:
    if not re.match(r"^https?://[^/\s]+", url.strip()):
        raise ServiceInputError(f"--url: {url!r} is not an http:// or https:// URL")
    return url.strip()


@contextmanager
def _api(url: str, token: str | None) -> Iterator[ApiClient]:
    """A client of the service; a failed call ends the command with one line and its exit code."""
    from aifactory.service.client import ApiClient, ClientError

    if not token:
        raise ServiceInputError("token: give --token or set AIFACTORY_TOKEN (aifactory bootstrap makes one)")
    client = ApiClient(_check_url(url), token.strip())
    try:
        yield client
    except ClientError as exc:
        _fail(exc)
    finally:
        client.close()


def _fail(exc: ClientError) -> NoReturn:
    """A refused request (4xx) is bad input: exit 2; an unreachable or failing server: exit 1."""
    if exc.is_client_error:
        raise ServiceInputError(exc.detail)
    from rich.markup import escape

    err.print(f"[red]error:[/red] {escape(exc.detail)}", soft_wrap=True)
    raise SystemExit(1)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


def _table(*columns: str) -> Table:
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in columns:
        table.add_column(name, no_wrap=name in ("ID", "JOBID", "STATE"), overflow="fold")
    return table


def _print_table(table: Table) -> None:
    """On a terminal, fitted to its width; into a pipe or a file, each row on one line (like squeue), so
    that ``grep`` and ``awk`` see whole rows."""
    if out.is_terminal:
        out.print(table)
        return
    buffer = io.StringIO()
    Console(highlight=False, width=100_000, file=buffer, color_system=None).print(table)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines()))


def _add_row(table: Table, *cells: str) -> None:
    """A row of plain text (never read as Rich markup: names and reasons are the users')."""
    from rich.text import Text

    table.add_row(*(Text(cell) for cell in cells))


def _fields(row: dict[str, Any], keys: list[str] | None = None) -> None:
    """``key: value`` lines, like ``scontrol show job``."""
    from rich.markup import escape

    for key in keys or list(row):
        value = row.get(key)
        text = "" if value is None else json.dumps(value) if isinstance(value, list | dict) else str(value)
        out.print(f"[bold]{key}[/bold]: {escape(text)}", soft_wrap=True)


# ---------------------------------------------------------------------------------------------- jobs


@jobs_app.command("submit", context_settings={"allow_interspersed_args": False})
def jobs_submit(
    command: Annotated[
        list[str] | None,
        typer.Argument(
            help="The command, after the options (or after --): one word is a shell command line "
            "as it is ('python a.py > out'), several are run as those arguments.",
            show_default=False,
        ),
    ] = None,
    image: Annotated[
        str | None, typer.Option("--image", help="A container image instead of a command.")
    ] = None,
    gpus: Annotated[
        int | None, typer.Option("--gpus", "-G", help="GPUs, gang-scheduled (default: 1).")
    ] = None,
    shape: Annotated[str | None, typer.Option("--shape", help="A shape instead: gpu.<N>xgb300.")] = None,
    time_limit: Annotated[
        str, typer.Option("--time", "-t", help="Time limit: 3600, 30m, 2h, 1d, HH:MM:SS, D-HH:MM:SS.")
    ] = DEFAULT_TIME,
    priority: Annotated[
        int | None, typer.Option("--priority", help="Higher runs first (default: 0).")
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", "-A", help="The project (default: the token's).")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", "-J", help="Job name (default: the command's program).")
    ] = None,
    executor: Annotated[
        str | None, typer.Option("--executor", help="local, ray or simulated (default: local).")
    ] = None,
    duration: Annotated[
        str | None, typer.Option("--duration", help="Only for --executor simulated: how long it runs.")
    ] = None,
    preemptible: Annotated[
        bool, typer.Option("--preemptible", help="A spot job: runs on idle capacity, preempted first.")
    ] = False,
    reservation: Annotated[
        int | None, typer.Option("--reservation", help="Run inside this booked reservation.")
    ] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option("--idempotency-key", help="Submitting again with the same key returns the same job."),
    ] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Submit a job; prints "Submitted job j-…" (like sbatch)."""
    words = command or []
    if words and image is not None:
        raise ServiceInputError("command: give a command or --image, not both")
    if not words and image is None:
        raise ServiceInputError("command: give the command after the options (or after --), or --image")
    text = command_text(words) if words else None
    if name is None:
        name = _default_name(words, image)
    seconds = parse_duration(time_limit)
    with _api(url, token) as api:
        job, created = api.submit_job(
            command=text,
            image=image,
            gpus=gpus if gpus is not None or shape is not None else 1,
            shape=shape,
            time_limit_s=seconds,
            priority=priority,
            project_id=project,
            name=name,
            executor=executor,
            duration_s=None if duration is None else parse_duration(duration, "--duration"),
            preemptible=preemptible or None,
            reservation_id=reservation,
            idempotency_key=idempotency_key,
        )
    if as_json:
        _print_json(job)
    elif created:
        out.print(f"Submitted job {job['id']}")
    else:
        out.print(f"Job {job['id']} was already submitted with idempotency key {idempotency_key!r}")


@jobs_app.command("list")
def jobs_list(
    state: Annotated[
        str | None,
        typer.Option("--state", "-t", help="Only this state (pending, running, succeeded, failed, ...)."),
    ] = None,
    project: Annotated[str | None, typer.Option("--project", "-A", help="Only this project's.")] = None,
    show_all: Annotated[
        bool, typer.Option("--all", "-a", help="Finished jobs too (default: pending and running).")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10_000, help="At most this many, the newest.")
    ] = 1000,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List jobs like squeue: pending and running ones by default, in submission order."""
    with _api(url, token) as api:
        if state is not None or show_all:
            jobs = api.list_jobs(state=state, project=project, limit=limit)
        else:
            both = [job for s in ACTIVE for job in api.list_jobs(state=s, project=project, limit=limit)]
            jobs = sorted(both, key=lambda job: int(job["seq"]))[-limit:]
    if as_json:
        _print_json(jobs)
        return
    table = _table("JOBID", "PROJECT", "NAME", "STATE", "GPUS", "AGE", "REASON")
    now = datetime.now(UTC)
    for job in jobs:
        _add_row(
            table,
            job["id"],
            job["project_id"],
            job["name"],
            job["state"],
            str(job["gpus"]),
            age(job["submitted_at"], now),
            job["reason"],
        )
    _print_table(table)


@jobs_app.command("show")
def jobs_show(
    job_id: Annotated[str, typer.Argument(help="The job's id (j-…).", show_default=False)],
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Show a job, every field (like scontrol show job)."""
    with _api(url, token) as api:
        job = api.get_job(job_id)
    if as_json:
        _print_json(job)
    else:
        _fields(job)


@jobs_app.command("cancel")
def jobs_cancel(
    job_ids: Annotated[list[str], typer.Argument(help="Job ids (j-…).", show_default=False)],
    url: Url = DEFAULT_URL,
    token: Token = None,
) -> None:
    """Cancel jobs (like scancel): pending ones at once, running ones when the worker stops them.
    Every id is tried; exit 2 if any could not be cancelled."""
    from rich.markup import escape

    from aifactory.service.client import ClientError

    refused = 0
    with _api(url, token) as api:
        for job_id in job_ids:
            try:
                job = api.cancel_job(job_id)
            except ClientError as exc:
                if not exc.is_client_error:
                    raise
                err.print(f"[red]error:[/red] {escape(exc.detail)}", soft_wrap=True)
                refused += 1
                continue
            if job["state"] == "cancelled":
                out.print(f"Cancelled job {job['id']}")
            else:
                out.print(f"Cancel requested for job {job['id']} ({job['state']}; the worker stops it)")
    if refused:
        raise SystemExit(2)


@jobs_app.command("logs")
def jobs_logs(
    job_id: Annotated[str, typer.Argument(help="The job's id (j-…).", show_default=False)],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing what the job writes until it ends.")
    ] = False,
    tail: Annotated[int | None, typer.Option("--tail", "-n", min=1, help="Only the last N lines.")] = None,
    interval: Annotated[
        float, typer.Option("--interval", min=0.05, help="Seconds between polls with --follow.")
    ] = 1.0,
    url: Url = DEFAULT_URL,
    token: Token = None,
) -> None:
    """Print a job's log (stdout and stderr); --follow waits for more until the job has finished."""
    with _api(url, token) as api:
        if not follow:
            sys.stdout.write(api.job_logs(job_id, tail=tail))
            sys.stdout.flush()
            return
        state = api.get_job(job_id)["state"]
        text = api.job_logs(job_id)
        shown = text if tail is None else "".join(text.splitlines(keepends=True)[-tail:])
        sys.stdout.write(shown)
        sys.stdout.flush()
        seen = len(text)
        while state not in FINISHED:
            time.sleep(interval)
            state = api.get_job(job_id)["state"]  # read before the log: after the end, the log is whole
            text = api.job_logs(job_id)
            if len(text) > seen:
                sys.stdout.write(text[seen:])
                sys.stdout.flush()
            seen = max(seen, len(text))


# ---------------------------------------------------------------------------------------- allocations


def _allocation_line(row: dict[str, Any]) -> str:
    granted = row.get("gpu_hours_granted")
    hours = f"{_hours(granted)} of {_hours(row['gpu_hours_requested'])}" if granted is not None else None
    amount = hours or _hours(row["gpu_hours_requested"])
    return (
        f"allocation {row['id']} for {row['project_id']}: {amount} GPU-hours, "
        f"{_day(row['start_at'])} → {_day(row['end_at'])} ({row['state']})"
    )


@alloc_app.command("request")
def alloc_request(
    gpu_hours: Annotated[float, typer.Option("--gpu-hours", help="GPU-hours asked for.", show_default=False)],
    start: Annotated[
        str,
        typer.Option("--start", help="Start: 2026-01-01, 2026-01-01T09:00Z, now or +1d.", show_default=False),
    ],
    end: Annotated[
        str, typer.Option("--end", help="End: a time, or +DURATION counted from --start.", show_default=False)
    ],
    justification: Annotated[str, typer.Option("--justification", help="Why; the council reads it.")] = "",
    project: Annotated[
        str | None, typer.Option("--project", "-A", help="The project (default: the token's).")
    ] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Ask the council for GPU-hours over a period."""
    now = datetime.now(UTC)
    start_at = parse_time(start, "--start", now)
    end_at = parse_time(end, "--end", now, after=start_at)
    with _api(url, token) as api:
        row = api.request_allocation(
            gpu_hours=gpu_hours,
            start_at=start_at,
            end_at=end_at,
            justification=justification,
            project_id=project,
        )
    if as_json:
        _print_json(row)
    else:
        out.print(f"Requested {_allocation_line(row)}", soft_wrap=True)


@alloc_app.command("list")
def alloc_list(
    project: Annotated[str | None, typer.Option("--project", "-A", help="Only this project's.")] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="Only this state: requested, approved, rejected, expired.")
    ] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List allocations with their GPU-hours requested, granted, used and remaining."""
    with _api(url, token) as api:
        rows = api.list_allocations(project=project, state=state)
    if as_json:
        _print_json(rows)
        return
    table = _table("ID", "PROJECT", "STATE", "REQUESTED", "GRANTED", "USED", "REMAINING", "START", "END")
    for row in rows:
        granted = row["gpu_hours_granted"]
        remaining = None if granted is None else granted - row["gpu_hours_used"]
        _add_row(
            table,
            str(row["id"]),
            row["project_id"],
            row["state"],
            _hours(row["gpu_hours_requested"]),
            _hours(granted),
            _hours(row["gpu_hours_used"]),
            _hours(remaining),
            _day(row["start_at"]),
            _day(row["end_at"]),
        )
    _print_table(table)


@alloc_app.command("show")
def alloc_show(
    allocation_id: Annotated[int, typer.Argument(help="The allocation's id.", show_default=False)],
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Show an allocation, every field."""
    with _api(url, token) as api:
        row = api.get_allocation(allocation_id)
    if as_json:
        _print_json(row)
    else:
        _fields(row)


@alloc_app.command("review")
def alloc_review(
    allocation_id: Annotated[int, typer.Argument(help="The allocation's id.", show_default=False)],
    decision: Annotated[str, typer.Argument(help="approve, amend or reject.", show_default=False)],
    gpu_hours: Annotated[
        float | None, typer.Option("--gpu-hours", help="With amend: the GPU-hours granted.")
    ] = None,
    start: Annotated[str | None, typer.Option("--start", help="With amend: a new start.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="With amend: a new end.")] = None,
    note: Annotated[str | None, typer.Option("--note", help="The council's note to the project.")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Approve, amend or reject a requested allocation (council, operator)."""
    if decision not in ("approve", "amend", "reject"):
        raise ServiceInputError(f"decision: {decision!r} is not one of approve, amend, reject")
    now = datetime.now(UTC)
    start_at = None if start is None else parse_time(start, "--start", now)
    with _api(url, token) as api:
        row = api.review_allocation(
            allocation_id,
            decision,
            gpu_hours=gpu_hours,
            start_at=start_at,
            end_at=None if end is None else parse_time(end, "--end", now, after=start_at),
            note=note,
        )
    if as_json:
        _print_json(row)
    else:
        verb = {"approve": "Approved", "amend": "Amended", "reject": "Rejected"}[decision]
        out.print(f"{verb} {_allocation_line(row)}", soft_wrap=True)


# --------------------------------------------------------------------------------------------- market


@market_app.command("offers")
def market_offers(
    shape: Annotated[str | None, typer.Option("--shape", help="Only this shape, e.g. gpu.8xgb300.")] = None,
    country: Annotated[str | None, typer.Option("--country", help="Only in this country (ISO-2).")] = None,
    max_price: Annotated[
        float | None, typer.Option("--max-price", help="At most this price per GPU-hour.")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="on_demand, reserved or spot.")] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="Only this provider's.")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Offers of capacity, cheapest first (spot prices are the price now)."""
    with _api(url, token) as api:
        offers = api.list_offers(
            shape=shape, country=country, max_price=max_price, kind=kind, provider_id=provider
        )
    if as_json:
        _print_json(offers)
        return
    table = _table("ID", "PROVIDER", "COUNTRY", "SHAPE", "KIND", "PRICE/GPU-H", "UNITS", "FROM", "UNTIL")
    for offer in offers:
        _add_row(
            table,
            str(offer["id"]),
            str(offer.get("provider_name") or offer["provider_id"]),
            offer["country"],
            offer["shape"],
            offer["kind"],
            f"{offer['price_per_gpu_hour']:.2f}",
            str(offer["units"]),
            _day(offer.get("available_from")),
            _day(offer.get("available_until")),
        )
    _print_table(table)


def _reservation_line(row: dict[str, Any]) -> str:
    return (
        f"reservation {row['id']} on offer {row['offer_id']} for {row['project_id']}: {row['units']} units "
        f"({row['gpus']} GPUs), {_day(row['start_at'])} → {_day(row['end_at'])}, "
        f"{row['price_per_gpu_hour']:.2f} per GPU-hour, cost {row['cost']:,.2f} ({row['state']})"
    )


@market_app.command("book")
def market_book(
    offer_id: Annotated[int, typer.Argument(help="The offer's id (see market offers).", show_default=False)],
    units: Annotated[int, typer.Option("--units", min=1, help="Units of the offer's shape.")] = 1,
    start: Annotated[
        str,
        typer.Option(
            "--start",
            help="Start: 2026-01-01T09:00Z, now or +DURATION from now (default now).",
            show_default=False,
        ),
    ] = "now",
    end: Annotated[
        str,
        typer.Option(
            "--end", help="End: a time, or +DURATION counted from --start (default +1h).", show_default=False
        ),
    ] = ("+1h"),
    project: Annotated[
        str | None, typer.Option("--project", "-A", help="The project (default: the token's).")
    ] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Book capacity: reserve units of an offer over a period (refused when too few are free)."""
    now = datetime.now(UTC)
    start_at = parse_time(start, "--start", now)
    end_at = parse_time(end, "--end", now, after=start_at)
    with _api(url, token) as api:
        row = api.book(offer_id, units=units, start_at=start_at, end_at=end_at, project_id=project)
    if as_json:
        _print_json(row)
    else:
        out.print(f"Booked {_reservation_line(row)}", soft_wrap=True)


@market_app.command("reservations")
def market_reservations(
    project: Annotated[str | None, typer.Option("--project", "-A", help="Only this project's.")] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="Only this state (booked, cancelled, ...).")
    ] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List bookings (project roles: their project's)."""
    with _api(url, token) as api:
        rows = api.list_reservations(project_id=project, state=state)
    if as_json:
        _print_json(rows)
        return
    table = _table("ID", "OFFER", "PROJECT", "UNITS", "GPUS", "START", "END", "PRICE/GPU-H", "COST", "STATE")
    for row in rows:
        _add_row(
            table,
            str(row["id"]),
            str(row["offer_id"]),
            row["project_id"],
            str(row["units"]),
            str(row["gpus"]),
            _day(row["start_at"]),
            _day(row["end_at"]),
            f"{row['price_per_gpu_hour']:.2f}",
            f"{row['cost']:,.2f}",
            row["state"],
        )
    _print_table(table)


@market_app.command("cancel")
def market_cancel(
    reservation_id: Annotated[int, typer.Argument(help="The reservation's id.", show_default=False)],
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Cancel a booking."""
    with _api(url, token) as api:
        row = api.cancel_reservation(reservation_id)
    if as_json:
        _print_json(row)
    else:
        out.print(f"Cancelled {_reservation_line(row)}", soft_wrap=True)
