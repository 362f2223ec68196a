"""``aifactory alloc request|list|show|review``: GPU-hour allocations, asked by projects and reviewed by
the council (see :mod:`aifactory.cli.client` for the URL, token and exit codes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aifactory.cli.client import (
    DEFAULT_URL,
    AsJson,
    Token,
    Url,
    add_row,
    api_session,
    day,
    finite_number,
    hours_text,
    new_table,
    out,
    parse_time,
    print_fields,
    print_json,
    print_table,
)
from aifactory.cli.service_options import ServiceInputError

if TYPE_CHECKING:
    pass

alloc_app = typer.Typer(help="GPU-hour allocations: request, list, review.", no_args_is_help=True)


def allocation_line(row: dict[str, Any]) -> str:
    granted = row.get("gpu_hours_granted")
    hours = (
        f"{hours_text(granted)} of {hours_text(row['gpu_hours_requested'])}" if granted is not None else None
    )
    amount = hours or hours_text(row["gpu_hours_requested"])
    return (
        f"allocation {row['id']} for {row['project_id']}: {amount} GPU-hours, "
        f"{day(row['start_at'])} → {day(row['end_at'])} ({row['state']})"
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
    finite_number(gpu_hours, "--gpu-hours")
    now = datetime.now(UTC)
    start_at = parse_time(start, "--start", now)
    end_at = parse_time(end, "--end", now, after=start_at)
    with api_session(url, token) as api:
        row = api.request_allocation(
            gpu_hours=gpu_hours,
            start_at=start_at,
            end_at=end_at,
            justification=justification,
            project_id=project,
        )
    if as_json:
        print_json(row)
    else:
        out.print(f"Requested {allocation_line(row)}", soft_wrap=True)


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
    with api_session(url, token) as api:
        rows = api.list_allocations(project=project, state=state)
    if as_json:
        print_json(rows)
        return
    table = new_table("ID", "PROJECT", "STATE", "REQUESTED", "GRANTED", "USED", "REMAINING", "START", "END")
    for row in rows:
        granted = row["gpu_hours_granted"]
        remaining = None if granted is None else granted - row["gpu_hours_used"]
        add_row(
            table,
            str(row["id"]),
            row["project_id"],
            row["state"],
            hours_text(row["gpu_hours_requested"]),
            hours_text(granted),
            hours_text(row["gpu_hours_used"]),
            hours_text(remaining),
            day(row["start_at"]),
            day(row["end_at"]),
        )
    print_table(table)


@alloc_app.command("show")
def alloc_show(
    allocation_id: Annotated[int, typer.Argument(help="The allocation's id.", show_default=False)],
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Show an allocation, every field."""
    with api_session(url, token) as api:
        row = api.get_allocation(allocation_id)
    if as_json:
        print_json(row)
    else:
        print_fields(row)


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
    finite_number(gpu_hours, "--gpu-hours")
    now = datetime.now(UTC)
    start_at = None if start is None else parse_time(start, "--start", now)
    with api_session(url, token) as api:
        row = api.review_allocation(
            allocation_id,
            decision,
            gpu_hours=gpu_hours,
            start_at=start_at,
            end_at=None if end is None else parse_time(end, "--end", now, after=start_at),
            note=note,
        )
    if as_json:
        print_json(row)
    else:
        verb = {"approve": "Approved", "amend": "Amended", "reject": "Rejected"}[decision]
        out.print(f"{verb} {allocation_line(row)}", soft_wrap=True)


# --------------------------------------------------------------------------------------------- market
