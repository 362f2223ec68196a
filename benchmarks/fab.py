"""Fab-twin benchmark (fab-twin issue): one simulated year of SMT2020 HVLM on one core.

Run by ``python -m benchmarks.run`` (``--only fab``) in its pinned process. Measures
``aifactory.fab.simulate`` (reading the data set is timed on its own): wall seconds, events, events per
second and simulated days per wall second, for 365 days (30 with ``--quick``) with no warm-up, seed 0.
Goal: ≤ 120 s per simulated year (stretch ≤ 30 s). Writes ``bench-out/fab.json``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "bench-out" / "fab.json"
GOAL_S_PER_YEAR = 120.0
STRETCH_S_PER_YEAR = 30.0


def hvlm_path() -> Path:
    root = os.environ.get("AIFACTORY_DATA_DIR")
    base = Path(root) if root else ROOT.parent / "shared" / "data"
    return base / "smt2020" / "HVLM"


def run(*, quick: bool, seed: int = 0) -> dict[str, Any]:
    from aifactory.fab import read_dataset
    from aifactory.fab.engine import simulate

    path = hvlm_path()
    started = time.perf_counter()
    data = read_dataset(path)
    read_s = time.perf_counter() - started
    days = 30.0 if quick else 365.0
    print(f"[fab] HVLM: simulating {days:g} days …", file=sys.stderr, flush=True)
    started = time.perf_counter()
    result = simulate(data, days=days, warmup_days=0.0, seed=seed)
    wall = time.perf_counter() - started
    per_year = wall * 365.0 / days
    return {
        "dataset": str(path),
        "read_seconds": read_s,
        "days": days,
        "seed": seed,
        "wall_seconds": wall,
        "events": result.events,
        "events_per_second": result.events / wall,
        "simulated_days_per_second": days / wall,
        "seconds_per_simulated_year": per_year,
        "lots_completed": result.completed,
        "wip_end": result.wip_end,
        "checks": {
            "year_le_120s": per_year <= GOAL_S_PER_YEAR,
            "year_le_30s_stretch": per_year <= STRETCH_S_PER_YEAR,
        },
    }


def markdown(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            "| data set | days | wall | events | events/s | simulated days/s | s per simulated year |",
            "|---|---|---|---|---|---|---|",
            f"| HVLM | {r['days']:g} | **{r['wall_seconds']:.1f} s** | {r['events']:,} | "
            f"{r['events_per_second']:,.0f} | {r['simulated_days_per_second']:.2f} | "
            f"{r['seconds_per_simulated_year']:.0f} s |",
            "",
            f"Reading the data set: {r['read_seconds'] * 1000:.0f} ms. Checks: "
            + ", ".join(f"{k} {'pass' if v else 'FAIL'}" for k, v in r["checks"].items()),
        ]
    )


def main(
    *, quick: bool, info: dict[str, Any], command: str, out: Path = DEFAULT_OUT, seed: int = 0
) -> dict[str, Any]:
    if not hvlm_path().is_dir():
        print(f"[fab] skipped: {hvlm_path()} not found (set AIFACTORY_DATA_DIR)", file=sys.stderr)
        return {}
    results = run(quick=quick, seed=seed)
    text = markdown(results)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": info, "command": command, "results": results, "markdown": text}
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"[fab] wrote {out}", file=sys.stderr)
    return results
