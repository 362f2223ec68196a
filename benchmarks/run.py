"""Supply Monte Carlo benchmark: ``python -m benchmarks.run [--quick]`` (``make bench``).

What it measures, on one core (thread pools capped at 1 before numpy / numba load; the process pinned
to one CPU where the OS allows):

* the Monte Carlo through the public API, ``run_monte_carlo(s, runs=10_000, seed=0)`` on the reference
  scenario (``nvidia-2025``, 1,461 days): the first call (it includes any JIT compilation or cache
  load) is reported on its own, then the best of 3 timed calls; ``MonteCarlo.summary()`` separately;
* the numpy reference engine ``aifactory.supply.engine.simulate`` on the same draws, for comparison
  (skipped with a note when a short probe predicts it would take more than 60 s);
* the straightforward SimPy model of the same network (``benchmarks.simpy_supply``), one run at a time,
  on the first K runs of the same draws: seconds per run, and the per-run speed ratio
  ``SimPy seconds per run / (Monte Carlo seconds / runs)`` (the issue's target: ≥ 1,000×);
* agreement: the mean delivered units to the scenario's main destination and the mean ``value_usd``
  over the same K runs from both models (must agree within 1 %), and the SimPy mean over its K runs
  against the Monte Carlo mean over all runs (a sampling comparison, reported with its z-score).

The serial line (``serial-line``, 365 days) is measured the same way as a second, small row.
Prints Markdown tables and writes everything, with machine details and the commands, to
``bench-out/supply.json``.

Then the operations-core benchmark (``benchmarks.scheduler``: the Philly replay per policy and one
scheduling cycle on 144 racks with 5,000 pending jobs) runs in the same pinned process and writes
``bench-out/scheduler.json``; then the fab-twin benchmark (``benchmarks.fab``: one simulated year of
SMT2020 HVLM) writes ``bench-out/fab.json``; then the plant-twin benchmark (``benchmarks.plant``: one
simulated year of the bundled Houston plant in R, against its SimPy model, and 32 replications on two
workers) writes ``bench-out/plant.json``; then the plant design search (``benchmarks.plant_design``: 50
designs × 8 replications on the Houston plant, serially and on two workers) writes
``bench-out/plant_design.json``; then the plant forecast (``benchmarks.plant_forecast``: a forecast from
the Fort Worth floor with about 570 open units, serially and on two workers) writes
``bench-out/plant_forecast.json``; then the planner (``benchmarks.plan``: ``aifactory plan nvidia-2025
--probability 0.8`` and ``aifactory compare`` at 2 × 2,000 runs, as processes) writes
``bench-out/plan.json``; then the AI-factory twin (``benchmarks.factory``: 32 runs × 90 days of the
144-rack Taiwan AI factory, serially and on two workers, and ``aifactory factory simulate`` as a process)
writes ``bench-out/factory.json``; then the operations-service benchmarks
(``benchmarks.service_submit``: sustained job submissions per second against the real server on
PostgreSQL; ``benchmarks.service_cycle``: one scheduler-loop cycle with the database, 144 racks and 5,000
pending jobs) write ``bench-out/service_submit.json`` and ``bench-out/service_cycle.json`` — they need the
PostgreSQL server at 127.0.0.1:5432 and are skipped with a message without it (the cycle still runs on
SQLite). ``--only supply|scheduler|fab|plant|plant-design|plant-forecast|plan|factory|service`` runs one
part.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

# One core: cap every thread pool before numpy / numba are imported (they read these at load time).
for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402 - after the thread caps on purpose
import simpy  # noqa: E402

from aifactory.scenario.loading import load_scenario  # noqa: E402
from aifactory.scenario.model import Scenario  # noqa: E402
from aifactory.supply import engine  # noqa: E402
from aifactory.supply.metrics import target_days  # noqa: E402
from aifactory.supply.montecarlo import MonteCarlo, run_monte_carlo  # noqa: E402
from aifactory.supply.network import Network, compile_network  # noqa: E402
from aifactory.supply.parameters import Parameters  # noqa: E402
from benchmarks.simpy_supply import destination_item, simulate_one  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench-out" / "supply.json"
REFERENCE_LIMIT_S = 60.0  # skip the numpy reference engine when it would take longer than this
REFERENCE_SCENARIO, REFERENCE_RUNS = "nvidia-2025", 10_000  # the timing targets apply here
TARGET_S, STRETCH_S, TARGET_RATIO, TARGET_AGREEMENT = 2.0, 0.5, 1000.0, 0.01
BENCHMARKS = ("supply", "scheduler", "fab", "plant", "plant-design", "plant-forecast", "plan", "factory",
              "service")  # fmt: skip

T = TypeVar("T")


@dataclass
class Row:
    """One scenario's measurements (seconds unless named otherwise)."""

    scenario: str
    horizon_days: int
    runs: int
    seed: int
    main_destination: str
    mc_first_call_s: float = 0.0
    mc_times_s: list[float] = field(default_factory=list)
    mc_best_s: float = 0.0
    mc_per_run_s: float = 0.0
    summary_s: float = 0.0
    reference_s: float | None = None
    reference_note: str = ""
    reference_max_rel_diff: float | None = None  # per-run delivered, Monte Carlo vs reference engine
    simpy_runs: int = 0
    simpy_times_s: list[float] = field(default_factory=list)
    simpy_per_run_s: float = 0.0
    speed_ratio: float = 0.0
    agreement: dict[str, dict[str, float]] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """``fn()`` and its wall time (a collection first, so earlier garbage is not billed to it)."""
    gc.collect()
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def pin_one_core() -> str:
    """Pin the process to one CPU it may use (the lowest-numbered); describe what was done."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this OS)"
    allowed = os.sched_getaffinity(0)
    cpu = 0 if 0 in allowed else min(allowed)
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError as exc:
        return f"not pinned ({exc})"
    return f"pinned to CPU {cpu} (of {len(allowed)} allowed)"


def machine_info(pinning: str) -> dict[str, Any]:
    """CPU model, core count and the versions that matter for the timings."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import numba

        numba_version = numba.__version__
    except ImportError:
        numba_version = "not installed"
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "pinning": pinning,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba_version,
        "simpy": simpy.__version__,
        "threads": {v: os.environ[v] for v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS")},
        # Other work on the machine inflates the timings; the load average says how much there was.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()]
        if hasattr(os, "getloadavg")
        else None,
    }


