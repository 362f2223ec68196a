"""Plant-twin benchmark (plant-twin issue): one simulated year of the bundled Houston plant, in R.

Run by ``python -m benchmarks.run`` (``--only plant``) in its pinned process, or alone with
``python -m benchmarks.plant``. In one run it measures:

* **R**, the machine reference (:mod:`benchmarks.reference`);
* **the engine**: ``PlantSim(foxconn-houston, seed 1).run(365 days)`` and its measures (kpis), best of 3;
  goal ≤ 3 R for both together;
* **the whole command** as a user runs it: ``aifactory plant simulate foxconn-houston --days 365
  --replications 1 --out DIR`` as a process (start-up, Parquet records and report.html included);
* **the SimPy model** of the same plant (:mod:`benchmarks.simpy_plant`), one year, once: wall time, its
  events, and the agreement of mean throughput and lead time (goal: within 1 %), and the speed ratio per
  plant event — both models simulate the same events of the same year, so it is SimPy's seconds ÷ the
  engine's (goal ≥ 5×); SimPy's own steps per plant event and the ratio per SimPy step are reported too;
* **replications**: 32 of the Houston year serially and on 2 worker processes (the pinning lifted for
  this part), the ratio (goal: about half the serial time) and whether the two ``kpis.json`` agree; and
  the machine's own ceiling: two single replications run at once as separate processes, against one
  alone.

Writes ``bench-out/plant.json`` and prints Markdown tables. ``--quick``: 60 days, 4 replications.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.reference import in_r, machine_reference

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "bench-out" / "plant.json"
PLANT = "foxconn-houston"
GOAL_R = 3.0
GOAL_PER_EVENT = 5.0
GOAL_AGREEMENT = 0.01


def _engine(days: float, seed: int, repeats: int) -> dict[str, Any]:
    from aifactory.compiled import engine_build
    from aifactory.plant.engine import PlantSim
    from aifactory.plant.loading import load_plant
    from aifactory.plant.measures import run_measures

    plant = load_plant(PLANT)
    sims, measures = [], []
    result: dict[str, Any] = {}
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        run = PlantSim(plant, seed).run(days * 24.0)
        sims.append(time.perf_counter() - started)
        started = time.perf_counter()
        m = run_measures(run, min(30.0, days / 4) * 24.0)
        measures.append(time.perf_counter() - started)
        result = {
            "events": run.events,
            "throughput_per_day": m["throughput_per_day"],
            "lead_time_hours": m["lead_time_hours"],
            "build": engine_build(),
        }
        del run
    best = min(s + m for s, m in zip(sims, measures, strict=True))
    return result | {
        "simulate_seconds": sims,
        "measure_seconds": measures,
        "best_seconds": best,
        "best_simulate_seconds": min(sims),
    }


def _engine_pure(days: float, seed: int, repeats: int) -> dict[str, Any]:
    """:func:`_engine` in a child process that imports the engine's sources (AIFACTORY_PURE_PYTHON=1)."""
    code = (
        "import json, sys; from benchmarks.plant import _engine; "
        f"print(json.dumps(_engine({days!r}, {seed!r}, {repeats!r})))"
    )
    env = dict(os.environ, AIFACTORY_PURE_PYTHON="1")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _command(days: float, seed: int) -> dict[str, Any]:
    """The whole command as a process, best of 2."""
    runs = [_command_once(days, seed) for _ in range(2)]
    return min(runs, key=lambda r: float(r["wall_seconds"]))


def _command_once(days: float, seed: int) -> dict[str, Any]:
    exe = Path(sys.executable).with_name("aifactory")
    with tempfile.TemporaryDirectory() as tmp:
        argv = [
            str(exe),
            "plant",
            "simulate",
            PLANT,
            "--days",
            f"{days:g}",
            "--replications",
            "1",
            "--seed",
            str(seed),
            "--out",
            tmp,
            "--quiet",
        ]
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
    return {"argv": argv[1:], "wall_seconds": wall, "output_bytes": size}


def _simpy(days: float, seed: int) -> dict[str, Any]:
    from aifactory.plant.loading import load_plant
    from benchmarks.simpy_plant import simulate_simpy

    plant = load_plant(PLANT)
    gc.collect()
    started = time.perf_counter()
    result = simulate_simpy(plant, days=days, seed=seed)
    wall = time.perf_counter() - started
    m = result.measures(min(30.0, days / 4) * 24.0)
    return {
        "wall_seconds": wall,
        "events": result.events,
        "throughput_per_day": m["throughput_per_day"],
        "lead_time_hours": m["lead_time_hours"],
    }


