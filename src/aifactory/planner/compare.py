"""``compare``: scenarios (or plans) side by side, with differences measured on common random numbers.

Every study runs the same runs of the same seed. Because each figure has its own random stream
(``supply.parameters``), a figure two scenarios share takes the same value in the same run of both, so
a run-by-run difference removes the noise both have in common: its confidence interval is that of the
paired differences, ``1.96 × sd(B − A) / √n``, usually far narrower than comparing two independent
studies (given too, for contrast).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from aifactory.scenario.model import Scenario, Target
from aifactory.supply.metrics import (
    bottleneck_shares,
    destination_item,
    quantiles,
    target_met,
    target_values,
)
from aifactory.supply.montecarlo import Mapper, MonteCarlo, run_monte_carlo, serial_map

FloatArray = npt.NDArray[np.float64]
Z95 = 1.959964


@dataclass(frozen=True)
class Study:
    label: str
    scenario: Scenario
    capex_usd: float | None = None  # a plan's cost of additions, where the study is a plan


def measures(s: Scenario, mc: MonteCarlo) -> dict[str, FloatArray]:
    """Per-run outcomes by name: totals, each destination, each target, costs."""
    tot = mc.result.totals
    out: dict[str, FloatArray] = {}
    value = np.zeros(mc.result.runs)
    gpus = np.zeros(mc.result.runs)
    for did in s.destinations:
        item = destination_item(s, did)
        units = tot[f"destinations.{did}.delivered"]
        out[f"destinations.{did}.{item}"] = units
        out[f"destinations.{did}.value_usd"] = units * mc.params[f"items.{item}.value_usd"]
        value += out[f"destinations.{did}.value_usd"]
        if s.items[item].gpus:
            out[f"destinations.{did}.gpus"] = units * s.items[item].gpus
            gpus += out[f"destinations.{did}.gpus"]
    out["value_usd"] = value
    if any(s.items[destination_item(s, did)].gpus for did in s.destinations):
        out["gpus_delivered"] = gpus
    for t in s.targets:
        out[target_key(t)] = target_values(s, t, mc.result, mc.params)
    cost = sum((tot[f"stages.{sid}.cost_usd"] for sid in s.stages), np.zeros(mc.result.runs))
    for i in range(len(s.lanes)):
        cost = cost + tot[f"lanes.{i}.cost_usd"] + tot[f"lanes.{i}.tariff_usd"]
    out["operating_cost_usd"] = cost
    return out


def target_key(t: Target) -> str:
    return f"target ({t.metric}): {t.name or t.metric} by {t.by}"


def difference(a: FloatArray, b: FloatArray) -> dict[str, float]:
    """``B − A`` run by run: mean, paired 95 % half-width, the independent half-width, share of runs B > A."""
    d = b - a
    n = len(d)
    paired = Z95 * float(np.std(d, ddof=1)) / np.sqrt(n) if n > 1 else float("nan")
    independent = (
        Z95 * float(np.sqrt(np.var(a, ddof=1) / n + np.var(b, ddof=1) / n)) if n > 1 else float("nan")
    )
    return {
        "mean": float(np.mean(d)),
        "ci95": paired,
        "ci95_independent": independent,
        "share_b_greater": float(np.mean(d > 0)),
    }


StudyMap = Callable[[Callable[[Study], MonteCarlo], list[Study]], Iterable[MonteCarlo]]


def compare(
    studies: list[Study],
    *,
    runs: int,
    seed: int,
    mapper: Mapper = serial_map,
    chunks: int = 1,
    study_map: StudyMap = map,
    on_study: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run every study on the same runs; summarise each, and each one's difference from the first.

    ``study_map`` maps the studies' Monte Carlos (a thread pool's ``map`` runs them side by side: the
    compiled kernel releases the GIL); ``mapper`` maps each one's chunks."""
    if len(studies) < 2:
        raise ValueError("compare needs at least two scenarios")

    def simulate(study: Study) -> MonteCarlo:
        return run_monte_carlo(study.scenario, runs=runs, seed=seed, mapper=mapper, chunks=chunks)

    outcomes: list[dict[str, FloatArray]] = []
    rows: list[dict[str, Any]] = []
    for study, mc in zip(studies, study_map(simulate, studies), strict=True):
        m = measures(study.scenario, mc)
        outcomes.append(m)
        targets = []
        for t in study.scenario.targets:
            v = m[target_key(t)]
            targets.append({"name": t.name or t.metric, "metric": t.metric, "by": t.by.isoformat(),
                            "target": t.value, "p50": float(np.median(v)),
                            "probability_met": float(np.mean(target_met(t, v)))})  # fmt: skip
        rows.append(
            {
                "label": study.label,
                "scenario": study.scenario.name,
                "capex_usd": study.capex_usd,
                "measures": {k: quantiles(v) for k, v in m.items()},
                "targets": targets,
                "bottlenecks": dict(list(bottleneck_shares(study.scenario, mc.result).items())[:5]),
            }
        )
        if on_study is not None:
            on_study(study.label)
    base = outcomes[0]
    for row, m in zip(rows[1:], outcomes[1:], strict=True):
        row["difference_from"] = rows[0]["label"]
        row["differences"] = {k: difference(base[k], m[k]) for k in m if k in base}
    return {"runs": runs, "seed": seed, "studies": rows, "common_random_numbers": True}
