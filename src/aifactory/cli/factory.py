"""``aifactory factory simulate``: the AI factory under uncertain demand — utilisation, waits, energy and
money over Monte Carlo runs of the real scheduler (docs/factory.md)."""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aifactory.cli.out_folder import out_folder_problem
from aifactory.cli.progress import progress_bar
from aifactory.scenario.defaults import DEFAULT_SCENARIO

if TYPE_CHECKING:
    from aifactory.scenario.model import Scenario
    from aifactory.supply.results import RunResult
    from aifactory.twin.factory_study import FactoryStudy

console = Console()
err = Console(stderr=True)
factory_app = typer.Typer(
    help="The AI factory twin: demand, utilisation, power and money under uncertainty.",
    no_args_is_help=True,
)


class FactoryInputError(ValueError):
    """Bad input to ``factory simulate`` (exit 2)."""


def simulate_study(
    s: Scenario,
    factory_id: str,
    *,
    days: float,
    runs: int,
    seed: int,
    policy: str,
    workers: int,
    ray_address: str | None,
    quiet: bool,
    supply: RunResult | None = None,
    base: Path | None = None,
) -> FactoryStudy:
    """Check the inputs, run the supply twin first when the factory's racks come from it, then the runs
    (with a progress bar); shared by ``factory simulate`` and ``aifactory run`` (which gives its own
    ``supply`` study)."""
    from aifactory.parallel import make_mapper
    from aifactory.replay.synthetic import philly_stats
    from aifactory.replay.trace import load_trace
    from aifactory.scheduler.policies import policy_named
    from aifactory.supply.montecarlo import run_monte_carlo
    from aifactory.twin.factory_study import build_setup, simulate_factory

    if factory_id not in s.ai_factories:
        known = ", ".join(s.ai_factories) or "none"
        raise FactoryInputError(
            f"--factory {factory_id}: {s.name} has no such AI factory (ai_factories: {known})"
        )
    try:
        policy_named(policy)
    except (KeyError, ValueError) as exc:
        raise FactoryInputError(f"--policy {policy}: {exc}") from None
    spec = s.ai_factories[factory_id]
    stats = {}
    for name, d in spec.demand.items():
        if d.trace is not None:
            path = Path(d.trace)
            if not path.is_absolute() and base is not None and (base / path).exists():
                path = base / path
            stats[name] = philly_stats(load_trace(path))
    started = time.perf_counter()
    if spec.racks_from is not None and supply is None:  # run k of the factory takes supply run k's racks
        with err.status("[bold]supply twin[/bold]: when the racks arrive", spinner="dots"):
            supply = run_monte_carlo(s, runs=runs, seed=seed, bucket_days=1).result
    try:
        setup = build_setup(s, factory_id, days=days, seed=seed, supply=supply, policy=policy, stats=stats)
    except ValueError as exc:
        raise FactoryInputError(str(exc)) from None
    with progress_bar(err, f"[bold]AI factory {factory_id}[/bold]", "runs", quiet=quiet) as progress:
        task = progress.add_task("runs", total=runs)
        study = simulate_factory(
            setup,
            runs,
            mapper=make_mapper(workers, ray_address),
            on_run_done=lambda n: progress.advance(task, n),
        )
    study.wall_seconds = time.perf_counter() - started
    return study


