"""Plant design benchmark (plant design and operation issue): a design search on the Houston plant, in R.

Run by ``python -m benchmarks.run`` (``--only plant-design``) or alone with ``python -m
benchmarks.plant_design``. In one run it measures R (:mod:`benchmarks.reference`) and then the search of
``aifactory plant design foxconn-houston``'s seven variables with 50 trials × 8 replications of 28 days
(ranking and selection adds replications for close contenders), serially and on 2 worker processes,
through the library call the command makes (``design_search.search``): wall time in seconds and in R,
designs evaluated, replications run, and whether both runs choose the same design (the same seeds: they
must). Then the whole command as a process, with start-up and outputs. Writes
``bench-out/plant_design.json``; ``--quick``: 12 trials × 4 replications.
"""

from __future__ import annotations

import argparse
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
DEFAULT_OUT = ROOT / "bench-out" / "plant_design.json"
PLANT = "foxconn-houston"


def _search(trials: int, replications: int, workers: int, seed: int) -> dict[str, Any]:
    import optuna

    from aifactory.parallel import make_mapper
    from aifactory.plant.design_search import SearchSettings, search, summary
    from aifactory.plant.loading import load_plant

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # as the command does
    plant = load_plant(PLANT)
    assert plant.design is not None and plant.design.target_racks_per_week is not None
    settings = SearchSettings(
        target=plant.design.target_racks_per_week,
        probability=plant.design.probability,
        trials=trials,
        replications=replications,
        max_replications=4 * replications,
        days=28.0,
        warmup_days=7.0,
        seed=seed,
        batch=max(4, 2 * workers),
    )
    runs = [0]

    def count() -> None:
        runs[0] += 1

    started = time.perf_counter()
    result = search(plant, settings, make_mapper(workers) if workers > 1 else None, count)
    wall = time.perf_counter() - started
    doc = summary(result)
    return {
        "workers": workers,
        "wall_seconds": wall,
        "designs": len(result.evaluations),
        "replications_run": runs[0],
        "chosen": doc["chosen"],
    }


def _command(trials: int, replications: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        argv = [sys.executable, "-m", "aifactory", "plant", "design", PLANT, "--trials", str(trials)]
        argv += ["-r", str(replications), "--seed", str(seed), "--out", folder, "--quiet"]
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        return {"argv": argv[1:], "wall_seconds": time.perf_counter() - started}


def run(*, quick: bool, seed: int = 0) -> dict[str, Any]:
    trials, reps = (12, 4) if quick else (50, 8)
    print("[plant-design] machine reference R …", file=sys.stderr, flush=True)
    ref = machine_reference()
    if hasattr(os, "sched_setaffinity"):  # the two-worker run needs both cores
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    out: dict[str, Any] = {
        "plant": PLANT,
        "trials": trials,
        "replications": reps,
        "seed": seed,
        "reference": ref,
    }
    for workers in (1, 2):
        print(
            f"[plant-design] {trials} designs × {reps} replications, {workers} worker(s) …", file=sys.stderr
        )
        out[f"workers_{workers}"] = _search(trials, reps, workers, seed)
    out["same_choice"] = out["workers_1"]["chosen"] == out["workers_2"]["chosen"]
    print("[plant-design] the whole command …", file=sys.stderr, flush=True)
    out["command"] = _command(trials, reps, seed)
    return out


def report(res: dict[str, Any]) -> str:
    r = res["reference"]["R_seconds"]
    lines = [
        f"R = {r:.2f} s. Design search of {PLANT}: {res['trials']} trials × {res['replications']} "
        "replications of 28 days (more for close contenders).",
        "",
        "| run | wall | designs | replications | chosen cost a week |",
        "|---|---|---|---|---|",
    ]
    for workers in (1, 2):
        w = res[f"workers_{workers}"]
        cost = f"${w['chosen']['cost_per_week_usd']:,.0f}" if w["chosen"] else "none meets the target"
        lines.append(
            f"| {workers} worker(s) | {in_r(w['wall_seconds'], r)} | {w['designs']} | "
            f"{w['replications_run']} | {cost} |"
        )
    lines += [
        "| `aifactory plant design` as a process (1 worker) | "
        f"{in_r(res['command']['wall_seconds'], r)} | | | |",
        "",
        f"same design chosen on 1 and 2 workers: {res['same_choice']}",
    ]
    return "\n".join(lines)


def main(*, quick: bool = False, info: dict[str, Any] | None = None, command: str = "", seed: int = 0,
         out: Path = DEFAULT_OUT) -> dict[str, Any]:  # fmt: skip
    res = run(quick=quick, seed=seed)
    res["machine"] = info or {}
    res["benchmark_command"] = command or " ".join([Path(sys.executable).name, *sys.argv])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(report(res))
    print(f"wrote {out}")
    return res


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = parser.parse_args()
    main(quick=a.quick, seed=a.seed, out=a.out)
