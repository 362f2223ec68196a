"""The ``aifactory`` command: thin Typer shells over the core's use-case functions.

Exit codes: 0 success, 2 bad input (one line naming the file, field and reason), 1 internal error.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from aifactory.scenario.defaults import DEFAULT_SCENARIO

if TYPE_CHECKING:  # heavy modules load lazily so that the CLI starts fast
    from aifactory.scenario.model import Scenario
    from aifactory.supply.montecarlo import MonteCarlo
    from aifactory.supply.series import Series
import aifactory.cli.plant_design
import aifactory.cli.plant_floor
import aifactory.cli.plant_follow
import aifactory.cli.plant_forecast  # noqa: F401  (registers `plant forecast` and `plant backtest`)
from aifactory.cli.alloc import alloc_app
from aifactory.cli.fab import FabInputError, fab_app
from aifactory.cli.factory import FactoryInputError, factory_app
from aifactory.cli.jobs import jobs_app
from aifactory.cli.market import market_app
from aifactory.cli.out_folder import out_folder_problem
from aifactory.cli.plan import PlanCommandError, compare_command, plan_command
from aifactory.cli.plant import PlantInputError, plant_app
from aifactory.cli.progress import progress_bar
from aifactory.cli.replay import ReplayInputError, replay_command
from aifactory.cli.service import bootstrap_command, db_app, serve_command
from aifactory.cli.service_options import ServiceInputError
from aifactory.cli.usage import click_exceptions, usage_error
from aifactory.cli.worker import worker_command

app = typer.Typer(
    name="aifactory",
    help="Digital twin and operations platform for AI infrastructure, from wafer to workload.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
scenario_app = typer.Typer(
    help="List, show, validate scenarios; print the JSON Schema.", no_args_is_help=True
)
supply_app = typer.Typer(
    help="The supply-chain twin (Monte Carlo of the manufacturing network).", no_args_is_help=True
)
app.add_typer(scenario_app, name="scenario")
app.add_typer(supply_app, name="supply")
app.command("replay")(replay_command)
app.add_typer(fab_app, name="fab")
app.add_typer(plant_app, name="plant")
app.add_typer(factory_app, name="factory")
app.command("plan")(plan_command)
app.command("compare")(compare_command)
app.command("serve")(serve_command)
app.command("bootstrap")(bootstrap_command)
app.command("worker")(worker_command)
app.add_typer(db_app, name="db")
app.add_typer(jobs_app, name="jobs")
app.add_typer(alloc_app, name="alloc")
app.add_typer(market_app, name="market")

console = Console()
err = Console(stderr=True)


class BadInput(ValueError):
    """Bad command-line input (exit code 2)."""


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override one scenario field: PATH=VALUE (repeatable), e.g. stages.fab.capacity=120.",
    ),
]
MAX_RUNS = 1_000_000
RunsOption = Annotated[int, typer.Option("--runs", "-n", min=1, max=MAX_RUNS, help="Monte Carlo runs.")]
SeedOption = Annotated[
    int, typer.Option("--seed", min=0, help="Random seed; the same seed gives the same numbers.")
]
MAX_WORKERS = 1024
WorkersOption = Annotated[
    int, typer.Option("--workers", "-w", min=1, max=MAX_WORKERS, help="Local worker processes.")
]
RayOption = Annotated[
    str | None, typer.Option("--ray", help="Distribute on a Ray cluster at ADDRESS ('local' starts one).")
]


# ----------------------------------------------------------------------------------------- scenario


@scenario_app.command("list")
def scenario_list() -> None:
    """List the bundled scenarios."""
    from rich.table import Table

    from aifactory.scenario.loading import bundled_names, load_scenario

    table = Table("name", "description")
    for name in bundled_names():
        s = load_scenario(name)
        table.add_row(name, s.description or "")
    console.print(table)


@scenario_app.command("show")
def scenario_show(
    scenario: Annotated[str, typer.Argument(help="Bundled name or YAML path.")] = DEFAULT_SCENARIO,
    overrides: SetOption = None,
) -> None:
    """Print a scenario's YAML (as written, or with --set overrides applied, as validated JSON)."""
    from aifactory.scenario.loading import bundled_names, bundled_text, load_scenario, read_scenario_text

    if overrides:
        s = load_scenario(scenario, overrides)
        console.print_json(s.model_dump_json(by_alias=True, exclude_none=True))
        return
    text = bundled_text(scenario) if scenario in bundled_names() else read_scenario_text(scenario)[0]
    load_scenario(scenario)
    sys.stdout.write(text)


