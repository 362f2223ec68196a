"""Plant forecast benchmark (plant design and operation issue): a forecast from a snapshot of at least 500
open units, in R.

Run by ``python -m benchmarks.run`` (``--only plant-forecast``) or alone with ``python -m
benchmarks.plant_forecast``. In one run it measures R (:mod:`benchmarks.reference`), simulates the Fort
Worth plant for 20 days (seed 1) and takes the floor from its event log at 240 h (about 570 open racks
and trays), then times ``forecast`` — the library call ``aifactory plant forecast`` makes — with 30
replications: the full twin (new releases go on after the cut-off) and ``--open-only``, each serially and
on 2 worker processes; then the whole command as a process on the log (start-up, reading the log,
outputs). Writes ``bench-out/plant_forecast.json``; ``--quick``: 8 replications.
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
DEFAULT_OUT = ROOT / "bench-out" / "plant_forecast.json"
PLANT = "wistron-fort-worth"
DAYS, CUT = 20, 240.0


def run(*, quick: bool, seed: int = 0) -> dict[str, Any]:
    from aifactory.parallel import make_mapper
    from aifactory.plant.engine import simulate
    from aifactory.plant.events import events_of, floor_state, to_lines
    from aifactory.plant.forecast import forecast
    from aifactory.plant.loading import load_plant

    reps = 8 if quick else 30
    print("[plant-forecast] machine reference R …", file=sys.stderr, flush=True)
    ref = machine_reference()
    if hasattr(os, "sched_setaffinity"):  # the two-worker runs need both cores
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    plant = load_plant(PLANT)
    lines = list(to_lines(events_of(simulate(plant, days=DAYS, seed=1))))
    state = floor_state(plant, lines, CUT)
    out: dict[str, Any] = {
        "plant": PLANT, "cutoff_hours": CUT, "replications": reps, "reference": ref,
        "open_units": len(state.snapshot().units), "log_lines": len(lines),
    }  # fmt: skip
    for mode, new_releases in (("full", True), ("open_only", False)):
        for workers in (1, 2):
            print(f"[plant-forecast] {mode}, {workers} worker(s) …", file=sys.stderr, flush=True)
            mapper = make_mapper(workers) if workers > 1 else None
            started = time.perf_counter()
            fc = forecast(
                plant, state, replications=reps, seed=seed, new_releases=new_releases, mapper=mapper
            )
            out[f"{mode}_workers_{workers}"] = {
                "wall_seconds": time.perf_counter() - started,
                "median_p50_hours": float(
                    sorted(r["p50_hours"] or 1e9 for r in fc.unit_rows())[len(fc.ids) // 2]
                ),
            }
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "events.jsonl"
        log.write_text("".join(lines), encoding="utf-8")
        argv = [sys.executable, "-m", "aifactory", "plant", "forecast", PLANT, "--events", str(log)]
        argv += ["--now", str(CUT), "-r", str(reps), "--seed", str(seed), "--out", folder, "--quiet"]
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        out["command"] = {"argv": ["aifactory", *argv[3:]], "wall_seconds": time.perf_counter() - started}
    return out


def report(res: dict[str, Any]) -> str:
    r = res["reference"]["R_seconds"]
    lines = [
        f"R = {r:.2f} s. Forecast of {res['plant']} from its floor at {res['cutoff_hours']:g} h: "
        f"{res['open_units']} open units, {res['replications']} replications.",
        "",
        "| run | wall | median P50 (h) |",
        "|---|---|---|",
    ]
    for mode, label in (("full", "full twin"), ("open_only", "--open-only")):
        for workers in (1, 2):
            w = res[f"{mode}_workers_{workers}"]
            lines.append(
                f"| {label}, {workers} worker(s) | {in_r(w['wall_seconds'], r)} | "
                f"{w['median_p50_hours']:.1f} |"
            )
    lines.append(
        f"| `aifactory plant forecast` as a process ({res['log_lines']:,}-line log, 1 worker) | "
        f"{in_r(res['command']['wall_seconds'], r)} | |"
    )
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
