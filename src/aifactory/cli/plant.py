"""``aifactory plant``: the rack-integration plant twin (CONTRACTS.md §6): list, show, schema, validate,
simulate, calibrate."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aifactory.cli.progress import progress_bar

if TYPE_CHECKING:
    from aifactory.plant.model import Plant
    from aifactory.plant.replications import PlantOutcome

plant_app = typer.Typer(
    help="The rack-integration plant twin: stations, operators, robots.", no_args_is_help=True
)


class PlantInputError(ValueError):
    """Bad plant command input (exit code 2)."""


PlantArg = Annotated[str, typer.Argument(help="Bundled plant name (plant list) or a YAML path.")]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override one plant field: PATH=VALUE (repeatable), e.g. stations.test.servers=4."
    ),
]
Days = Annotated[float, typer.Option("--days", help="Simulated days (the warm-up included).")]
Warmup = Annotated[
    float | None,
    typer.Option("--warmup-days", help="Days before measuring [30, or a quarter of --days if less]."),
]
Replications = Annotated[
    int, typer.Option("--replications", "-r", min=1, help="Independent runs; every KPI gets a 95 % interval.")
]
Seed = Annotated[int, typer.Option("--seed", min=0, help="Random seed (the same seed, the same numbers).")]
Workers = Annotated[int, typer.Option("--workers", "-w", min=1, help="Local worker processes.")]
Ray = Annotated[
    str | None,
    typer.Option("--ray", help="Run replications on a Ray cluster at ADDRESS ('local' starts one)."),
]
Out = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No terminal summary.")]


def _load(plant: str, overrides: list[str] | None) -> Plant:
    from aifactory.plant.loading import load_plant

    return load_plant(plant, overrides)


def check_window(days: float, warmup_days: float | None) -> float:
    """The warm-up in days, after checking both options (exit 2 on nonsense)."""
    if not (math.isfinite(days) and days > 0):
        raise PlantInputError(f"--days {days:g}: must be a number > 0")
    if days > 100 * 365:
        raise PlantInputError(f"--days {days:g}: more than a century; give at most 36500")
    warmup = min(30.0, days / 4) if warmup_days is None else warmup_days
    if not (math.isfinite(warmup) and 0 <= warmup < days):
        raise PlantInputError(f"--warmup-days {warmup:g}: must be >= 0 and less than --days {days:g}")
    return warmup


def check_out(out: Path) -> None:
    """Reject an output folder that cannot be one before simulating, not after."""
    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                raise PlantInputError(f"--out {out}: {folder} exists and is not a folder")
            return


# ------------------------------------------------------------------------------------------ catalogue


@plant_app.command("list")
def list_command() -> None:
    """List the bundled plants."""
    from aifactory.plant.loading import bundled_plants, load_plant

    table = Table("name", "site", "stations", "release", "description", title_justify="left")
    for name in bundled_plants():
        p = load_plant(name)
        site = p.site.location if p.site is not None and p.site.location else ""
        rate = f"{p.release.per_day:g}/day" if p.release.per_day else "see file"
        desc = (p.description or "").split(". ")[0]
        table.add_row(name, site, str(len(p.stations)), rate, desc)
    Console().print(table)


@plant_app.command("show")
def show_command(plant: PlantArg, overrides: SetOption = None) -> None:
    """Print a plant's YAML (as written; with --set, as validated)."""
    from aifactory.plant.loading import plant_yaml, read_plant_text

    p = _load(plant, overrides)
    sys.stdout.write(plant_yaml(p) if overrides else read_plant_text(plant)[0])


