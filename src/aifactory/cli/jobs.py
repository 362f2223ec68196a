"""``aifactory jobs submit|list|show|cancel|logs``: jobs on the operations service, with the habits of
``sbatch``, ``squeue`` and ``scancel`` (see :mod:`aifactory.cli.client` for the URL, token and exit codes)."""

from __future__ import annotations

import shlex
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from aifactory.cli.client import (
    DEFAULT_URL,
    AsJson,
    Token,
    Url,
    add_row,
    age,
    api_session,
    err,
    new_table,
    out,
    parse_duration,
    print_fields,
    print_json,
    print_table,
)
from aifactory.cli.service_options import ServiceInputError

if TYPE_CHECKING:
    pass

jobs_app = typer.Typer(
    help="Submit, list, show and cancel jobs, read their logs (like sbatch, squeue, scancel).",
    no_args_is_help=True,
)

DEFAULT_TIME = "1h"
FINISHED = frozenset({"succeeded", "failed", "cancelled", "timed_out"})
ACTIVE = ("pending", "running")


def command_text(words: list[str]) -> str:
    """The shell command of the words after ``--``: one word is taken as a shell command line as it is
    (``'python train.py > out.txt'``); several are quoted so that each stays one argument."""
    return words[0] if len(words) == 1 else shlex.join(words)


def default_name(words: list[str], image: str | None) -> str:
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
        name = default_name(words, image)
    seconds = parse_duration(time_limit)
    with api_session(url, token) as api:
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
        print_json(job)
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
    with api_session(url, token) as api:
        if state is not None or show_all:
            jobs = api.list_jobs(state=state, project=project, limit=limit)
        else:
            both = [job for s in ACTIVE for job in api.list_jobs(state=s, project=project, limit=limit)]
            jobs = sorted(both, key=lambda job: int(job["seq"]))[-limit:]
    if as_json:
        print_json(jobs)
        return
    table = new_table("JOBID", "PROJECT", "NAME", "STATE", "GPUS", "AGE", "REASON")
    now = datetime.now(UTC)
    for job in jobs:
        add_row(
            table,
            job["id"],
            job["project_id"],
            job["name"],
            job["state"],
            str(job["gpus"]),
            age(job["submitted_at"], now),
            job["reason"],
        )
    print_table(table)


@jobs_app.command("show")
def jobs_show(
    job_id: Annotated[str, typer.Argument(help="The job's id (j-…).", show_default=False)],
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Show a job, every field (like scontrol show job)."""
    with api_session(url, token) as api:
        job = api.get_job(job_id)
    if as_json:
        print_json(job)
    else:
        print_fields(job)


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
    with api_session(url, token) as api:
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
    with api_session(url, token) as api:
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
