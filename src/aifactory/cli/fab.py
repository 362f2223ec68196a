"""``aifactory fab``: the wafer-fab twin on an SMT2020-format data set (docs/fab.md)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from aifactory.cli.out_folder import out_folder_problem
from aifactory.cli.progress import progress_bar

T = TypeVar("T")

if TYPE_CHECKING:
    from aifactory.fab.dataset import Dataset as FabData
    from aifactory.fab.dataset import Reference
    from aifactory.fab.kpis import Completions
    from aifactory.fab.replications import Replication

fab_app = typer.Typer(help="The wafer-fab twin on SMT2020 / AutoSched AP data sets.", no_args_is_help=True)


class FabInputError(ValueError):
    """Bad fab command input (exit code 2)."""


Dataset = Annotated[Path, typer.Argument(help="A folder in the SMT2020 / AutoSched AP text format.")]
Days = Annotated[float, typer.Option("--days", help="Simulated days (after the warm-up too).")]
Warmup = Annotated[
    float | None,
    typer.Option("--warmup-days", help="Days before KPIs are counted [90, or a quarter of --days if less]."),
]
Seed = Annotated[int, typer.Option("--seed", min=0, help="Random seed (the same seed, the same run).")]
Rule = Annotated[
    str | None, typer.Option("--rule", help="Dispatching rule for every tool group (default: the data's).")
]
Out = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No terminal summary.")]


Replications = Annotated[
    int,
    typer.Option(
        "--replications", "-r", min=1, max=10_000, help="Independent runs; KPIs get 95 % intervals."
    ),
]
Workers = Annotated[int, typer.Option("--workers", "-w", min=1, max=1024, help="Local worker processes.")]
Ray = Annotated[
    str | None,
    typer.Option("--ray", help="Run replications on a Ray cluster at ADDRESS ('local' starts one)."),
]


def _check_out(out: Path) -> None:
    problem = out_folder_problem(out)
    if problem is not None:
        raise FabInputError(problem)


def _prepare(
    dataset: Path, days: float, warmup_days: float | None, rule: str | None
) -> tuple[FabData, float]:
    """Check the options, read the data set; the data and the warm-up in days."""
    from aifactory.fab import read_dataset

    if not dataset.is_dir():
        raise FabInputError(
            f"{dataset}: not a folder (give a data set folder such as ../shared/data/smt2020/HVLM)"
        )
    if not (days > 0 and math.isfinite(days)):
        raise FabInputError(f"--days {days:g}: must be a number > 0")
    warmup = min(90.0, days / 4) if warmup_days is None else warmup_days
    if not 0 <= warmup < days:
        raise FabInputError(f"--warmup-days {warmup:g}: must be >= 0 and less than --days {days:g}")
    data = read_dataset(dataset)
    if rule is not None:
        from aifactory.fab.model_build import build_model

        try:
            build_model(data, rule)  # an unknown rule name fails here, before any worker starts
        except ValueError as exc:
            raise FabInputError(str(exc)) from None
    return data, warmup


def _run(
    dataset: Path,
    days: float,
    warmup_days: float | None,
    seed: int,
    rule: str | None,
    quiet: bool,
    replications: int = 1,
    workers: int = 1,
    ray_address: str | None = None,
) -> tuple[dict[str, Any], Reference | None]:
    """Read the data set, simulate (``replications`` times), and return the kpis.json document and the
    data set's reference."""
    from aifactory.fab.engine import simulate
    from aifactory.fab.replications import combine, run_replication

    data, warmup = _prepare(dataset, days, warmup_days, rule)
    err = Console(stderr=True)
    if replications > 1:
        runs = _replicate(run_replication, dataset, data.name, days, warmup, seed, rule, quiet, replications,
                          workers, ray_address)  # fmt: skip
        return combine(runs, seed), data.reference
    started = time.perf_counter()
    with err.status(f"[bold]fab[/bold] {data.name}: simulating {days:g} days …", spinner="dots") as status:
        if quiet:
            status.stop()
        result = simulate(data, days=days, warmup_days=warmup, seed=seed, rule=rule)
    wall = time.perf_counter() - started
    return result.to_kpis(data.name, days, warmup, seed, wall), data.reference