@plant_app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the plant format."""
    from aifactory.plant.model import Plant

    sys.stdout.write(json.dumps(Plant.model_json_schema(by_alias=True), indent=2) + "\n")


@plant_app.command("validate")
def validate_command(plant: PlantArg, overrides: SetOption = None) -> None:
    """Check a plant file; exit 2 naming the offending field. Prints what looks unintended."""
    from aifactory.plant.checks import plant_warnings

    p = _load(plant, overrides)
    console = Console()
    servers = sum(s.servers for s in p.stations.values())
    operators = sum(o.count for o in p.operators.values())
    robots = sum(r.count for r in p.robots.values())
    console.print(
        f"[green]ok[/green] {plant}: {len(p.stations)} stations ({servers} servers), "
        f"{len(p.operators)} operator pools ({operators} per shift), {len(p.robots)} robot fleets "
        f"({robots} robots), {len(p.items) or 1} items, {len(p.materials)} materials"
    )
    for warning in plant_warnings(p):
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


# ----------------------------------------------------------------------------------------- simulate


def replicate(
    p: Plant,
    *,
    days: float,
    warmup: float,
    replications: int,
    seed: int,
    workers: int,
    ray_address: str | None,
    quiet: bool,
    keep_first: bool = True,
    label: str = "plant",
) -> tuple[list[PlantOutcome], float]:
    """Run the replications with a progress bar; the outcomes and the wall time."""
    from aifactory.parallel import make_mapper
    from aifactory.plant.replications import jobs_for, run_replications

    jobs = jobs_for(
        p, days=days, warmup_days=warmup, replications=replications, seed=seed, keep_first=keep_first
    )
    err = Console(stderr=True)
    started = time.perf_counter()
    mapper = make_mapper(workers, ray_address) if (workers > 1 or ray_address) else None
    with progress_bar(
        err, f"[bold]{label}[/bold] {p.name}: {days:g} days", "replications", quiet=quiet
    ) as bar:
        task = bar.add_task("replications", total=replications)
        outcomes = run_replications(jobs, mapper, lambda: bar.advance(task))
    return outcomes, time.perf_counter() - started


@plant_app.command("simulate")
def simulate_command(
    plant: PlantArg,
    days: Days = 365.0,
    warmup_days: Warmup = None,
    replications: Replications = 1,
    seed: Seed = 0,
    out: Out = Path("out/plant"),
    overrides: SetOption = None,
    workers: Workers = 1,
    ray_address: Ray = None,
    records: Annotated[
        bool, typer.Option("--records/--no-records", help="Write the first replication's records as Parquet.")
    ] = True,
    html: Annotated[bool, typer.Option("--html/--no-html", help="Write report.html.")] = True,
    quiet: Quiet = False,
) -> None:
    """Simulate the plant; write DIR/kpis.json, the records as Parquet and DIR/report.html."""
    from aifactory.plant.replications import combine
    from aifactory.report.files import write_json

    p = _load(plant, overrides)
    warmup = check_window(days, warmup_days)
    check_out(out)
    outcomes, wall = replicate(
        p,
        days=days,
        warmup=warmup,
        replications=replications,
        seed=seed,
        workers=workers,
        ray_address=ray_address,
        quiet=quiet,
    )
    kpis = combine(outcomes, plant=p.name, days=days, warmup_days=warmup, seed=seed, wall_seconds=wall)
    write_json(out / "kpis.json", kpis)
    written = ["kpis.json"]
    first = outcomes[0]
    if records and first.run is not None:
        from aifactory.report.plant_files import write_records

        written += write_records(out, first.run, first.timeline)
    if html and first.run is not None:
        from aifactory.report.plant import write_plant_report

        write_plant_report(out / "report.html", p, kpis, outcomes)
        written.append("report.html")
    if not quiet:
        print_plant_summary(Console(), kpis)
        Console().print(f"wrote {', '.join(written)} in {out}/")


def _cell(x: dict[str, float], fmt: str, scale: float = 1.0) -> str:
    text = format(x["mean"] * scale, fmt)
    return f"{text} ± {format(x['ci95'] * scale, fmt)}" if x.get("ci95") else text


def print_plant_summary(console: Console, kpis: dict[str, Any]) -> None:
    """The terminal summary of a plant study."""
    runs = kpis["replications"]
    console.print(
        f"[bold]{kpis['plant']}[/bold]: {kpis['days']:g} days ({kpis['warmup_days']:g} warm-up), seed "
        f"{kpis['seed']}, {runs} replication{'s' if runs > 1 else ''}, {kpis['events']:,} events in "
        f"{kpis['wall_seconds']:.1f} s"
    )
    console.print(
        f"throughput [bold]{_cell(kpis['throughput_per_day'], '.2f')}[/bold] a day "
        f"({_cell(kpis['racks_per_week'], '.0f')} a week); "
        f"lead time {_cell(kpis['lead_time_hours'], '.1f')} h "
        f"(p90 {_cell(kpis['lead_time_p90_hours'], '.1f')} h); WIP {_cell(kpis['wip'], '.1f')}; "
        f"scrapped {_cell(kpis['scrapped'], '.1f')}"
    )
    table = Table(
        "station",
        "util %",
        "wait (h)",
        "avail %",
        "blocked %",
        "queue",
        title_justify="left",
        title="Stations, busiest first",
    )
    stations = sorted(kpis["stations"].items(), key=lambda kv: -kv[1]["utilization"]["mean"])
    for name, s in stations:
        table.add_row(
            name,
            _cell(s["utilization"], ".1f", 100),
            _cell(s["wait_hours"], ".2f"),
            _cell(s["availability"], ".1f", 100),
            _cell(s["blocked"], ".1f", 100),
            _cell(s["queue"], ".1f"),
        )
    console.print(table)
    crews = Table("operators and robots", "util %", title_justify="left")
    for group in ("operators", "robots"):
        for name, c in kpis[group].items():
            crews.add_row(f"{name} ({group})", _cell(c["utilization"], ".1f", 100))
    if crews.row_count:
        console.print(crews)
    parts = kpis["lead_time_breakdown_hours"]
    console.print(
        "lead time, hours: "
        + ", ".join(f"{k} {v['mean']:.1f}" for k, v in parts.items() if v["mean"] >= 0.05)
    )
    if runs > 1:
        console.print("± : half-width of the 95 % confidence interval over the replications")
