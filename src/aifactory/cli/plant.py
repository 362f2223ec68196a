"""``aifactory plant``: the rack-integration plant twin (docs/plant.md): list, show, schema, validate,
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

from aifactory.cli.out_folder import out_folder_problem
from aifactory.cli.progress import progress_bar

if TYPE_CHECKING:
    from aifactory.plant.calibration import PlantCalibration
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
    int,
    typer.Option(
        "--replications", "-r", min=1, max=10_000, help="Independent runs; every KPI gets a 95 % interval."
    ),
]
Seed = Annotated[int, typer.Option("--seed", min=0, help="Random seed (the same seed, the same numbers).")]
Workers = Annotated[int, typer.Option("--workers", "-w", min=1, max=1024, help="Local worker processes.")]
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
    problem = out_folder_problem(out)
    if problem is not None:
        raise PlantInputError(problem)


def check_file_out(path: Path, option: str) -> None:
    """Reject a file that cannot be written before the work, not after."""
    if path.is_dir():
        raise PlantInputError(f"{option} {path}: is a folder, not a file")
    problem = out_folder_problem(path.parent)
    if problem is not None:
        raise PlantInputError(f"{option} {path}: {problem}")


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
    events_out: Annotated[
        Path | None,
        typer.Option(
            "--events-out", help="Write the first replication's shop-floor events here (JSON lines)."
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Simulate the plant; write DIR/kpis.json, the records as Parquet and DIR/report.html."""
    from aifactory.plant.replications import combine
    from aifactory.report.files import write_json

    p = _load(plant, overrides)
    warmup = check_window(days, warmup_days)
    check_out(out)
    if events_out is not None:
        check_file_out(events_out, "--events-out")
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
    if events_out is not None and first.run is not None:
        from aifactory.plant.events import events_of, to_lines

        events_out.parent.mkdir(parents=True, exist_ok=True)
        with events_out.open("w", encoding="utf-8") as stream:
            stream.writelines(to_lines(events_of(first.run)))
        written.append(str(events_out))
    if first.run is not None and (records or html):
        from aifactory.plant.joined import Joined

        joined = Joined(first.run)
        if records:
            from aifactory.report.plant_files import write_records

            written += write_records(out, first.run, first.timeline, joined)
        if html:
            from aifactory.report.plant import write_plant_report

            write_plant_report(out / "report.html", p, kpis, outcomes, joined)
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


# ---------------------------------------------------------------------------------------- calibrate


def run_calibration(
    p: Plant,
    *,
    days: float,
    warmup: float,
    replications: int,
    seed: int,
    dist: str,
    wip_limit: int | None,
    workers: int,
    ray_address: str | None,
    quiet: bool,
) -> tuple[PlantCalibration, list[PlantOutcome]]:
    """The plant run as written and kept full, with a progress bar; the calibration and the first runs."""
    from aifactory.parallel import make_mapper
    from aifactory.plant.calibration import CalibrationError, calibration_study
    from aifactory.sim.fitting import DISTRIBUTIONS

    if dist not in DISTRIBUTIONS:
        raise PlantInputError(f"--dist {dist!r}: unknown; valid: {', '.join(DISTRIBUTIONS)}")
    mapper = make_mapper(workers, ray_address) if (workers > 1 or ray_address) else None
    err = Console(stderr=True)
    with progress_bar(
        err, f"[bold]plant calibrate[/bold] {p.name}: {days:g} days", "runs", quiet=quiet
    ) as bar:
        task = bar.add_task("runs", total=2 * replications)
        try:
            cal, as_written, _ = calibration_study(
                p, days=days, warmup_days=warmup, replications=replications, seed=seed, dist=dist,
                wip_limit=wip_limit, mapper=mapper, on_done=lambda: bar.advance(task),
            )  # fmt: skip
        except CalibrationError as exc:
            raise PlantInputError(str(exc)) from None
    return cal, as_written


