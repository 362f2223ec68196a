"""``aifactory plant design``: the cheapest stations, robots, operators and shifts that meet a target."""

from __future__ import annotations

import math
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
    Ray,
    Seed,
    SetOption,
    Warmup,
    Workers,
    _load,
    check_out,
    check_window,
    plant_app,
)
from aifactory.cli.progress import progress_bar

if TYPE_CHECKING:
    from aifactory.plant.design_search import DesignResult, SearchSettings
    from aifactory.plant.model import Plant


@plant_app.command("design")
def design_command(
    plant: PlantArg,
    target: Annotated[
        float | None,
        typer.Option(
            "--target", help="Racks a week to reach [the plant file's design.target_racks_per_week]."
        ),
    ] = None,
    probability: Annotated[
        float | None,
        typer.Option(
            "--probability", "-p", help="Share of replications that must reach it [design.probability]."
        ),
    ] = None,
    trials: Annotated[
        int, typer.Option("--trials", min=1, max=100_000, help="Designs the optimiser proposes.")
    ] = 50,
    replications: Annotated[
        int, typer.Option("--replications", "-r", min=1, max=1000, help="Replications of each design.")
    ] = 8,
    max_replications: Annotated[
        int,
        typer.Option(
            "--max-replications", min=1, max=10_000, help="Replications of a close contender, at most."
        ),
    ] = 32,
    days: Annotated[float, typer.Option("--days", help="Simulated days of each replication.")] = 28.0,
    warmup_days: Warmup = None,
    seed: Seed = 0,
    out: Out = Path("out/plant-design"),
    overrides: SetOption = None,
    workers: Workers = 1,
    ray_address: Ray = None,
    quiet: Quiet = False,
) -> None:
    """Search the plant file's design variables for the cheapest design that meets the target; write
    DIR/design.json, DIR/design.html (cost against throughput), the plant file with it applied and the
    plant report of the chosen design, opened by the design (DIR/report.html)."""
    import optuna

    from aifactory.parallel import make_mapper
    from aifactory.plant.design_search import SearchSettings, search, summary
    from aifactory.report.files import write_json
    from aifactory.report.plant_design import write_design_report

    p = _load(plant, overrides)
    if p.design is None:
        raise PlantInputError(
            f"{plant}: design: missing (the decision variables to search; see docs/plant.md)"
        )
    goal = target if target is not None else p.design.target_racks_per_week
    if goal is None:
        raise PlantInputError("--target: required (the plant file gives no design.target_racks_per_week)")
    if not (math.isfinite(goal) and goal > 0):
        raise PlantInputError(f"--target {goal:g}: must be a number of racks a week > 0")
    share = probability if probability is not None else p.design.probability
    if not (math.isfinite(share) and 0 < share <= 1):
        raise PlantInputError(f"--probability {share:g}: must be in (0, 1]")
    if max_replications < replications:
        raise PlantInputError(f"--max-replications {max_replications}: below --replications {replications}")
    warmup = check_window(days, warmup_days)
    check_out(out)
    settings = SearchSettings(
        target=goal,
        probability=share,
        trials=trials,
        replications=replications,
        max_replications=max_replications,
        days=days,
        warmup_days=warmup,
        seed=seed,
        batch=max(4, 2 * workers),
    )
    mapper = make_mapper(workers, ray_address) if (workers > 1 or ray_address) else None
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the progress bar says how far it is
    err = Console(stderr=True)
    label = f"[bold]design[/bold] {p.name}: {trials} designs"
    with progress_bar(err, label, "replications", quiet=quiet) as bar:
        task = bar.add_task("replications", total=(trials + 2) * replications)
        done = [0]

        def advance() -> None:
            done[0] += 1
            bar.update(task, completed=done[0], total=max(done[0], (trials + 2) * replications))

        result = search(p, settings, mapper, advance)
    report = summary(result)
    write_json(out / "design.json", report)
    write_design_report(out / "design.html", p.name, report)
    written = ["design.json", "design.html"]
    if result.chosen is not None:
        name = f"{p.name}-design.yaml"
        (out / name).write_text(designed_yaml(plant, overrides, p, result), encoding="utf-8")
        written.append(name)
        write_chosen_report(out / "report.html", p, result, report, settings)
        written.append("report.html")
    if not quiet:
        print_design_summary(Console(), report)
        Console().print(f"wrote {', '.join(written)} in {out}/")


