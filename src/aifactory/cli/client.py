"""What the CLI client of the operations service shares — ``aifactory jobs …`` (:mod:`aifactory.cli.jobs`),
``aifactory alloc …`` (:mod:`aifactory.cli.alloc`), ``aifactory market …`` (:mod:`aifactory.cli.market`):
thin shells over :class:`aifactory.service.client.ApiClient`, with the habits of
``sbatch``/``squeue``/``scancel`` and NVIDIA's ``lep``.

The server is ``--url`` (env ``AIFACTORY_URL``, default ``http://127.0.0.1:8000``), the token ``--token``
(env ``AIFACTORY_TOKEN``). Exit codes: 0 done; 2 the request was refused (bad input here, or any 4xx
answer: the server's one-line detail is printed); 1 the server could not be reached, timed out or failed
(5xx) — worth retrying, unlike 2.
"""

from __future__ import annotations

import io
import json
import math
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from aifactory.cli.service_options import ServiceInputError

if TYPE_CHECKING:  # httpx loads only when a client command runs
    from rich.table import Table

    from aifactory.service.client import ApiClient, ClientError

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)

DEFAULT_URL = "http://127.0.0.1:8000"
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
        try:
            return (after or now) + timedelta(seconds=parse_duration(value[1:], option))
        except OverflowError:
            raise ServiceInputError(f"{option}: {text!r} is too far from now") from None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ServiceInputError(
            f"{option}: {text!r} is not a time (use 2026-01-01, 2026-01-01T09:00Z, now or +2h)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def age(stamp: str | None, now: datetime | None = None) -> str:
    """How long ago an ISO timestamp was, squeue-style (``45s``, ``12m``, ``3h``, ``2d``)."""
    if not stamp:
        return ""
    seconds = max(((now or datetime.now(UTC)) - datetime.fromisoformat(stamp)).total_seconds(), 0.0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def day(stamp: str | None) -> str:
    """A timestamp to the minute, in UTC (``2026-01-05 09:00``)."""
    if not stamp:
        return ""
    return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def finite_number(value: float | None, option: str) -> float | None:
    """``value`` unless it is NaN or infinite (a request cannot carry those): ServiceInputError naming
    ``option``."""
    if value is not None and not math.isfinite(value):
        raise ServiceInputError(f"{option}: not a finite number ({value})")
    return value


def hours_text(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


# ------------------------------------------------------------------------------------------ plumbing


def check_url(url: str) -> str:
    if not re.match(r"^https?://[^/\s]+", url.strip()):
        raise ServiceInputError(f"--url: {url!r} is not an http:// or https:// URL")
    return url.strip()


@contextmanager
def api_session(url: str, token: str | None) -> Iterator[ApiClient]:
    """A client of the service; a failed call ends the command with one line and its exit code."""
    from aifactory.service.client import ApiClient, ClientError

    if not token:
        raise ServiceInputError("token: give --token or set AIFACTORY_TOKEN (aifactory bootstrap makes one)")
    client = ApiClient(check_url(url), token.strip())
    try:
        yield client
    except ClientError as exc:
        fail(exc)
    finally:
        client.close()


def fail(exc: ClientError) -> NoReturn:
    """A refused request (4xx) is bad input: exit 2; an unreachable or failing server: exit 1."""
    if exc.is_client_error:
        raise ServiceInputError(exc.detail)
    from rich.markup import escape

    err.print(f"[red]error:[/red] {escape(exc.detail)}", soft_wrap=True)
    raise SystemExit(1)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


def new_table(*columns: str) -> Table:
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in columns:
        table.add_column(name, no_wrap=name in ("ID", "JOBID", "STATE"), overflow="fold")
    return table


def print_table(table: Table) -> None:
    """On a terminal, fitted to its width; into a pipe or a file, each row on one line (like squeue), so
    that ``grep`` and ``awk`` see whole rows."""
    if out.is_terminal:
        out.print(table)
        return
    buffer = io.StringIO()
    Console(highlight=False, width=100_000, file=buffer, color_system=None).print(table)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines()))


def add_row(table: Table, *cells: str) -> None:
    """A row of plain text (never read as Rich markup: names and reasons are the users')."""
    from rich.text import Text

    table.add_row(*(Text(cell) for cell in cells))


def print_fields(row: dict[str, Any], keys: list[str] | None = None) -> None:
    """``key: value`` lines, like ``scontrol show job``."""
    from rich.markup import escape

    for key in keys or list(row):
        value = row.get(key)
        text = "" if value is None else json.dumps(value) if isinstance(value, list | dict) else str(value)
        out.print(f"[bold]{key}[/bold]: {escape(text)}", soft_wrap=True)


# ---------------------------------------------------------------------------------------------- jobs
