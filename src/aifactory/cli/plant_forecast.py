"""``aifactory plant forecast`` and ``plant backtest``: when will the open racks ship, from the floor
rebuilt from a shop-floor log, and how good such forecasts have been on a log (docs/plant.md)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aifactory.cli.plant import (
    Out,
    PlantArg,
    PlantInputError,
    Quiet,
    Seed,
    SetOption,
    Workers,
    _load,
    check_out,
    plant_app,
)
from aifactory.cli.plant_floor import check_events
from aifactory.cli.progress import progress_bar

if TYPE_CHECKING:
    from aifactory.plant.forecast import Mapper

Events = Annotated[Path, typer.Option("--events", help="The shop-floor event log (JSON lines).")]
ForecastReplications = Annotated[
    int, typer.Option("--replications", "-r", min=2, max=10_000, help="Warm-started runs per forecast.")
]
Horizon = Annotated[
    float, typer.Option("--horizon-days", help="Days after the cut-off a run goes on at most.")
]
OpenOnly = Annotated[
    bool,
    typer.Option(
        "--open-only",
        help="Run only the open units (no new releases after the cut-off): faster, a little optimistic.",
    ),
]


def _check(events: Path, horizon_days: float) -> None:
    check_events(events)
    if not (math.isfinite(horizon_days) and 0 < horizon_days <= 3650):
        raise PlantInputError(f"--horizon-days {horizon_days:g}: must be > 0 and at most 3650")


def _mapper(workers: int) -> Mapper | None:
    from aifactory.parallel import make_mapper

    return make_mapper(workers) if workers > 1 else None


@plant_app.command("forecast")
def forecast_command(
    plant: PlantArg,
    events: Events,
    now: Annotated[
        float | None, typer.Option("--now", help="Hours from the plant's hour 0 [the last event's time].")
    ] = None,
    replications: ForecastReplications = 30,
    seed: Seed = 0,
    horizon_days: Horizon = 28.0,
    open_only: OpenOnly = False,
    workers: Workers = 1,
    out: Out = Path("out/plant-forecast"),
    overrides: SetOption = None,
    quiet: Quiet = False,
) -> None:
    """Rebuild the floor at --now from the event log and forecast when each open unit and order will be
    done (P10 / P50 / P90) by replications of the twin started from it. Writes DIR/forecast.json,
    DIR/forecast.csv and DIR/report.html."""
    from aifactory.plant.events import floor_state
    from aifactory.plant.forecast import forecast
    from aifactory.report.files import write_json
    from aifactory.report.plant_forecast import write_forecast_csv, write_forecast_report

    p = _load(plant, overrides)
    if now is not None and not (math.isfinite(now) and now >= 0):
        raise PlantInputError(f"--now {now:g}: must be a number of hours >= 0")
    _check(events, horizon_days)
    check_out(out)
    with events.open(encoding="utf-8", errors="replace") as stream:
        state = floor_state(p, stream, now)
    err = Console(stderr=True)
    started = time.perf_counter()
    with progress_bar(err, f"[bold]forecast[/bold] {p.name} at {state.now:g} h", "runs", quiet=quiet) as bar:
        task = bar.add_task("runs", total=replications)
        fc = forecast(
            p, state, replications=replications, seed=seed, horizon_hours=horizon_days * 24.0,
            new_releases=not open_only, mapper=_mapper(workers), on_done=lambda: bar.advance(task),
        )  # fmt: skip
    data = fc.to_json()
    data.update(
        {
            "plant": p.name,
            "seed": seed,
            "new_releases": not open_only,
            "events_accepted": state.accepted,
            "events_rejected": len(state.rejected),
            "wall_seconds": round(time.perf_counter() - started, 3),
        }
    )
    write_json(out / "forecast.json", data)
    write_forecast_csv(out / "forecast.csv", data)
    write_forecast_report(out / "report.html", p, data, state.summary(p))
    if not quiet:
        print_forecast(Console(), data)
        Console().print(f"wrote forecast.json, forecast.csv and report.html in {out}/")


def _h(x: float | None) -> str:
    return "after horizon" if x is None else f"{x:,.1f}"


def print_forecast(console: Console, d: dict[str, Any], rows: int = 12) -> None:
    console.print(
        f"{d['open_units']:,} open units at {d['now_hours']:g} h, {d['replications']} runs "
        f"({d['events_rejected']:,} events refused)"
    )
    table = Table(title="Orders: when the last open rack is done (hours from hour 0)")
    for column in ("order", "open", "P10", "P50", "P90", "done in horizon", "a rack scrapped"):
        table.add_column(column, justify="left" if column == "order" else "right")
    for r in d["orders"][:rows]:
        table.add_row(
            r["order"], str(r["open_units"]), _h(r["p10_hours"]), _h(r["p50_hours"]), _h(r["p90_hours"]),
            f"{r['done_share']:.0%}", f"{r['short_share']:.0%}",
        )  # fmt: skip
    if d["orders"]:
        console.print(table)
    if len(d["orders"]) > rows:
        console.print(f"… and {len(d['orders']) - rows} more orders in forecast.csv")
    units = sorted(
        (u for u in d["units"] if u["p50_hours"] is not None), key=lambda u: (u["p50_hours"], u["unit"])
    )
    table = Table(title="The next open units to be done (hours from hour 0)")
    for column in ("unit", "item", "where", "P10", "P50", "P90"):
        table.add_column(column, justify="left" if column in ("item", "where") else "right")
    for u in units[:rows]:
        where = f"{u['station'] or 'door'} ({u['status']})"
        table.add_row(
            str(u["unit"]), u["item"], where, _h(u["p10_hours"]), _h(u["p50_hours"]), _h(u["p90_hours"])
        )
    if units:
        console.print(table)


@plant_app.command("backtest")
def backtest_command(
    plant: PlantArg,
    events: Events,
    cutoffs: Annotated[
        list[float] | None,
        typer.Option("--cutoff", help="A cut-off, hours (repeatable) [--cutoffs evenly inside the log]."),
    ] = None,
    n_cutoffs: Annotated[
        int, typer.Option("--cutoffs", min=1, max=100, help="Cut-offs when none given.")
    ] = 4,
    replications: ForecastReplications = 30,
    seed: Seed = 0,
    horizon_days: Horizon = 28.0,
    open_only: OpenOnly = False,
    workers: Workers = 1,
    out: Out = Path("out/plant-backtest"),
    overrides: SetOption = None,
    quiet: Quiet = False,
) -> None:
    """Replay the log to several cut-offs, forecast from each, and score the forecasts against what the
    log says happened: mean absolute error of P50, bias, coverage of P10–P90. Writes DIR/backtest.json
    and DIR/backtest.html."""
    from aifactory.plant.backtest import backtest, default_cutoffs, log_span
    from aifactory.report.files import write_json
    from aifactory.report.plant_forecast import write_backtest_report

    p = _load(plant, overrides)
    _check(events, horizon_days)
    for c in cutoffs or []:
        if not (math.isfinite(c) and c >= 0):
            raise PlantInputError(f"--cutoff {c:g}: must be a number of hours >= 0")
    check_out(out)
    lines = events.read_text(encoding="utf-8", errors="replace").splitlines()
    first, last = log_span(lines)
    if not math.isfinite(first):
        raise PlantInputError(f"--events {events}: no event with a time")
    cuts = sorted(cutoffs) if cutoffs else default_cutoffs(first, last, n_cutoffs)
    err = Console(stderr=True)
    started = time.perf_counter()
    with progress_bar(
        err, f"[bold]backtest[/bold] {p.name}: {len(cuts)} cut-offs", "runs", quiet=quiet
    ) as bar:
        task = bar.add_task("runs", total=replications * len(cuts))
        result = backtest(
            p, lines, cuts, replications=replications, seed=seed, horizon_hours=horizon_days * 24.0,
            new_releases=not open_only, mapper=_mapper(workers), on_done=lambda: bar.advance(task),
        )  # fmt: skip
    result["wall_seconds"] = round(time.perf_counter() - started, 3)
    write_json(out / "backtest.json", result)
    write_backtest_report(out / "backtest.html", p, result)
    if not quiet:
        print_backtest(Console(), result)
        Console().print(f"wrote backtest.json and backtest.html in {out}/")


def print_backtest(console: Console, r: dict[str, Any]) -> None:
    table = Table(title=f"Forecast against the log ({r['replications']} runs per cut-off)")
    for column in ("cut-off h", "open", "scored", "censored", "MAE P50 h", "bias h", "P10–P90 coverage"):
        table.add_column(column, justify="right")

    def cells(s: dict[str, Any]) -> list[str]:
        mae, bias, cov = s["mae_p50_hours"], s["bias_hours"], s["coverage_p10_p90"]
        return [
            str(s["scored"]),
            "—" if mae is None else f"{mae:.2f}",
            "—" if bias is None else f"{bias:+.2f}",
            "—" if cov is None else f"{cov:.0%}",
        ]

    for c in r["cutoffs"]:
        scored, *rest = cells(c)
        table.add_row(f"{c['now_hours']:g}", str(c["open_units"]), scored, str(c["censored"]), *rest)
    scored, *rest = cells(r["overall"])
    table.add_row("all", "", scored, "", *rest)
    console.print(table)