def _replications(days: float, replications: int, seed: int) -> dict[str, Any]:
    from aifactory.parallel import make_mapper
    from aifactory.plant.loading import load_plant
    from aifactory.plant.replications import combine, jobs_for, run_replications

    plant = load_plant(PLANT)
    out: dict[str, Any] = {"replications": replications, "days": days}
    docs = {}
    for workers in (1, 2):
        jobs = jobs_for(
            plant,
            days=days,
            warmup_days=min(30.0, days / 4),
            replications=replications,
            seed=seed,
            keep_first=False,
        )
        started = time.perf_counter()
        outcomes = run_replications(jobs, make_mapper(workers) if workers > 1 else None)
        wall = time.perf_counter() - started
        out[f"workers_{workers}_seconds"] = wall
        doc = combine(
            outcomes,
            plant=plant.name,
            days=days,
            warmup_days=min(30.0, days / 4),
            seed=seed,
            wall_seconds=0.0,
        )
        docs[workers] = json.dumps(doc, sort_keys=True)
    out["ratio"] = out["workers_2_seconds"] / out["workers_1_seconds"]
    out["identical"] = docs[1] == docs[2]
    return out


def _parallel_ceiling(days: float, seed: int) -> dict[str, Any]:
    """What two processes can do at once on this machine: one replication alone (best of 2), then two
    at the same time, each in its own process. ``ceiling`` = the pair's wall time ÷ twice one alone: the
    best ratio two workers can reach (0.5 on two free cores; more where the cores share caches or a
    host's other guests)."""
    code = (
        "import time; from aifactory.plant.loading import load_plant; "
        "from aifactory.plant.replications import jobs_for, run_job; "
        f"j = jobs_for(load_plant({PLANT!r}), days={days!r}, warmup_days={min(30.0, days / 4)!r}, "
        f"replications=1, seed={seed!r}, keep_first=False)[0]; run_job(j)"
    )
    argv = [sys.executable, "-c", code]

    def wall(n: int) -> float:
        started = time.perf_counter()
        procs = [subprocess.Popen(argv, cwd=ROOT) for _ in range(n)]
        for p in procs:
            p.wait()
        return time.perf_counter() - started

    alone = min(wall(1), wall(1))
    pair = min(wall(2), wall(2))
    return {"one_alone_seconds": alone, "two_at_once_seconds": pair, "ceiling": pair / (2 * alone)}


def _every_cpu() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def run(*, quick: bool, seed: int = 1, simpy: bool = True) -> dict[str, Any]:
    days = 60.0 if quick else 365.0
    reps = 4 if quick else 32
    print("[plant] machine reference R …", file=sys.stderr, flush=True)
    ref = machine_reference()
    r = ref["R_seconds"]
    print(f"[plant] {PLANT}: the engine, {days:g} days, best of 3 …", file=sys.stderr, flush=True)
    engine = _engine(days, seed, 3)
    print(f"[plant] {PLANT}: the engine's pure-Python sources, best of 3 …", file=sys.stderr, flush=True)
    pure = _engine_pure(days, seed, 3)
    print(f"[plant] {PLANT}: the whole command …", file=sys.stderr, flush=True)
    command = _command(days, seed)
    result: dict[str, Any] = {
        "plant": PLANT,
        "days": days,
        "seed": seed,
        "reference": ref,
        "engine": engine,
        "engine_pure_python": pure,
        "command": command,
    }
    if simpy:
        print(f"[plant] {PLANT}: the SimPy model, {days:g} days …", file=sys.stderr, flush=True)
        sp = _simpy(days, seed)
        result["simpy"] = sp
        # both models simulate the same plant events (the engine's kernel events); SimPy takes several of
        # its own steps for each (a process resumed, a timeout, a request)
        result["same_year_ratio"] = sp["wall_seconds"] / engine["best_simulate_seconds"]
        result["per_plant_event_ratio"] = result["same_year_ratio"]
        result["simpy_steps_per_plant_event"] = sp["events"] / engine["events"]
        result["per_simpy_step_ratio"] = (sp["wall_seconds"] / sp["events"]) / (
            engine["best_simulate_seconds"] / engine["events"]
        )
        result["agreement"] = {
            k: (engine[k] - sp[k]) / sp[k] if sp[k] else 0.0
            for k in ("throughput_per_day", "lead_time_hours")
        }
    print(f"[plant] {reps} replications serially and on 2 workers …", file=sys.stderr, flush=True)
    _every_cpu()
    result["replications"] = _replications(days, reps, seed)
    print("[plant] two processes at once, for the machine's ceiling …", file=sys.stderr, flush=True)
    result["parallel_ceiling"] = _parallel_ceiling(days, seed)
    result["checks"] = {
        "engine_le_3R": engine["best_seconds"] <= GOAL_R * r,
        "per_plant_event_ge_5x": result.get("per_plant_event_ratio", 0.0) >= GOAL_PER_EVENT,
        "agreement_within_1pct": all(abs(v) <= GOAL_AGREEMENT for v in result.get("agreement", {}).values()),
        "two_workers_at_the_machines_ceiling": result["replications"]["ratio"]
        <= 1.1 * result["parallel_ceiling"]["ceiling"],
        "replications_identical": result["replications"]["identical"],
    }
    return result


