"""Planner benchmark (planner issue): ``aifactory plan nvidia-2025 --probability 0.8`` end to end in R,
with the MILP's size and solve time, and ``aifactory compare`` of two scenarios at 2,000 runs each.

Run by ``python -m benchmarks.run`` (``--only plan``) or alone with ``python -m benchmarks.plan``. In one
run it measures R (:mod:`benchmarks.reference`), then runs each command as a process (start-up, solves,
verification Monte Carlo, plan.json, plan.yaml and report.html included), best of ``--repeats`` (2), and
reads the model's size and HiGHS's solve seconds from plan.json. Compare runs the bundled scenario
against the plan just made. Writes ``bench-out/plan.json``; ``--quick``: one repeat.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.reference import in_r, machine_reference

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "bench-out" / "plan.json"
SCENARIO = "nvidia-2025"


def _timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "aifactory", *argv], check=True, capture_output=True)
    return time.perf_counter() - started


def run(*, repeats: int) -> dict[str, Any]:
    print("[plan] machine reference R …", file=sys.stderr, flush=True)
    ref = machine_reference()
    out: dict[str, Any] = {"scenario": SCENARIO, "reference": ref, "repeats": repeats}
    with tempfile.TemporaryDirectory() as folder:
        plan_dir = Path(folder) / "plan"
        argv = ["plan", SCENARIO, "--probability", "0.8", "--out", str(plan_dir), "--quiet"]
        times = []
        for i in range(repeats):
            print(f"[plan] aifactory plan, {i + 1}/{repeats} …", file=sys.stderr, flush=True)
            times.append(_timed(argv))
        doc = json.loads((plan_dir / "plan.json").read_text(encoding="utf-8"))
        out["plan"] = {
            "argv": ["aifactory", *argv[:-3], "--out", "DIR"],
            "wall_seconds": min(times),
            "all_seconds": times,
            "model": doc["model"],
            "rounds": len(doc["rounds"]),
            "cost_usd": doc["cost_usd"],
            "met": doc["met"],
            "probability_met": [t["probability_met"] for t in doc["targets"]],
        }
        argv = [
            "compare",
            SCENARIO,
            str(plan_dir),
            "--runs",
            "2000",
            "--out",
            str(Path(folder) / "cmp"),
            "--quiet",
        ]
        times = []
        for i in range(repeats):
            print(f"[plan] aifactory compare, {i + 1}/{repeats} …", file=sys.stderr, flush=True)
            times.append(_timed(argv))
        out["compare"] = {"argv": ["aifactory", "compare", SCENARIO, "PLAN_DIR", "--runs", "2000"],
                          "wall_seconds": min(times), "all_seconds": times}  # fmt: skip
    return out


def report(res: dict[str, Any]) -> str:
    r = res["reference"]["R_seconds"]
    p, c = res["plan"], res["compare"]
    m = p["model"]
    return "\n".join(
        [
            f"R = {r:.2f} s. Best of {res['repeats']}, each command as a process.",
            "",
            "| command | wall | goal |",
            "|---|---|---|",
            f"| `aifactory plan {SCENARIO} --probability 0.8` | {in_r(p['wall_seconds'], r)} | ≤ 10 R |",
            f"| `aifactory compare {SCENARIO} PLAN --runs 2000` (2 × 2,000 runs) | "
            f"{in_r(c['wall_seconds'], r)} | ≤ 2 R |",
            "",
            f"Planning model: {m['variables']:,} variables ({m['integer_variables']} integer), "
            f"{m['constraints']:,} constraints, {m['nonzeros']:,} nonzeros ({m['samples']} samples × "
            f"{m['buckets']} buckets); HiGHS {m['solve_seconds']:.1f} s in all over {p['rounds']} rounds; "
            f"plan ${p['cost_usd'] / 1e9:.1f}B, targets met in "
            + " / ".join(f"{q:.0%}" for q in p["probability_met"])
            + " of the verified runs.",
        ]
    )


def main(*, quick: bool = False, info: dict[str, Any] | None = None, command: str = "",
         out: Path = DEFAULT_OUT) -> dict[str, Any]:  # fmt: skip
    res = run(repeats=1 if quick else 2)
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
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = parser.parse_args()
    main(quick=a.quick, out=a.out)