@scenario_app.command("schema")
def scenario_schema() -> None:
    """Print the JSON Schema of the scenario format."""
    from aifactory.scenario.model import Scenario

    sys.stdout.write(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2) + "\n")


@scenario_app.command("validate")
def scenario_validate(
    scenario: Annotated[str, typer.Argument(help="Bundled name or YAML path.")],
    overrides: SetOption = None,
) -> None:
    """Check a scenario file; exit 2 with the offending field if it is invalid."""
    from aifactory.scenario.loading import load_scenario

    s = load_scenario(scenario, overrides)
    console.print(
        f"[green]ok[/green] {scenario}: {len(s.stages)} stages, {len(s.lanes)} lanes, "
        f"{len(s.destinations)} destinations, {len(s.targets)} targets, {s.horizon_days} days from {s.start}"
    )


# ------------------------------------------------------------------------------------------ supply


def _simulate(
    s: Scenario,
    *,
    runs: int,
    seed: int,
    workers: int,
    ray_address: str | None,
    deterministic: bool,
    bucket_days: int,
    quiet: bool,
) -> tuple[MonteCarlo, float]:
    from aifactory.parallel import make_mapper
    from aifactory.supply.montecarlo import run_monte_carlo

    chunks = max(workers, 1) * 4 if (workers > 1 or ray_address) else max(1, runs // 4096)
    started = time.perf_counter()
    with progress_bar(err, "[bold]supply twin[/bold]", "runs", quiet=quiet) as progress:
        task = progress.add_task("runs", total=runs)
        mc = run_monte_carlo(
            s,
            runs=runs,
            seed=seed,
            deterministic=deterministic,
            bucket_days=bucket_days,
            chunks=chunks,
            mapper=make_mapper(workers, ray_address),
            on_chunk_done=lambda n: progress.advance(task, n),
        )
    return mc, time.perf_counter() - started


def _check_out(out: Path) -> None:
    """Reject an output folder that cannot be one before simulating, not after (exit 2, not 1)."""
    problem = out_folder_problem(out)
    if problem is not None:
        raise BadInput(problem)


def _write_outputs(mc: MonteCarlo, wall: float, out: Path, *, html: bool) -> tuple[dict[str, Any], Series]:
    """Write summary.json and series.parquet (and report.html) for a study; return what was written."""
    from aifactory.report.files import write_json, write_series
    from aifactory.supply.series import build_series

    summary = mc.summary(wall_seconds=wall)
    series = build_series(mc.scenario, mc.result, mc.params)
    write_json(out / "summary.json", summary)
    write_series(out / "series.parquet", series)
    if html:
        from aifactory.report.html import write_supply_report

        write_supply_report(out / "report.html", mc.scenario, summary, series)
    return summary, series


@supply_app.command("simulate")
def supply_simulate(
    scenario: Annotated[str, typer.Argument(help="Bundled name or YAML path.")] = DEFAULT_SCENARIO,
    runs: RunsOption = 1000,
    seed: SeedOption = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out/supply"),
    overrides: SetOption = None,
    workers: WorkersOption = 1,
    ray_address: RayOption = None,
    deterministic: Annotated[
        bool, typer.Option("--deterministic", help="Use every distribution's point value (mode/mean/median).")
    ] = False,
    bucket_days: Annotated[
        int, typer.Option("--bucket-days", min=1, max=36600, help="Days per time-series bucket.")
    ] = 1,
    html: Annotated[bool, typer.Option("--html/--no-html", help="Also write report.html.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal summary.")] = False,
) -> None:
    """Run the supply twin's Monte Carlo; write summary.json and series.parquet (per day by default)."""
    from aifactory.report.terminal import print_supply_summary
    from aifactory.scenario.loading import load_scenario

    s = load_scenario(scenario, overrides)
    _check_out(out)
    mc, wall = _simulate(
        s,
        runs=runs,
        seed=seed,
        workers=workers,
        ray_address=ray_address,
        deterministic=deterministic,
        bucket_days=bucket_days,
        quiet=quiet,
    )
    summary, _ = _write_outputs(mc, wall, out, html=html)
    if not quiet:
        print_supply_summary(console, summary)
        console.print(f"wrote {out / 'summary.json'} and {out / 'series.parquet'}")


# --------------------------------------------------------------------------------------------- run


@app.command("run")
def run(
    scenario: Annotated[str, typer.Argument(help="Bundled name or YAML path.")] = DEFAULT_SCENARIO,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out"),
    runs: RunsOption = 2000,
    seed: SeedOption = 42,
    overrides: SetOption = None,
    workers: WorkersOption = 1,
    ray_address: RayOption = None,
    factory_days: Annotated[
        float, typer.Option("--factory-days", min=1, help="Days of programme demand run on each AI factory.")
    ] = 90.0,
    factory_runs: Annotated[
        int, typer.Option("--factory-runs", min=1, max=10_000, help="Monte Carlo runs of each AI factory.")
    ] = 8,
    plants: Annotated[
        list[str] | None,
        typer.Option(
            "--plant",
            help="STAGE=PLANT: that rack-line stage's capacity, cycle time and yield from the plant twin "
            "(repeatable), e.g. rack-houston=foxconn-houston.",
        ),
    ] = None,
    plant_days: Annotated[float, typer.Option("--plant-days", help="Days each plant is simulated.")] = 120.0,
    plant_replications: Annotated[
        int,
        typer.Option(
            "--plant-replications",
            min=1,
            max=10_000,
            help="Replications of each plant (as written and full).",
        ),
    ] = 2,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal summary.")] = False,
) -> None:
    """The main job: the whole chain on a scenario; prints a summary, writes report.html and summary.json."""
    from aifactory.report.terminal import print_supply_summary
    from aifactory.scenario.loading import load_scenario

    for option, days in (("--factory-days", factory_days), ("--plant-days", plant_days)):
        if not (math.isfinite(days) and days > 0):
            raise BadInput(f"{option} {days:g}: must be a finite number > 0")
    _check_out(out / "supply")
    if plants:
        s, plant_stages = _with_plants(scenario, overrides, plants, days=plant_days,
                                       replications=plant_replications, seed=seed, workers=workers,
                                       ray_address=ray_address, quiet=quiet)  # fmt: skip
    else:
        s, plant_stages = load_scenario(scenario, overrides), []
    mc, wall = _simulate(
        s,
        runs=runs,
        seed=seed,
        workers=workers,
        ray_address=ray_address,
        deterministic=False,
        bucket_days=7,
        quiet=quiet,
    )
    summary, series = _write_outputs(mc, wall, out / "supply", html=False)
    from aifactory.cli.factory import print_study, simulate_study, write_study
    from aifactory.report.factory_page import factory_body
    from aifactory.report.files import write_json
    from aifactory.report.html import write_supply_report

    factories: dict[str, Any] = {}
    sections: list[tuple[str, str]] = []
    if plant_stages:
        from aifactory.report.plant import plant_stage_section

        for ps in plant_stages:
            sections.append(
                (f"Rack line {ps.stage}: the plant twin {ps.plant.name}", plant_stage_section(ps))
            )
    for factory_id, spec in s.ai_factories.items():
        if not spec.demand:
            continue  # nothing asks for its GPUs: no study to run
        study = simulate_study(
            s,
            factory_id,
            days=factory_days,
            runs=factory_runs,
            seed=seed,
            policy="quota",
            workers=workers,
            ray_address=ray_address,
            quiet=quiet,
            supply=mc.result,
        )
        doc = write_study(out / "factories" / factory_id, study, html=False)
        factories[factory_id] = doc
        body = "".join(factory_body(study, doc, heading=False))
        sections.append((f"AI factory: {factory_id}", body))
    plants_json = {ps.stage: {"plant": ps.plant.name, "calibration": ps.calibration.to_json(),
                              "scenario_had": ps.before, "now": ps.after} for ps in plant_stages}  # fmt: skip
    write_json(out / "summary.json", {"scenario": s.name, "supply": summary, "ai_factories": factories}
               | ({"plants": plants_json} if plants_json else {}))  # fmt: skip
    write_supply_report(out / "report.html", s, summary, series, sections)
    if not quiet:
        for ps in plant_stages:
            cal = ps.calibration
            console.print(
                f"[bold]{ps.stage}[/bold] from the plant twin [bold]{ps.plant.name}[/bold] "
                "(not the scenario's "
                f"estimates): capacity {cal.capacity_per_day:.1f} racks started a day, cycle time "
                f"{cal.lead_time_days.mean:.1f} days ({cal.dist}), yield {cal.yield_:.2%}"
            )
        print_supply_summary(console, summary)
        for doc in factories.values():
            print_study(console, doc)
        console.print(
            f"wrote [bold]{out / 'report.html'}[/bold], {out / 'summary.json'}, {out / 'supply'}/"
            + (f" and {out / 'factories'}/" if factories else "")
        )


def _with_plants(
    scenario: str,
    overrides: list[str] | None,
    assignments: list[str],
    *,
    days: float,
    replications: int,
    seed: int,
    workers: int,
    ray_address: str | None,
    quiet: bool,
) -> tuple[Scenario, list[Any]]:
    """The scenario with the named stages calibrated from plants (``--plant STAGE=PLANT``)."""
    from aifactory.cli.plant import check_window
    from aifactory.parallel import make_mapper
    from aifactory.plant.loading import load_plant
    from aifactory.scenario.loading import apply_override, parse_yaml, read_scenario_text, scenario_from_data
    from aifactory.twin.plants import PlantStageError, plants_in_scenario

    pairs = []
    for assignment in assignments:
        stage, sep, plant = assignment.partition("=")
        if not sep or not stage.strip() or not plant.strip():
            raise BadInput(f"--plant {assignment!r}: expected STAGE=PLANT, e.g. rack-houston=foxconn-houston")
        pairs.append((stage.strip(), load_plant(plant.strip())))
    warmup = check_window(days, None)
    text, label = read_scenario_text(scenario)
    data = parse_yaml(text, label)
    for assignment in overrides or []:
        apply_override(data, assignment, f"{label}: --set")
    scenario_from_data(data, label)  # the scenario as given must be valid before the plants run
    mapper = make_mapper(workers, ray_address) if (workers > 1 or ray_address) else None
    with progress_bar(err, "[bold]plant twins[/bold]", "runs", quiet=quiet) as progress:
        task = progress.add_task("runs", total=2 * replications * len(pairs))
        try:
            stages = plants_in_scenario(
                data,
                pairs,
                days=days,
                warmup_days=warmup,
                replications=replications,
                seed=seed,
                mapper=mapper,
                on_done=lambda: progress.advance(task),
            )
        except PlantStageError as exc:
            raise BadInput(str(exc)) from None
    return scenario_from_data(data, label), stages


# ------------------------------------------------------------------------------------------- entry


def bad_input_errors() -> tuple[type[Exception], ...]:
    """The exceptions that mean bad input (exit 2), imported when one is raised: a command that reads no
    scenario, plant, trace or data set does not load their modules."""
    from aifactory.fab.errors import FabDataError
    from aifactory.parallel.mappers import ScaleOutError
    from aifactory.planner.plan import PlanInputError
    from aifactory.plant.loading import PlantError
    from aifactory.replay.trace import TraceError
    from aifactory.scenario.loading import ScenarioError

    return (
        ScenarioError,
        BadInput,
        ScaleOutError,
        ReplayInputError,
        TraceError,
        FabDataError,
        FabInputError,
        ServiceInputError,
        PlantError,
        PlantInputError,
        PlanInputError,
        PlanCommandError,
        FactoryInputError,
    )


def run_cli(argv: list[str] | None = None) -> None:
    """Console-script entry point: map errors to exit codes with one-line messages."""
    from rich.markup import escape

    try:
        try:
            app(args=argv, standalone_mode=False)
        except (typer.Abort, SystemExit):
            raise
        except Exception as exc:
            if isinstance(exc, bad_input_errors()):
                err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
                raise SystemExit(2) from None
            raise
    except typer.Abort:
        raise SystemExit(130) from None
    except SystemExit:
        raise
    except Exception as exc:  # the shell's last line of defence
        if isinstance(exc, click_exceptions()):
            usage_error(exc)
        if os.environ.get("AIFACTORY_DEBUG"):
            raise
        message = escape(f"{type(exc).__name__}: {exc}")
        err.print(
            f"[red]internal error:[/red] {message} (set AIFACTORY_DEBUG=1 for a traceback)",
            highlight=False,
            soft_wrap=True,
        )
        raise SystemExit(1) from None