@factory_app.command("simulate")
def simulate_command(
    scenario: Annotated[str, typer.Argument(help="Bundled name or YAML path.")] = DEFAULT_SCENARIO,
    factory: Annotated[
        str | None, typer.Option("--factory", "-f", help="The AI factory (default: the scenario's first).")
    ] = None,
    days: Annotated[float, typer.Option("--days", "-d", help="Days from the first rack online.")] = 90.0,
    runs: Annotated[int, typer.Option("--runs", "-n", min=1, max=100_000, help="Monte Carlo runs.")] = 32,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out/factory"),
    policy: Annotated[
        str, typer.Option("--policy", help="Scheduler policy (replay --list-policies).")
    ] = "quota",
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override one scenario field: PATH=VALUE (repeatable).")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, max=1024, help="Worker processes.")] = 1,
    ray_address: Annotated[
        str | None, typer.Option("--ray", help="Run on a Ray cluster ('local' starts one).")
    ] = None,
    html: Annotated[bool, typer.Option("--html/--no-html", help="Also write factory.html.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal summary.")] = False,
) -> None:
    """Monte Carlo runs of the AI factory under uncertain demand: factory.json, runs.csv, daily.csv and
    factory.html (utilisation, waits, energy, money, and what moves them)."""
    from aifactory.scenario.loading import load_scenario

    if not (math.isfinite(days) and 0 < days <= 3660):
        raise FactoryInputError(f"--days {days:g}: must be a number in (0, 3660]")
    s = load_scenario(scenario, overrides)
    factory_id = factory or next(iter(s.ai_factories), None)
    if factory_id is None:
        raise FactoryInputError(f"{s.name}: no ai_factories to simulate")
    problem = out_folder_problem(out)
    if problem is not None:
        raise FactoryInputError(problem)
    base = Path(scenario).parent if Path(scenario).exists() else None
    study = simulate_study(
        s,
        factory_id,
        days=days,
        runs=runs,
        seed=seed,
        policy=policy,
        workers=workers,
        ray_address=ray_address,
        quiet=quiet,
        base=base,
    )
    doc = write_study(out, study, html=html)
    if not quiet:
        print_study(console, doc)
        console.print(
            f"wrote {out / 'factory.json'}, runs.csv, daily.csv" + (", factory.html" if html else "")
        )


def write_study(out: Path, study: FactoryStudy, *, html: bool) -> dict[str, Any]:
    from aifactory.report.files import write_json
    from aifactory.twin.factory_document import daily_table, factory_document, runs_table

    doc = factory_document(study)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "factory.json", doc)
    for name, (header, rows) in (("runs.csv", runs_table(study)), ("daily.csv", daily_table(study))):
        with (out / name).open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
    if html:
        from aifactory.report.factory_page import write_factory_page

        write_factory_page(out / "factory.html", study, doc)
    return doc


def headline(doc: dict[str, Any]) -> str:
    """The seed's question answered in one line."""
    u = doc["utilization"]

    def pct(x: float) -> str:
        return f"{x * 100:.0f} %"

    return (
        f"P50 utilisation {pct(u['p50'])} (P10 {pct(u['p10'])} … P90 {pct(u['p90'])}) of the installed GPUs "
        f"over {doc['days']:g} days from {doc['start']}, {doc['runs']} runs"
    )


def print_study(c: Console, doc: dict[str, Any]) -> None:
    from aifactory.report.terminal import money

    c.print(
        f"[bold]AI factory {doc['factory']}[/bold] ({doc['gpus']:,} GPUs, {doc['racks']} racks): "
        + headline(doc),
        soft_wrap=True,  # one line, however narrow the terminal: scripts grep for it
    )

    def band(q: dict[str, Any], fmt: Any) -> str:
        return " … ".join(fmt(q[k]) if q[k] is not None else "never" for k in ("p10", "p50", "p90"))

    def usd(x: float) -> str:
        return money(x)

    table = Table("figure", "P10 … P50 … P90", title_justify="left")
    table.add_row("revenue", band(doc["revenue_usd"], usd))
    table.add_row("cost (power, depreciation, operations)", band(doc["cost_usd"], usd))
    table.add_row("margin", band(doc["margin_usd"], usd))
    table.add_row("break-even utilisation", band(doc["break_even_utilization"], lambda x: f"{x:.0%}"))
    table.add_row(
        "break-even price (US$/GPU-h)", band(doc["break_even_price_usd_per_gpu_hour"], lambda x: f"{x:.2f}")
    )
    table.add_row("facility energy (MWh)", band(doc["energy_mwh"], lambda x: f"{x:,.0f}"))
    table.add_row("PUE", band(doc["pue"], lambda x: f"{x:.3f}"))
    table.add_row(
        "GPU-hours idle while jobs waited", band(doc["idle_while_waiting_gpu_hours"], lambda x: f"{x:,.0f}")
    )
    c.print(table)
    progs = Table(
        "programme", "share", "used (P50)", "GPU-hours (P50)", "wait h P10 … P90", title_justify="left"
    )
    for name, p in doc["programmes"].items():
        progs.add_row(
            name + (" ($)" if p["marketplace"] else ""),
            f"{p['entitlement']:.0%}",
            f"{p['usage_share']['p50']:.0%}",
            f"{p['gpu_hours']['p50']:,.0f}",
            band(p["avg_wait_hours"], lambda x: f"{x:,.2f}"),
        )
    c.print(progs)
