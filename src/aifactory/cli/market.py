"""``aifactory market offers|book|reservations|cancel``: the marketplace's offers and bookings (see
:mod:`aifactory.cli.client` for the URL, token and exit codes)."""

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
    new_table,
    out,
    parse_time,
    print_json,
    print_table,
)

if TYPE_CHECKING:
    pass

market_app = typer.Typer(
    help="The marketplace: offers of capacity, bookings (reservations).", no_args_is_help=True
)


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
    finite_number(max_price, "--max-price")
    with api_session(url, token) as api:
        offers = api.list_offers(
            shape=shape, country=country, max_price=max_price, kind=kind, provider_id=provider
        )
    if as_json:
        print_json(offers)
        return
    table = new_table("ID", "PROVIDER", "COUNTRY", "SHAPE", "KIND", "PRICE/GPU-H", "UNITS", "FROM", "UNTIL")
    for offer in offers:
        add_row(
            table,
            str(offer["id"]),
            str(offer.get("provider_name") or offer["provider_id"]),
            offer["country"],
            offer["shape"],
            offer["kind"],
            f"{offer['price_per_gpu_hour']:.2f}",
            str(offer["units"]),
            day(offer.get("available_from")),
            day(offer.get("available_until")),
        )
    print_table(table)


def reservation_line(row: dict[str, Any]) -> str:
    return (
        f"reservation {row['id']} on offer {row['offer_id']} for {row['project_id']}: {row['units']} units "
        f"({row['gpus']} GPUs), {day(row['start_at'])} → {day(row['end_at'])}, "
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
    with api_session(url, token) as api:
        row = api.book(offer_id, units=units, start_at=start_at, end_at=end_at, project_id=project)
    if as_json:
        print_json(row)
    else:
        out.print(f"Booked {reservation_line(row)}", soft_wrap=True)


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
    with api_session(url, token) as api:
        rows = api.list_reservations(project_id=project, state=state)
    if as_json:
        print_json(rows)
        return
    table = new_table(
        "ID", "OFFER", "PROJECT", "UNITS", "GPUS", "START", "END", "PRICE/GPU-H", "COST", "STATE"
    )
    for row in rows:
        add_row(
            table,
            str(row["id"]),
            str(row["offer_id"]),
            row["project_id"],
            str(row["units"]),
            str(row["gpus"]),
            day(row["start_at"]),
            day(row["end_at"]),
            f"{row['price_per_gpu_hour']:.2f}",
            f"{row['cost']:,.2f}",
            row["state"],
        )
    print_table(table)


@market_app.command("cancel")
def market_cancel(
    reservation_id: Annotated[int, typer.Argument(help="The reservation's id.", show_default=False)],
    url: Url = DEFAULT_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Cancel a booking."""
    with api_session(url, token) as api:
        row = api.cancel_reservation(reservation_id)
    if as_json:
        print_json(row)
    else:
        out.print(f"Cancelled {reservation_line(row)}", soft_wrap=True)