def simulate_command(
    dataset: Dataset,
    days: Days = 730.0,
    warmup_days: Warmup = None,
    seed: Seed = 0,
    rule: Rule = None,
    replications: Replications = 1,
    workers: Workers = 1,
    ray_address: Ray = None,
    out: Out = Path("out/fab"),
    quiet: Quiet = False,
) -> None:
    """Simulate the fab; write DIR/kpis.json (lot types, tool groups) and print a summary."""
    _check_out(out)
    kpis, _ = _run(dataset, days, warmup_days, seed, rule, quiet, replications, workers, ray_address)
    out.mkdir(parents=True, exist_ok=True)
    (out / "kpis.json").write_text(json.dumps(kpis, indent=2))
    if not quiet:
        console = Console()
        _print_lots(console, kpis)
        console.print(f"wrote {out}/kpis.json")


def validate_command(
    dataset: Dataset,
    days: Days = 730.0,
    warmup_days: Warmup = None,
    seed: Seed = 0,
    rule: Rule = None,
    replications: Replications = 1,
    workers: Workers = 1,
    ray_address: Ray = None,
    out: Out = Path("out/fab"),
    bottlenecks: Annotated[
        int, typer.Option("--bottlenecks", min=1, help="Most utilised reference tool groups to check.")
    ] = 10,
    quiet: Quiet = False,
) -> None:
    """Simulate and compare with the data set's reference files; print the deltas, write validation.json."""
    from aifactory.fab.validation import compare

    _check_out(out)
    kpis, reference = _run(dataset, days, warmup_days, seed, rule, quiet, replications, workers, ray_address)
    if reference is None or not reference.lots:
        raise FabInputError(f"{dataset}: no reference_lots.txt to validate against")
    check = compare(kpis, reference, bottlenecks=bottlenecks)
    out.mkdir(parents=True, exist_ok=True)
    (out / "kpis.json").write_text(json.dumps(kpis, indent=2))
    (out / "validation.json").write_text(json.dumps(check.to_json(), indent=2))
    if quiet:
        return
    console = Console()
    lots = Table(
        "lot type", "CT (d)", "ref", "Δ", "lots/day", "ref", "Δ", "on time %", "ref",
        title=f"Lot types ({check.measured_days:g} days measured; reference: 2 years)", title_justify="left",
    )  # fmt: skip
    for c in check.lots:
        lots.add_row(
            c.lot_type,
            f"{c.cycle_time_days:.2f}",
            f"{c.reference_cycle_time_days:.2f}",
            _delta(c.cycle_time_delta, 0.10),
            f"{c.lots_per_day:.2f}",
            f"{c.reference_lots_per_day:.2f}",
            _delta(c.throughput_delta, 0.03),
            f"{c.on_time_pct:.1f}",
            f"{c.reference_on_time_pct:.1f}",
        )
    console.print(lots)
    tools = Table(
        "tool group", "util %", "ref", "Δ points", "avail %", "ref",
        title=f"The {bottlenecks} most utilised tool groups of the reference", title_justify="left",
    )  # fmt: skip
    for t in check.toolgroups:
        if t.bottleneck:
            colour = "green" if t.within else "red"
            tools.add_row(
                t.name,
                f"{t.util:.1f}",
                f"{t.reference_util:.1f}",
                f"[{colour}]{t.util_delta_points:+.1f}[/{colour}]",
                f"{t.avail:.1f}",
                f"{t.reference_avail:.1f}",
            )
    console.print(tools)
    verdict = "within" if check.lots_within and check.bottlenecks_within else "NOT within"
    console.print(
        f"{verdict} tolerance (cycle time ±10 %, throughput ±3 %, bottleneck utilisation ±5 points); "
        f"wrote {out}/kpis.json and {out}/validation.json"
    )


def _delta(value: float, tolerance: float) -> str:
    if math.isnan(value):
        return "—"
    colour = "green" if abs(value) <= tolerance else "red"
    return f"[{colour}]{value:+.1%}[/{colour}]"


def _print_lots(console: Console, kpis: dict[str, Any]) -> None:
    runs = kpis.get("replications", 1)
    console.print(
        f"[bold]{kpis['dataset']}[/bold]: {kpis['days']:g} days ({kpis['warmup_days']:g} warm-up), "
        f"seed {kpis['seed']}, {runs} replication{'s' if runs > 1 else ''}, {kpis['events']:,} events in "
        f"{kpis['wall_seconds']:.1f} s ({kpis['events'] / max(kpis['wall_seconds'], 1e-9):,.0f} events/s)"
    )
    ci = kpis.get("ci95", {}).get("lots", {})

    def cell(name: str, key: str, fmt: str) -> str:
        text = format(kpis["lots"][name][key], fmt)
        return f"{text} ± {format(ci[name][key], fmt)}" if name in ci else text

    table = Table("lot type", "lots completed", "cycle time (days)", "on time %", title_justify="left")
    for name in kpis["lots"]:
        table.add_row(
            name,
            cell(name, "throughput", ",.0f"),
            cell(name, "cycle_time_days", ".2f"),
            cell(name, "on_time_pct", ".1f"),
        )
    console.print(table)
    if ci:
        console.print("± : half-width of the 95 % confidence interval over the replications")