def main_destination(s: Scenario) -> str:
    """The destination the scenario's value target is about, else its first destination."""
    for t in s.targets:
        if t.metric == "value_usd" and t.destinations:
            return t.destinations[0]
    return next(iter(s.destinations))


def value_usd(s: Scenario, mc: MonteCarlo) -> np.ndarray:
    """Per-run value delivered to all destinations (the summary's ``value_usd``)."""
    total = np.zeros(mc.result.runs)
    for did in s.destinations:
        item = destination_item(s, did)
        total += mc.result.totals[f"destinations.{did}.delivered"] * mc.params[f"items.{item}.value_usd"]
    return total


def rel_diff(a: float, b: float) -> float:
    """|a − b| relative to |b| (0 when both are 0)."""
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(b), 1e-300)


def reference_engine(s: Scenario, mc: MonteCarlo, row: Row) -> None:
    """Time the numpy reference engine on the Monte Carlo's draws (skipped if predictably slow)."""
    runs = mc.result.runs
    probe_runs = min(runs, 1024)
    probe_params = {k: v[:probe_runs] for k, v in mc.params.items()}
    checkpoints = target_days(s)
    _, probe_s = timed(lambda: engine.simulate(s, probe_params, checkpoint_days=checkpoints))
    predicted = probe_s * runs / probe_runs
    if predicted > REFERENCE_LIMIT_S:
        row.reference_note = (
            f"skipped: {probe_runs} runs took {probe_s:.1f} s, {runs} predicted {predicted:.0f} s"
        )
        return
    ref, row.reference_s = timed(lambda: engine.simulate(s, mc.params, checkpoint_days=checkpoints))
    worst = 0.0
    for d in s.destinations:
        key = f"destinations.{d}.delivered"
        a, b = mc.result.totals[key], ref.totals[key]
        worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-9))))
    row.reference_max_rel_diff = worst


def simpy_call(s: Scenario, params: Parameters, run: int, net: Network) -> Callable[[], dict[str, float]]:
    """A thunk running one SimPy run (bound now, so each loop iteration times its own run)."""
    return lambda: simulate_one(s, params, run, net)