@plant_app.command("calibrate")
def calibrate_command(
    plant: PlantArg,
    scenario: Annotated[
        str | None, typer.Option("--scenario", help="Also write this scenario with the stage calibrated.")
    ] = None,
    stage: Annotated[
        str, typer.Option("--stage", help="The supply-twin stage the plant stands for.")
    ] = "integrate",
    days: Days = 180.0,
    warmup_days: Warmup = None,
    replications: Replications = 4,
    seed: Seed = 0,
    dist: Annotated[
        str,
        typer.Option("--dist", help="Form of the stage's cycle time: lognormal, triangular, normal, mean."),
    ] = "lognormal",
    capacity_mode: Annotated[
        str,
        typer.Option(
            "--capacity-mode", help="scale (the curve's peak becomes the capacity), constant or keep."
        ),
    ] = "scale",
    wip_limit: Annotated[
        int | None,
        typer.Option(
            "--wip-limit", min=1, max=100_000, help="Racks in progress when kept full [3 × its WIP]."
        ),
    ] = None,
    overrides: SetOption = None,
    workers: Workers = 1,
    ray_address: Ray = None,
    out: Out = Path("out/plant-calibration"),
    quiet: Quiet = False,
) -> None:
    """Calibrate a supply-twin rack-line stage from the plant: capacity, cycle-time distribution, yield.

    Writes DIR/calibration.json, DIR/stage.yaml (a scenario snippet), DIR/calibration.html and, with
    --scenario, DIR/scenario.yaml (valid for aifactory run)."""
    import yaml

    from aifactory.plant.calibration import CAPACITY_MODES
    from aifactory.report.files import write_json
    from aifactory.report.plant_calibration import write_plant_calibration_html
    from aifactory.scenario.loading import merge_stage_fields, read_scenario_text, scenario_yaml

    if capacity_mode not in CAPACITY_MODES:
        raise PlantInputError(
            f"--capacity-mode {capacity_mode!r}: unknown; valid: {', '.join(CAPACITY_MODES)}"
        )
    p = _load(plant, overrides)
    warmup = check_window(days, warmup_days)
    check_out(out)
    current = None
    if scenario is not None:  # a bad scenario or stage fails before the simulation
        merge_stage_fields(scenario, stage, {})
        from aifactory.scenario.loading import parse_yaml

        text, label = read_scenario_text(scenario)
        current = parse_yaml(text, label)["stages"][stage].get("capacity")
    cal, as_written = run_calibration(p, days=days, warmup=warmup, replications=replications, seed=seed,
                                      dist=dist, wip_limit=wip_limit, workers=workers,
                                      ray_address=ray_address,
                                      quiet=quiet)  # fmt: skip
    fields = cal.stage_fields(capacity_mode, current)
    header = (
        f"# aifactory plant calibrate {p.name}: {days:g} days ({warmup:g} warm-up), seed {seed}, "
        f"{replications} replication(s) as written and kept full ({cal.wip_limit} in progress)\n"
        f"# capacity {cal.capacity_per_day:.2f} started a day; "
        f"delivers {cal.throughput_per_day:.2f} a day as "
        f"written; yield {cal.yield_:.4f}; lead time mean {cal.lead_time_days.mean:.2f} d\n"
    )
    snippet = header + yaml.safe_dump({"stages": {stage: fields}}, sort_keys=False, allow_unicode=True)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "calibration.json", cal.to_json() | {"stage": stage, "capacity_mode": capacity_mode,
                                                          "seed": seed, "stage_fields": fields})  # fmt: skip
    (out / "stage.yaml").write_text(snippet, encoding="utf-8")
    write_plant_calibration_html(out / "calibration.html", cal, as_written, stage, snippet)
    written = ["calibration.json", "stage.yaml", "calibration.html"]
    if scenario is not None:
        merged = merge_stage_fields(scenario, stage, fields)
        (out / "scenario.yaml").write_text(header + scenario_yaml(merged), encoding="utf-8")
        written.append("scenario.yaml")
    if quiet:
        return
    console = Console()
    s = cal.lead_time_days
    console.print(
        f"[bold]{p.name}[/bold] → stage [bold]{stage}[/bold]: "
        f"capacity [bold]{cal.capacity_per_day:.2f}[/bold] racks started a day "
        f"(kept at {cal.wip_limit} in progress); as written {cal.throughput_per_day:.2f} a "
        f"day; yield {cal.yield_:.4f}"
    )
    console.print(
        f"lead time {s.mean:.2f} d (p10 {s.quantiles['p10']:.2f}, p90 {s.quantiles['p90']:.2f}) over "
        f"{s.count:,} racks; cycle_time_days = {fields['cycle_time_days']}"
    )
    console.print(f"wrote {', '.join(written)} in {out}/")