def report(res: dict[str, Any]) -> str:
    r = res["reference"]["R_seconds"]
    e = res["engine"]
    pure = res["engine_pure_python"]
    lines = [
        f"R = {r:.2f} s ({res['reference']['what']}); the engine: {e['build']}",
        "",
        "| measure | seconds | in R |",
        "|---|---|---|",
        f"| engine, {res['days']:g} days, simulate + measures (best of 3) | {e['best_seconds']:.2f} | "
        f"{e['best_seconds'] / r:.2f} R |",
        f"| engine, simulate only | {e['best_simulate_seconds']:.2f} | "
        f"{e['best_simulate_seconds'] / r:.2f} R |",
        "| engine from its pure-Python sources, simulate + measures | "
        f"{pure['best_seconds']:.2f} | {pure['best_seconds'] / r:.2f} R |",
        f"| `aifactory plant simulate` as a process | {res['command']['wall_seconds']:.2f} | "
        f"{res['command']['wall_seconds'] / r:.2f} R |",
    ]
    if "simpy" in res:
        s = res["simpy"]
        lines += [
            f"| SimPy model, same year | {s['wall_seconds']:.2f} | {s['wall_seconds'] / r:.2f} R |",
            "",
            f"Plant events: {e['events']:,} (SimPy takes {res['simpy_steps_per_plant_event']:.1f} of its "
            f"steps for each: {s['events']:,}). The engine is {res['per_plant_event_ratio']:.1f}× faster "
            f"per plant event (the same year), {res['per_simpy_step_ratio']:.1f}× per SimPy step. "
            "Agreement (engine − SimPy) / SimPy: throughput "
            f"{res['agreement']['throughput_per_day']:+.2%}, "
            f"lead time {res['agreement']['lead_time_hours']:+.2%}.",
        ]
    rep = res["replications"]
    lines += [
        "",
        f"{rep['replications']} replications: serial {in_r(rep['workers_1_seconds'], r)}, "
        f"two workers {in_r(rep['workers_2_seconds'], r)} (ratio {rep['ratio']:.2f}); "
        f"identical kpis: {rep['identical']}. Two processes at once on this machine: "
        f"{res['parallel_ceiling']['ceiling']:.2f} of twice one alone (the best two workers can do).",
        "",
        "checks: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in res["checks"].items()),
    ]
    return "\n".join(lines)


def main(
    *,
    quick: bool = False,
    info: dict[str, Any] | None = None,
    command: str = "",
    seed: int = 1,
    out: Path = DEFAULT_OUT,
    simpy: bool = True,
) -> dict[str, Any]:
    res = run(quick=quick, seed=seed, simpy=simpy)
    res["machine"] = info or {}
    res["command"] = res["command"] | {"benchmark": command or shlex_join(sys.argv)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(report(res))
    print(f"wrote {out}")
    return res


def shlex_join(argv: list[str]) -> str:
    import shlex

    return shlex.join([Path(sys.executable).name, *argv])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-simpy", action="store_true", help="leave out the SimPy model")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = parser.parse_args()
    main(quick=a.quick, seed=a.seed, out=a.out, simpy=not a.no_simpy)
