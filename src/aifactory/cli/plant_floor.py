"""``aifactory plant state``: the floor at a time, from a log of shop-floor events (docs/plant.md)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aifactory.cli.plant import Out, PlantArg, PlantInputError, Quiet, SetOption, _load, check_out, plant_app

MAX_LOG_BYTES = 2 * 2**30


def check_events(events: Path) -> None:
    """Reject an event log that is not there or too large, before any work (exit 2)."""
    if not events.is_file():
        raise PlantInputError(f"--events {events}: no such file")
    if events.stat().st_size > MAX_LOG_BYTES:
        raise PlantInputError(f"--events {events}: larger than {MAX_LOG_BYTES // 2**30} GB")


@plant_app.command("state")
def state_command(
    plant: PlantArg,
    events: Annotated[Path, typer.Option("--events", help="The shop-floor event log (JSON lines).")],
    now: Annotated[
        float | None, typer.Option("--now", help="Hours from the plant's hour 0 [the last event's time].")
    ] = None,
    out: Out = Path("out/plant-state"),
    overrides: SetOption = None,
    quiet: Quiet = False,
) -> None:
    """Rebuild the floor at --now from the event log: units and where they are, stations, who is on
    shift; count and name every event refused. Writes DIR/state.json."""
    from aifactory.plant.events import floor_state
    from aifactory.report.files import write_json

    p = _load(plant, overrides)
    if now is not None and not (math.isfinite(now) and now >= 0):
        raise PlantInputError(f"--now {now:g}: must be a number of hours >= 0")
    check_events(events)
    check_out(out)
    with events.open(encoding="utf-8", errors="replace") as stream:
        state = floor_state(p, stream, now)
    summary = state.summary(p)
    write_json(out / "state.json", summary)
    if not quiet:
        print_state(Console(), summary)
        Console().print(f"wrote state.json in {out}/")


def print_state(console: Console, s: dict[str, Any]) -> None:
    console.print(
        f"at {s['now_hours']:g} h: {s['events_accepted']:,} events applied, {s['events_rejected']:,} refused"
        + (
            " (" + ", ".join(f"{k}: {v}" for k, v in s["rejected_by_reason"].items()) + ")"
            if s["events_rejected"]
            else ""
        )
    )
    for first in s["first_rejected"][:3]:
        console.print(f"  line {first['line']}: {first['reason']}")
    table = Table(title="Units")
    for column in ("item", "released", "in plant", "finished", "scrapped"):
        table.add_column(column, justify="left" if column == "item" else "right")
    for item, c in s["units"].items():
        table.add_row(item, *(f"{c[k]:,}" for k in ("released", "in_plant", "finished", "scrapped")))
    console.print(table)
    table = Table(title="Stations")
    for column in ("station", "waiting", "in process", "servers", "down"):
        table.add_column(column, justify="left" if column == "station" else "right")
    for name, st in s["stations"].items():
        down = ", ".join(map(str, st["down"])) or "—"
        table.add_row(name, str(st["waiting"]), str(st["in_process"]), str(st["servers"]), down)
    console.print(table)
    if s["on_duty"]:
        console.print("on duty: " + ", ".join(f"{k} {v}" for k, v in s["on_duty"].items()))