def _completions(
    dataset: Path,
    data: FabData,
    days: float,
    warmup: float,
    seed: int,
    rule: str | None,
    quiet: bool,
    replications: int,
    workers: int,
    ray_address: str | None,
) -> list[Completions]:
    from aifactory.fab.engine import simulate
    from aifactory.fab.replications import run_completions

    err = Console(stderr=True)
    if replications == 1:
        with err.status(f"[bold]fab[/bold] {data.name}: simulating {days:g} days …", spinner="dots") as st:
            if quiet:
                st.stop()
            return [simulate(data, days=days, warmup_days=warmup, seed=seed, rule=rule).completions]
    return _replicate(run_completions, dataset, data.name, days, warmup, seed, rule, quiet, replications,
                      workers, ray_address)  # fmt: skip


def _replicate(
    fn: Callable[[Replication], T],
    dataset: Path,
    name: str,
    days: float,
    warmup: float,
    seed: int,
    rule: str | None,
    quiet: bool,
    replications: int,
    workers: int,
    ray_address: str | None,
) -> list[T]:
    """``fn`` over the replications' seeds (local processes or Ray), with a progress bar."""
    from aifactory.fab.replications import Replication, replication_seeds
    from aifactory.parallel.mappers import make_mapper

    jobs = [
        Replication(str(dataset.resolve()), days, warmup, s, rule)
        for s in replication_seeds(seed, replications)
    ]
    runs: list[T] = []
    err = Console(stderr=True)
    with progress_bar(err, f"[bold]fab[/bold] {name}: {days:g} days", "replications", quiet=quiet) as bar:
        task = bar.add_task("replications", total=replications)
        for result in make_mapper(workers, ray_address)(fn, jobs):
            runs.append(result)
            bar.advance(task)
    return runs


def _merge_stage(scenario: str, stage: str, fields: dict[str, Any], header: str) -> str:
    """The scenario's YAML with ``stage``'s fields replaced, validated; its text."""
    from aifactory.scenario.loading import merge_stage_fields, scenario_yaml

    return header + scenario_yaml(merge_stage_fields(scenario, stage, fields))


