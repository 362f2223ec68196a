"""``aifactory plan`` and ``aifactory compare``: what to add to meet the targets, and scenarios or plans
side by side (docs/planner.md)."""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aifactory.cli.out_folder import out_folder_problem
from aifactory.scenario.defaults import DEFAULT_SCENARIO

if TYPE_CHECKING:
    from aifactory.planner.compare import Study

console = Console()
err = Console(stderr=True)

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override one scenario field: PATH=VALUE (repeatable)."),
]


Workers = Annotated[int, typer.Option("--workers", "-w", min=1, max=1024, help="Local worker processes.")]
Html = Annotated[bool, typer.Option("--html/--no-html", help="Also write report.html.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No terminal summary.")]


class PlanCommandError(ValueError):
    """Bad input to plan or compare (exit 2)."""


def _check_out(out: Path) -> None:
    problem = out_folder_problem(out)
    if problem is not None:
        raise PlanCommandError(problem)


def _money(x: float | None) -> str:
    from aifactory.report.terminal import money

    return money(x)


def plan_command(
    scenario: Annotated[str, typer.Argument(help="Bundled name or YAML path.")] = DEFAULT_SCENARIO,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out/plan"),
    probability: Annotated[
        float, typer.Option("--probability", "-p", help="Each target met in at least this share of runs.")
    ] = 0.5,
    runs: Annotated[
        int, typer.Option("--runs", "-n", min=10, max=1_000_000, help="Verification runs.")
    ] = 1000,
    samples: Annotated[
        int, typer.Option("--samples", "-k", min=1, max=200, help="Monte Carlo draws in the planning model.")
    ] = 8,
    bucket_days: Annotated[
        int, typer.Option("--bucket-days", min=1, max=366, help="Days per time bucket of the model.")
    ] = 42,
    budget: Annotated[
        float | None,
        typer.Option("--budget", help="Spend at most this (US$) and maximise the delivered value instead."),
    ] = None,
    options_file: Annotated[
        Path | None,
        typer.Option("--options", help="A YAML file of more options: options: [{stage: ..., ...}]."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
    overrides: SetOption = None,
    max_rounds: Annotated[
        int, typer.Option("--max-rounds", min=1, max=50, help="Solve-and-verify rounds at most.")
    ] = 6,
    workers: Workers = 1,
    html: Html = True,
    quiet: Quiet = False,
) -> None:
    """The cheapest capacity additions, and when, that meet every target (plan.json, plan.yaml)."""
    from aifactory.planner.plan import PlanSettings, Round, plan
    from aifactory.scenario.loading import load_scenario_with_options

    if not math.isfinite(probability) or not 0 < probability < 1:
        raise PlanCommandError(f"--probability {probability:g}: must be in (0, 1), e.g. 0.8")
    if budget is not None and not (math.isfinite(budget) and budget >= 0):
        raise PlanCommandError(f"--budget {budget}: must be a finite amount >= 0 (US$)")
    s = load_scenario_with_options(scenario, overrides, options_file)
    _check_out(out)
    settings = PlanSettings(probability=probability, samples=samples, bucket_days=bucket_days, runs=runs,
                            seed=seed, budget_usd=budget, max_rounds=max_rounds)  # fmt: skip
    started = time.perf_counter()

    def report(r: Round) -> None:
        if not quiet:
            met = " / ".join(f"{p:.0%}" for p in r.probabilities)
            err.print(f"  round: cost {_money(r.cost_usd)}, targets met in {met} of the runs ({r.status})")

    from aifactory.parallel import make_mapper

    status = err.status("[bold]planning[/bold]: solving and verifying", spinner="dots")
    if quiet or not err.is_terminal:
        result = plan(s, settings, mapper=make_mapper(workers), chunks=max(1, workers), on_round=report)
    else:
        with status:
            result = plan(s, settings, mapper=make_mapper(workers), chunks=max(1, workers), on_round=report)
    wall = time.perf_counter() - started
    _write(out, result, wall, html=html)
    if not quiet:
        _print(result, out)


def _write(out: Path, result: Any, wall: float, *, html: bool) -> None:
    from aifactory.planner.document import plan_document
    from aifactory.report.files import write_json
    from aifactory.scenario.loading import scenario_yaml

    doc = plan_document(result, wall_seconds=wall)
    write_json(out / "plan.json", doc)
    data = result.planned.model_dump(mode="json", by_alias=True, exclude_unset=True)
    header = (
        f"# {result.scenario.name} with the actions of `aifactory plan` as expansions "
        f"({len(result.actions)} actions, {_money(result.cost_usd)}); `aifactory run` takes it.\n"
    )
    (out / "plan.yaml").write_text(header + scenario_yaml(data), encoding="utf-8")
    if html:
        from aifactory.report.plan import write_plan_report
        from aifactory.supply.series import build_series

        base = result.baseline
        without = build_series(result.scenario, base.result, base.params)
        with_plan = None
        if result.verified is not None:
            with_plan = build_series(result.planned, result.verified.result, result.verified.params)
        write_plan_report(out / "report.html", result.planned, doc, with_plan, without)


def _print(result: Any, out: Path) -> None:
    from aifactory.planner.document import message

    console.print(f"[bold]{result.scenario.name}[/bold]: {message(result)}")
    if result.actions:
        table = Table(title=f"Actions ({_money(result.cost_usd)} in all)", title_justify="left")
        for col in ("stage", "option", "online", "add/day", "cost"):
            table.add_column(col, justify="left" if col in ("stage", "option", "online") else "right")
        for a in result.actions:
            table.add_row(
                a.stage, a.option, a.online.isoformat(), f"{a.add_per_day:,.1f}", _money(a.cost_usd)
            )
        console.print(table)
    for u in result.unreachable:
        capped = ", ".join(f"{c['stage']}/{c['option']}" for c in u["capped_by"]) or "none"
        console.print(
            f"[red]out of reach[/red]: '{u['target']}' by {u['by']} (options at their bound: {capped})"
        )
    if result.shadow:
        top = result.shadow[0]
        console.print(
            f"shadow price: one more {top['unit'].removesuffix(' per day')} a day at {top['stage']} in "
            f"{top['year']} is worth {_money(top['worth_usd_per_unit_per_day'])}"
        )
    console.print(f"wrote {out / 'plan.json'}, {out / 'plan.yaml'}")


def compare_command(
    scenarios: Annotated[
        list[str], typer.Argument(help="Two or more: bundled names, YAML paths or plan folders.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out/compare"),
    runs: Annotated[
        int, typer.Option("--runs", "-n", min=2, max=1_000_000, help="Runs per scenario.")
    ] = 2000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed (the same for all).")] = 0,
    overrides: SetOption = None,
    workers: Workers = 1,
    html: Html = True,
    quiet: Quiet = False,
) -> None:
    """Scenarios or plans side by side: targets, deliveries, costs, bottlenecks, and differences from the
    first with their intervals on common random numbers (compare.json)."""
    from aifactory.parallel import make_mapper
    from aifactory.planner.compare import compare
    from aifactory.report.files import write_json

    if len(scenarios) < 2:
        raise PlanCommandError("compare: give at least two scenarios or plan folders")
    studies = [_study(ref, overrides) for ref in scenarios]
    _check_out(out)
    started = time.perf_counter()
    if workers > 1:  # processes share out each study's runs
        doc = compare(studies, runs=runs, seed=seed, mapper=make_mapper(workers), chunks=workers)
    else:  # the studies side by side in threads (the compiled kernel releases the GIL)
        with ThreadPoolExecutor(max_workers=min(len(studies), os.cpu_count() or 1)) as pool:
            doc = compare(studies, runs=runs, seed=seed, study_map=pool.map)
    doc["wall_seconds"] = time.perf_counter() - started
    write_json(out / "compare.json", doc)
    if html:
        from aifactory.report.compare import write_compare_report

        write_compare_report(out / "report.html", doc)
    if not quiet:
        _print_compare(doc, out)


def _study(ref: str, overrides: list[str] | None) -> Study:
    """A scenario reference, a plan.yaml, or a plan folder (its plan.yaml, and plan.json's cost)."""
    import json

    from aifactory.planner.compare import Study
    from aifactory.scenario.loading import load_scenario

    path = Path(ref)
    label = ref
    capex = None
    if path.is_dir():
        if not (path / "plan.yaml").is_file():
            raise PlanCommandError(
                f"{ref}: a folder without plan.yaml (give a scenario, a YAML file or a plan folder)"
            )
        label = path.name
        path = path / "plan.yaml"
    if path.name == "plan.yaml" and (path.parent / "plan.json").is_file():
        try:
            capex = float(json.loads((path.parent / "plan.json").read_text(encoding="utf-8"))["cost_usd"])
        except (ValueError, KeyError, TypeError):
            raise PlanCommandError(f"{path.parent / 'plan.json'}: not a plan.json (no cost_usd)") from None
    return Study(label, load_scenario(str(path) if path.suffix else ref, overrides), capex)


def _print_compare(doc: dict[str, Any], out: Path) -> None:
    table = Table(title=f"Side by side ({doc['runs']:,} runs each, seed {doc['seed']})", title_justify="left")
    table.add_column("measure (P50)")
    for st in doc["studies"]:
        table.add_column(st["label"], justify="right")
    keys = [k for k in ("value_usd", "gpus_delivered") if k in doc["studies"][0]["measures"]] + [
        k for k in doc["studies"][0]["measures"] if k.startswith("target")
    ]
    for key in keys:
        cells = []
        for st in doc["studies"]:
            q = st["measures"].get(key)
            cell = "–" if q is None else (_money(q["p50"]) if "value_usd" in key else f"{q['p50']:,.0f}")
            diff = st.get("differences", {}).get(key)
            if diff is not None:
                fmt = _money if "value_usd" in key else (lambda x: f"{x:,.1f}")
                cell += f" (Δ {fmt(diff['mean'])} ± {fmt(diff['ci95'])})"
            cells.append(cell)
        table.add_row(key, *cells)
    console.print(table)
    console.print(f"wrote {out / 'compare.json'}")