def bench_scenario(name: str, runs: int, simpy_runs: int, seed: int, repeats: int) -> Row:
    """Every measurement of one scenario (see the module docstring)."""
    s = load_scenario(name)
    row = Row(name, s.horizon_days, runs, seed, main_destination(s))
    print(f"[{name}] Monte Carlo: first call …", file=sys.stderr, flush=True)
    _, row.mc_first_call_s = timed(lambda: run_monte_carlo(s, runs=runs, seed=seed))
    results: list[MonteCarlo] = []
    for i in range(repeats):
        print(f"[{name}] Monte Carlo: timed call {i + 1}/{repeats} …", file=sys.stderr, flush=True)
        result, seconds = timed(lambda: run_monte_carlo(s, runs=runs, seed=seed))
        results.append(result)
        row.mc_times_s.append(seconds)
    mc = results[-1]
    del results[:-1]
    row.mc_best_s = min(row.mc_times_s)
    row.mc_per_run_s = row.mc_best_s / runs
    _, row.summary_s = timed(mc.summary)

    print(f"[{name}] numpy reference engine …", file=sys.stderr, flush=True)
    reference_engine(s, mc, row)

    print(f"[{name}] SimPy: {simpy_runs} runs …", file=sys.stderr, flush=True)
    net = compile_network(s)
    simpy_out: list[dict[str, float]] = []
    for i in range(simpy_runs):
        out, seconds = timed(simpy_call(s, mc.params, i, net))
        simpy_out.append(out)
        row.simpy_times_s.append(seconds)
    row.simpy_runs = simpy_runs
    row.simpy_per_run_s = sum(row.simpy_times_s) / simpy_runs
    row.speed_ratio = row.simpy_per_run_s / row.mc_per_run_s

    k = simpy_runs
    metrics = {
        f"delivered.{row.main_destination}": (
            np.array([o[f"destinations.{row.main_destination}.delivered"] for o in simpy_out]),
            mc.result.totals[f"destinations.{row.main_destination}.delivered"],
        ),
        "value_usd": (np.array([o["value_usd"] for o in simpy_out]), value_usd(s, mc)),
    }
    for key, (sim, full) in metrics.items():
        same = full[:k]
        sd = float(np.std(full, ddof=1)) if runs > 1 else 0.0
        stderr = sd / np.sqrt(k)
        if stderr <= 1e-12 * abs(float(full.mean())):  # a deterministic output: no sampling error
            stderr = 0.0
        row.agreement[key] = {
            "simpy_mean_k": float(sim.mean()),
            "mc_mean_same_k": float(same.mean()),
            "rel_diff_same_runs": rel_diff(float(sim.mean()), float(same.mean())),
            "max_rel_diff_per_run": max(rel_diff(float(a), float(b)) for a, b in zip(sim, same, strict=True)),
            "mc_mean_all": float(full.mean()),
            "rel_diff_vs_all_runs": rel_diff(float(sim.mean()), float(full.mean())),
            "z_vs_all_runs": float((sim.mean() - full.mean()) / stderr) if stderr > 0 else 0.0,
        }
    agree = all(a["rel_diff_same_runs"] < TARGET_AGREEMENT for a in row.agreement.values())
    row.checks = {"same_runs_mean_within_1pct": agree}
    if name == REFERENCE_SCENARIO and runs == REFERENCE_RUNS:  # the targets are about this case
        row.checks |= {
            f"mc_le_{TARGET_S:g}s": row.mc_best_s <= TARGET_S,
            f"mc_le_{STRETCH_S:g}s_stretch": row.mc_best_s <= STRETCH_S,
            f"ratio_ge_{TARGET_RATIO:g}": row.speed_ratio >= TARGET_RATIO,
        }
    return row