def calibrate_command(
    dataset: Dataset,
    days: Days = 730.0,
    warmup_days: Warmup = None,
    seed: Seed = 0,
    rule: Rule = None,
    replications: Replications = 1,
    workers: Workers = 1,
    ray_address: Ray = None,
    stage: Annotated[str, typer.Option("--stage", help="The supply-twin stage the fab stands for.")] = "fab",
    lot_types: Annotated[
        list[str] | None,
        typer.Option("--lot-type", help="Fit only these lot types (repeatable; default: all)."),
    ] = None,
    dist: Annotated[
        str,
        typer.Option("--dist", help="Form of the stage's cycle time: lognormal, triangular, normal, mean."),
    ] = "lognormal",
    spread: Annotated[
        str,
        typer.Option(
            "--spread", help="lots: the spread lots see; replications: uncertainty of the mean (-r ≥ 2)."
        ),
    ] = "lots",
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", help="Also write this scenario with the stage calibrated (name or file)."),
    ] = None,
    capacity: Annotated[
        bool | None,
        typer.Option(
            "--capacity/--no-capacity",
            help="Set the stage's capacity to the fab's throughput "
            "(default: yes in the snippet, no in --scenario).",
        ),
    ] = None,
    out: Out = Path("out/fab-calibration"),
    quiet: Quiet = False,
) -> None:
    """Calibrate a supply-twin stage from the fab: cycle-time distribution and yield-free throughput.

    Writes DIR/calibration.json, DIR/stage.yaml (a scenario snippet), DIR/calibration.html (lot cycle
    times against the fitted distribution) and, with --scenario, DIR/scenario.yaml.
    """
    import yaml

    from aifactory.fab.calibration import DISTRIBUTIONS, SPREADS, CalibrationError, calibrate, pooled
    from aifactory.report.fab_calibration import write_calibration_html

    _check_out(out)
    if dist not in DISTRIBUTIONS:
        raise FabInputError(f"--dist {dist!r}: unknown; valid: {', '.join(DISTRIBUTIONS)}")
    if spread not in SPREADS:
        raise FabInputError(f"--spread {spread!r}: unknown; valid: {', '.join(SPREADS)}")
    if spread == "replications" and replications < 2:
        raise FabInputError("--spread replications needs --replications 2 or more")
    if scenario is not None:  # a bad scenario or stage fails before the long simulation
        _merge_stage(scenario, stage, {}, "")
    data, warmup = _prepare(dataset, days, warmup_days, rule)
    runs = _completions(dataset, data, days, warmup, seed, rule, quiet, replications, workers, ray_address)
    try:
        cal = calibrate(
            runs, dataset=data.name, measured_days=days - warmup, lot_types=lot_types or (), dist=dist,
            spread=spread,
        )  # fmt: skip
    except CalibrationError as exc:
        raise FabInputError(str(exc)) from None
    header = (
        f"# aifactory fab calibrate {data.name}: {days:g} days ({warmup:g} warm-up), seed {seed}, "
        f"{replications} replication(s), lot types: {', '.join(cal.lot_types)}\n"
        f"# yield-free throughput {cal.wafers_per_day:,.1f} wafers/day; cycle time mean "
        f"{cal.cycle_time.mean:.2f} d, p10 {cal.cycle_time.quantiles['p10']:.2f}, "
        f"p90 {cal.cycle_time.quantiles['p90']:.2f}\n"
    )
    snippet = header + yaml.safe_dump(
        {"stages": {stage: cal.stage(capacity=capacity is not False)}}, sort_keys=False, allow_unicode=True
    )
    out.mkdir(parents=True, exist_ok=True)
    doc = cal.to_json() | {"days": days, "warmup_days": warmup, "seed": seed, "stage": stage}
    (out / "calibration.json").write_text(json.dumps(doc, indent=2))
    (out / "stage.yaml").write_text(snippet)
    ct, wafers, _, _ = pooled(runs, cal.lot_types)
    write_calibration_html(out / "calibration.html", cal, ct, wafers, snippet)
    written = ["calibration.json", "stage.yaml", "calibration.html"]
    if scenario is not None:
        merged = _merge_stage(scenario, stage, cal.stage(capacity=capacity is True), header)
        (out / "scenario.yaml").write_text(merged)
        written.append("scenario.yaml")
    if quiet:
        return
    console = Console()
    c = cal.cycle_time
    title = f"{data.name}: lot cycle times ({cal.measured_days:g} measured days × {cal.replications})"
    table = Table(
        "lot type", "lots", "mean CT (d)", "sd", "p10", "p50", "p90", title=title, title_justify="left"
    )
    for name, st in [("all (wafer-weighted)", c), *cal.per_type.items()]:
        q = st.quantiles
        table.add_row(name, f"{st.count:,}", f"{st.mean:.2f}", f"{st.sd:.2f}", f"{q['p10']:.2f}",
                      f"{q['p50']:.2f}", f"{q['p90']:.2f}")  # fmt: skip
    console.print(table)
    console.print(
        f"yield-free throughput [bold]{cal.wafers_per_day:,.1f} wafers/day[/bold] "
        f"(released {cal.released_wafers_per_day:,.1f}/day; WIP {cal.wip_growth_lots_per_day:+.3f} lots/day)"
    )
    console.print(f"stage [bold]{stage}[/bold]: cycle_time_days = {cal.distribution}")
    worst = max(cal.fit_quantiles, key=lambda k: abs(cal.fit_quantiles[k] / c.quantiles[k] - 1))
    if spread == "lots" and abs(cal.fit_quantiles[worst] / c.quantiles[worst] - 1) > 0.10:
        console.print(
            f"[yellow]note:[/yellow] the {dist} fit is loose ({worst} {cal.fit_quantiles[worst]:.1f} d "
            f"against {c.quantiles[worst]:.1f} d for the lots); lot types with different routes mix here — "
            "calibrate one of them with --lot-type"
        )
    console.print(f"wrote {', '.join(f'{out}/{w}' for w in written)}")


fab_app.command("simulate")(simulate_command)
fab_app.command("validate")(validate_command)
fab_app.command("calibrate")(calibrate_command)
