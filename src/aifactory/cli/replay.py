"""``aifactory replay``: a GPU-cluster trace through the scheduler on a virtual clock (docs/replay.md)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aifactory.cli.out_folder import out_folder_problem
from aifactory.cli.progress import progress_bar

if TYPE_CHECKING:
    from aifactory.cluster.topology import Topology
    from aifactory.replay.trace import Rejection
    from aifactory.scenario.model import AIFactory


MAX_RACKS = 100_000
"""Most racks a replayed factory may have (7.2 million GPUs of NVL72 racks)."""


class ReplayInputError(ValueError):
    """Bad replay options (exit code 2)."""


def _check_finite(options: dict[str, float | None]) -> None:
    """NaN and infinity are not values of any option (typer's range checks let them through)."""
    for option, value in options.items():
        if value is not None and not math.isfinite(value):
            raise ReplayInputError(f"{option}: not a finite number ({value})")


def _no_jobs(name: str, rejected: list[Rejection]) -> str:
    """The one line for a trace without a job to replay: empty, or every row skipped."""
    if not rejected:
        return f"{name}: no job to replay (the file has no data rows)"
    first = rejected[0]
    return f"{name}: no job to replay: every row was skipped ({len(rejected)} in all; first: {first})"


def parse_shares(text: str | None, tenants: list[str]) -> dict[str, float]:
    """``--shares a=2,b=1`` → entitlements; default: equal shares for the trace's tenants."""
    if not text:
        return dict.fromkeys(tenants, 1.0)
    shares: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            shares[name.strip()] = float(value)
        except ValueError:
            raise ReplayInputError(f"--shares {part!r}: expected TENANT=NUMBER") from None
        if not sep or not name.strip():
            raise ReplayInputError(f"--shares {part!r}: expected TENANT=NUMBER")
        if not math.isfinite(shares[name.strip()]) or shares[name.strip()] < 0:
            raise ReplayInputError(f"--shares {part!r}: a share must be a finite number >= 0")
    if shares and not any(shares.values()):
        raise ReplayInputError("--shares: at least one share must be > 0")
    return shares


def parse_budgets(text: str | None) -> dict[str, float]:
    """``--budgets a=1000,b=250`` (GPU-hours) → GPU-seconds per tenant."""
    budgets: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        try:
            hours = float(value)
        except ValueError:
            raise ReplayInputError(f"--budgets {part!r}: expected TENANT=GPU_HOURS") from None
        if not sep or not name.strip() or not math.isfinite(hours) or hours < 0:
            raise ReplayInputError(f"--budgets {part!r}: expected TENANT=GPU_HOURS with GPU_HOURS >= 0")
        budgets[name.strip()] = hours * 3600
    return budgets


def replay_command(
    trace: Annotated[
        Path | None, typer.Argument(help="Trace file (philly CSV, generic CSV or Parquet).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out/replay"),
    fmt: Annotated[str | None, typer.Option("--format", help="philly | generic (default: detect).")] = None,
    policy: Annotated[
        str, typer.Option("--policy", "-p", help="Scheduling policy (--list-policies).")
    ] = "fairshare",
    racks: Annotated[
        int | None, typer.Option("--racks", min=1, max=MAX_RACKS, help="NVL72 racks in the factory [6].")
    ] = None,
    rack_gpus: Annotated[int, typer.Option("--rack-gpus", min=1, help="GPUs per rack.")] = 72,
    schedulable_trays: Annotated[
        int | None,
        typer.Option("--schedulable-trays", min=1, help="Trays per rack open to jobs (others spare)."),
    ] = None,
    block_racks: Annotated[int, typer.Option("--block-racks", min=1, help="Racks per scale-out block.")] = 8,
    time_scale: Annotated[
        float, typer.Option("--time-scale", min=0.0001, help="Compress arrivals: 2 = twice as dense.")
    ] = 1.0,
    scale_gpus: Annotated[float, typer.Option("--scale-gpus", min=0.0001, help="Multiply job sizes.")] = 1.0,
    scenario: Annotated[
        str | None, typer.Option("--scenario", help="Take the factory from this scenario's ai_factories.")
    ] = None,
    factory: Annotated[str | None, typer.Option("--factory", help="The AI factory id in --scenario.")] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a scenario field (with --scenario).")
    ] = None,
    shares: Annotated[
        str | None, typer.Option("--shares", help="Tenant entitlements, e.g. a=2,b=1 (default: equal).")
    ] = None,
    budgets: Annotated[
        str | None,
        typer.Option("--budgets", help="GPU-hour budgets, e.g. a=1000,b=250: then a tenant's jobs are held."),
    ] = None,
    starvation_hours: Annotated[
        float | None,
        typer.Option(
            "--starvation-hours",
            min=0.0,
            help="fairshare/quota: a queue head waiting longer starts as soon as it fits (default: off).",
        ),
    ] = None,
    tray_mtbf_hours: Annotated[
        float | None,
        typer.Option(
            "--tray-mtbf-hours",
            min=0.001,
            help="Break trays at random, mean hours between a tray's failures [the factory's, or off].",
        ),
    ] = None,
    tray_repair_hours: Annotated[
        float | None,
        typer.Option(
            "--tray-repair-hours",
            min=0.001,
            help="Mean hours to repair a broken tray [the factory's, or 24].",
            show_default=False,
        ),
    ] = None,
    checkpoint_minutes: Annotated[
        float | None,
        typer.Option(
            "--checkpoint-minutes",
            min=0.001,
            help="Jobs hit by a failure restart from a checkpoint taken this often [the factory's, or 60].",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the random failures.")] = 0,
    list_policies: Annotated[
        bool, typer.Option("--list-policies", help="List the policies and exit.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal summary.")] = False,
) -> None:
    """Replay a trace through the scheduler; write metrics.json, jobs.csv, allocations.csv, rejected.csv."""
    from aifactory.replay.files import write_outputs
    from aifactory.replay.metrics import replay_metrics
    from aifactory.replay.runner import prepare, replay
    from aifactory.replay.setup import replay_setup
    from aifactory.replay.trace import load_trace
    from aifactory.scheduler.policies import POLICIES, describe

    console, err = Console(), Console(stderr=True)
    if list_policies:
        table = Table("policy", "what it does")
        for name in POLICIES:
            table.add_row(name, describe(name))
        console.print(table)
        return
    if trace is None:
        raise ReplayInputError("replay: missing TRACE (a trace file), or use --list-policies")
    if policy not in POLICIES:
        raise ReplayInputError(f"--policy {policy}: unknown policy (policies: {', '.join(POLICIES)})")
    _check_finite(
        {
            "--time-scale": time_scale,
            "--scale-gpus": scale_gpus,
            "--starvation-hours": starvation_hours,
            "--tray-mtbf-hours": tray_mtbf_hours,
            "--tray-repair-hours": tray_repair_hours,
            "--checkpoint-minutes": checkpoint_minutes,
        }
    )
    problem = out_folder_problem(out)
    if problem is not None:
        raise ReplayInputError(problem)
    from aifactory.cluster.topology import Topology
    from aifactory.scenario.loading import ScenarioError

    spec: AIFactory | None = None
    try:
        if scenario is not None or factory is not None:
            topology, spec, note = _factory_from_scenario(scenario, factory, overrides, racks)
            if note and not quiet:
                err.print(note, highlight=False)
        else:
            topology = Topology.build(
                racks or 6, rack_gpus=rack_gpus, schedulable_trays=schedulable_trays, block_racks=block_racks
            )
    except ValueError as exc:
        if isinstance(exc, ScenarioError):
            raise
        raise ReplayInputError(f"cluster: {exc}") from None
    loaded = load_trace(trace, fmt)
    if not loaded.jobs:
        raise ReplayInputError(_no_jobs(trace.name, loaded.rejected))
    if loaded.warnings:
        err.print(
            f"{trace.name}: {len(loaded.warnings)} rows go back in time "
            f"(first: row {loaded.warnings[0].row}); they were sorted by submit time",
            highlight=False,
        )
    for rejection in loaded.rejected[:5]:
        err.print(
            f"{trace.name}: row {rejection.row}: {rejection.reason} (skipped)",
            highlight=False,
            soft_wrap=True,
        )
    if len(loaded.rejected) > 5:
        err.print(
            f"{trace.name}: {len(loaded.rejected)} rows skipped in all (see rejected.csv)", highlight=False
        )
    jobs = prepare(loaded.jobs, time_scale=time_scale, scale_gpus=scale_gpus)
    setup = replay_setup(
        topology.gpus,
        loaded.tenants,
        factory=spec,
        shares=parse_shares(shares, loaded.tenants) if shares else None,
        budgets=parse_budgets(budgets),
        starvation_hours=starvation_hours,
        tray_mtbf_hours=tray_mtbf_hours,
        tray_repair_hours=tray_repair_hours,
        checkpoint_minutes=checkpoint_minutes,
    )
    for line in setup.notes if not quiet else ():
        err.print(line, highlight=False)
    started = time.perf_counter()
    with progress_bar(err, f"[bold]replay[/bold] {policy}", "jobs", quiet=quiet) as progress:
        task = progress.add_task("jobs", total=len(jobs))
        result = replay(
            jobs,
            topology,
            policy,
            setup.tenancy,
            options=setup.options,
            failures=setup.failures,
            seed=seed,
            on_progress=lambda done: progress.update(task, completed=done),
        )
    wall = time.perf_counter() - started
    metrics = replay_metrics(result, wall_seconds=wall)
    rows = [(r.row, r.job_id, r.reason) for r in loaded.rejected]
    write_outputs(out, result, metrics, rows)
    if result.rejected:
        err.print(
            f"{len(result.rejected)} jobs can never run on {topology.gpus} GPUs (listed in rejected.csv)"
        )
    if result.held:
        err.print(f"{len(result.held)} jobs held: their tenant's GPU-hour budget was spent (in rejected.csv)")
    if not quiet:
        print_replay_summary(console, metrics)
        console.print(f"wrote {out}/metrics.json, jobs.csv, allocations.csv, rejected.csv")


def _factory_from_scenario(
    scenario: str | None, factory: str | None, overrides: list[str] | None, racks: int | None
) -> tuple[Topology, AIFactory, str]:
    """Topology and description of ``--factory`` in ``--scenario``; a note on power."""
    from aifactory.cluster.factory import plan_factory
    from aifactory.scenario.loading import load_scenario

    if scenario is None or factory is None:
        raise ReplayInputError("--scenario and --factory go together")
    plan = plan_factory(load_scenario(scenario, overrides), factory, racks=racks)
    note = ""
    if plan.power_limited_racks is not None and plan.racks_wanted > plan.power_limited_racks:
        note = (
            f"{factory}: the power budget allows {plan.power_limited_racks} of {plan.racks_wanted} racks; "
            f"replaying on {plan.topology.racks}"
        )
    return plan.topology, plan.spec, note


def print_replay_summary(console: Console, m: dict[str, Any]) -> None:
    hours = 3600.0
    console.print(
        f"[bold]{m['policy']}[/bold] on {m['racks']} racks ({m['gpus']} GPUs): "
        f"{m['completed']:,} jobs completed, {m['rejected']} rejected, {m['wall_seconds']:.2f} s"
    )
    table = Table("metric", "value", title="Replay", title_justify="left")
    for label, key, scale in (
        ("average JCT (h)", "avg_jct_s", hours),
        ("P50 / P99 JCT (h)", ("p50_jct_s", "p99_jct_s"), hours),
        ("average wait (h)", "avg_wait_s", hours),
        ("P99 wait (h)", "p99_wait_s", hours),
        ("makespan (days)", "makespan_s", 86400.0),
    ):
        if isinstance(key, tuple):
            value = " / ".join(f"{float(m[k]) / scale:,.2f}" for k in key)
        else:
            value = f"{float(m[key]) / scale:,.2f}"
        table.add_row(label, value)
    table.add_row("utilisation", f"{float(m['utilization']):.1%}")
    table.add_row("GPU-hours idle while jobs waited", f"{float(m['idle_while_waiting_gpu_hours']):,.0f}")
    table.add_row("preemptions", f"{m['preemptions']:,}")
    if m.get("tray_failures"):
        table.add_row(
            "tray failures / jobs interrupted / GPU-hours lost",
            f"{m['tray_failures']:,} / {m['jobs_interrupted']:,} / {float(m['gpu_hours_lost']):,.0f}",
        )
    table.add_row(
        "finish-time fairness (worst / best tenant slowdown)", f"{float(m['finish_time_fairness']):.2f}"
    )
    console.print(table)
    tenants: dict[str, dict[str, Any]] = m["tenants"]
    t = Table(
        "tenant", "jobs", "usage share", "entitlement", "avg wait (h)", title="Tenants", title_justify="left"
    )
    for name, row in sorted(tenants.items(), key=lambda kv: -kv[1]["gpu_seconds"]):
        t.add_row(
            name,
            f"{row['jobs']:,}",
            f"{row['usage_share']:.1%}",
            f"{row['entitlement']:.1%}",
            f"{row['avg_wait_s'] / hours:,.2f}",
        )
    console.print(t)
    programmes: dict[str, dict[str, Any]] = m.get("programmes", {})
    if programmes:
        p = Table(
            "programme", "projects", "jobs", "usage share", "council share", "avg wait (h)",
            title="Programmes", title_justify="left",
        )  # fmt: skip
        for name, row in programmes.items():
            p.add_row(
                name,
                ", ".join(row["projects"]),
                f"{row['jobs']:,}",
                f"{row['usage_share']:.1%}",
                f"{row['entitlement']:.1%}",
                f"{row['avg_wait_s'] / hours:,.2f}",
            )
        console.print(p)