def fmt_s(seconds: float | None) -> str:
    """Seconds for a table: ms below one second."""
    if seconds is None:
        return "—"
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def markdown(rows: list[Row], info: dict[str, Any], command: str) -> str:
    """The tables printed to stdout (also suitable for docs/benchmarks.md)."""
    lines = [
        f"Machine: {info['cpu']}, {info['pinning']}; Python {info['python']}, numpy {info['numpy']}, "
        f"numba {info['numba']}, SimPy {info['simpy']}; "
        f"load average at start {info['load_average_at_start']}.",
        f"Command: `{command}`",
        "",
        "| scenario | runs × days | MC first call | MC best of "
        f"{len(rows[0].mc_times_s)} | MC per run | summary() | numpy reference | SimPy per run (K) "
        "| speed ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ref = fmt_s(r.reference_s) if r.reference_s is not None else r.reference_note
        lines.append(
            f"| {r.scenario} | {r.runs:,} × {r.horizon_days:,} | {fmt_s(r.mc_first_call_s)} "
            f"| **{fmt_s(r.mc_best_s)}** | {r.mc_per_run_s * 1e6:.1f} µs | {fmt_s(r.summary_s)} | {ref} "
            f"| {fmt_s(r.simpy_per_run_s)} ({r.simpy_runs}) | **{r.speed_ratio:,.0f}×** |"
        )
    lines += [
        "",
        "| scenario | output | SimPy mean (K runs) | MC mean, same K runs | rel. diff | max per-run diff "
        "| MC mean, all runs | SimPy K vs all (z) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for key, a in r.agreement.items():
            lines.append(
                f"| {r.scenario} | {key} | {a['simpy_mean_k']:,.6g} | {a['mc_mean_same_k']:,.6g} "
                f"| {a['rel_diff_same_runs']:.1e} | {a['max_rel_diff_per_run']:.1e} "
                f"| {a['mc_mean_all']:,.6g} "
                f"| {a['rel_diff_vs_all_runs']:.2%} ({a['z_vs_all_runs']:+.2f}) |"
            )
    lines += ["", "| scenario | check | result |", "|---|---|---|"]
    for r in rows:
        for check, ok in r.checks.items():
            lines.append(f"| {r.scenario} | {check} | {'pass' if ok else 'FAIL'} |")
    notes = [f"- {r.scenario}: numpy reference {r.reference_note}" for r in rows if r.reference_note]
    notes += [
        f"- {r.scenario}: Monte Carlo vs numpy reference engine, per-run delivered: max rel. diff "
        f"{r.reference_max_rel_diff:.1e}"
        for r in rows
        if r.reference_max_rel_diff is not None
    ]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def python_name() -> str:
    """The interpreter as a user would type it from the repository root (e.g. ``.venv/bin/python``)."""
    exe = Path(sys.executable)
    try:
        return str(exe.relative_to(ROOT))
    except ValueError:
        return str(exe)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 1,000 runs, 3 SimPy runs; 20,000 Philly jobs, 1,000 pending",
    )
    parser.add_argument("--runs", type=int, help="Monte Carlo runs (default 10,000; 1,000 with --quick)")
    parser.add_argument("--simpy-runs", type=int, help="SimPy runs (default 20; 3 with --quick)")
    parser.add_argument("--repeats", type=int, default=3, help="timed Monte Carlo calls (best is kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenarios", nargs="+", default=["nvidia-2025", "serial-line"])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results (default %(default)s)")
    parser.add_argument(
        "--only",
        choices=BENCHMARKS,
        help="run one benchmark: supply, scheduler, fab, plant, plant-design, plant-forecast, plan, "
        "factory or service (default: all)",
    )
    parser.add_argument(
        "--scheduler-out",
        type=Path,
        default=ROOT / "bench-out" / "scheduler.json",
        help="scheduler JSON results (default %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs = args.runs or (1_000 if args.quick else 10_000)
    simpy_runs = min(args.simpy_runs or (3 if args.quick else 20), runs)
    info = machine_info(pin_one_core())
    command = shlex.join([python_name(), "-m", "benchmarks.run", *(argv or sys.argv[1:])])
    if args.only in (None, "supply"):
        run_supply(args, runs, simpy_runs, info, command, argv)
    if args.only in (None, "scheduler"):
        from benchmarks import scheduler

        scheduler.main(
            quick=args.quick,
            info=info,
            command=command,
            argv=["-m", "benchmarks.run", *(argv or sys.argv[1:])],
            out=args.scheduler_out,
            seed=args.seed,
        )
    if args.only in (None, "fab"):
        from benchmarks import fab

        fab.main(quick=args.quick, info=info, command=command, seed=args.seed)
    if args.only in (None, "plant"):
        from benchmarks import plant

        plant.main(quick=args.quick, info=info, command=command)  # lifts the pinning for its 2-worker part
    if args.only in (None, "plant-design"):
        from benchmarks import plant_design

        plant_design.main(quick=args.quick, info=info, command=command)  # lifts the pinning too
    if args.only in (None, "plant-forecast"):
        from benchmarks import plant_forecast

        plant_forecast.main(quick=args.quick, info=info, command=command)  # lifts the pinning too
    if args.only in (None, "plan"):
        from benchmarks import plan

        plan.main(quick=args.quick, info=info, command=command)
    if args.only in (None, "factory"):
        from benchmarks import factory

        factory.main(quick=args.quick, info=info, command=command, seed=args.seed)  # lifts the pinning too
    if args.only in (None, "service"):
        from benchmarks import service_cycle, service_submit

        # The submission benchmark lifts the one-CPU pinning (the server, PostgreSQL and the load generator
        # share the cores); the cycle benchmark (the worker's one thread and PostgreSQL) runs after it.
        service_submit.main(quick=args.quick, info=info, command=command)
        service_cycle.main(quick=args.quick, info=info, command=command, seed=args.seed)
    return 0


def run_supply(
    args: argparse.Namespace,
    runs: int,
    simpy_runs: int,
    info: dict[str, Any],
    command: str,
    argv: list[str] | None,
) -> None:
    """The supply Monte Carlo benchmark: measure every scenario, print the tables, write ``args.out``."""
    rows = [bench_scenario(name, runs, simpy_runs, args.seed, args.repeats) for name in args.scenarios]
    table = markdown(rows, info, command)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "supply",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commands": {
            "make": "make bench",
            "direct": command,
            "argv": [sys.executable, "-m", "benchmarks.run", *(argv or sys.argv[1:])],
        },
        "quick": args.quick,
        "machine": info,
        "targets": {
            "mc_seconds": TARGET_S,
            "mc_seconds_stretch": STRETCH_S,
            "speed_ratio": TARGET_RATIO,
            "mean_rel_diff": TARGET_AGREEMENT,
        },
        "rows": [asdict(r) for r in rows],
        "markdown": table,
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