def write_chosen_report(
    path: Path, p: Plant, result: DesignResult, report: dict[str, Any], settings: SearchSettings
) -> None:
    """The plant report of the chosen design (its first replications again, the first with its records),
    opened by the design: the cost-throughput chart and what binds."""
    from aifactory.plant.design_search import chosen_plant
    from aifactory.plant.joined import Joined
    from aifactory.plant.replications import combine, jobs_for, run_replications
    from aifactory.report.plant import write_plant_report
    from aifactory.report.plant_design import design_body

    chosen = chosen_plant(p, result)
    assert chosen is not None
    n = min(4, settings.replications)
    jobs = jobs_for(
        chosen, days=settings.days, warmup_days=settings.warmup_days, replications=n, seed=settings.seed
    )
    outcomes = run_replications(jobs)
    kpis = combine(
        outcomes,
        plant=chosen.name,
        days=settings.days,
        warmup_days=settings.warmup_days,
        seed=settings.seed,
        wall_seconds=sum(o.wall_seconds for o in outcomes),
    )
    first = outcomes[0].run
    joined = Joined(first) if first is not None else None
    before = f"<h2>The design</h2>\n{design_body(report)}\n<h2>The plant with it</h2>\n"
    write_plant_report(path, chosen, kpis, outcomes, joined, before=before)


def designed_yaml(ref: str, overrides: list[str] | None, p: Plant, result: DesignResult) -> str:
    """The plant file (as read, with any --set) with the chosen design's values written in."""
    import yaml

    from aifactory.plant.loading import read_plant_text
    from aifactory.scenario.loading import apply_override, parse_yaml

    assert p.design is not None and result.chosen is not None
    text, label = read_plant_text(ref)
    data: dict[str, Any] = parse_yaml(text, label, kind="plant")
    for assignment in overrides or []:
        apply_override(data, assignment, f"{label}: --set")
    for v, value in zip(p.design.variables.values(), result.chosen.values, strict=True):
        if v.kind == "station":
            data["stations"][v.target]["servers"] = value
        elif v.kind == "robots":
            data["robots"][v.target]["count"] = value
        elif v.kind == "operators":
            data["operators"][v.target]["count"] = value
        elif v.kind == "arms_at":
            if value == 1:
                station = data["stations"][v.target]
                station.pop("operator", None)
                station.update({"robot": v.fleet, "robot_mode": "replace"})
        else:
            pool = data["operators"][v.target]
            pool["shifts"] = list(pool["shifts"])[:value]
    target = result.settings.target
    head = f"# {p.name} with the design chosen by `aifactory plant design` (target {target:g} racks a week)\n"
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def print_design_summary(console: Console, report: dict[str, Any]) -> None:
    chosen, current = report["chosen"], report["current"]
    table = Table(
        title=f"Design for {report['target_racks_per_week']:g} racks a week "
        f"({report['probability']:.0%} of runs)"
    )
    table.add_column("variable")
    table.add_column("as written", justify="right")
    table.add_column("chosen" if chosen else "largest", justify="right")
    other = chosen or report["largest"]
    for name, value in current["values"].items():
        table.add_row(name, str(value), str(other["values"][name]))
    table.add_row(
        "cost a week", f"${current['cost_per_week_usd']:,.0f}", f"${other['cost_per_week_usd']:,.0f}"
    )
    table.add_row(
        "racks a week", f"{current['racks_per_week_mean']:.1f}", f"{other['racks_per_week_mean']:.1f}"
    )
    table.add_row(
        "target met in",
        f"{current['share_meeting_target']:.0%}",
        f"{other['share_meeting_target']:.0%} of {other['replications']}",
    )
    console.print(table)
    if chosen:
        console.print("binds: " + "; ".join(report["binding"]))
    else:
        console.print(
            "[bold]no design within the bounds meets the target[/bold]: " + "; ".join(report["caps"])
        )
