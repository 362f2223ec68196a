"""``factory.json``: the study summarised over runs (each ``Q`` is mean, P10, P50, P90), and the per-run
table (``runs.csv``) and daily bands (``daily.csv``) beside it."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from aifactory.twin.factory_study import FactoryStudy

SCALARS = (
    "utilization",
    "gpu_hours_used",
    "gpu_hours_installed",
    "idle_while_waiting_gpu_hours",
    "energy_mwh",
    "it_energy_mwh",
    "idle_energy_mwh",
    "pue",
    "peak_facility_mw",
    "revenue_usd",
    "cost_usd",
    "electricity_usd",
    "depreciation_usd",
    "operations_usd",
    "margin_usd",
    "break_even_utilization",
    "break_even_price_usd_per_gpu_hour",
    "jobs",
    "jobs_started",
    "tray_failures",
    "preemptions",
)
PROGRAMME_FIGURES = ("gpu_hours", "avg_wait_hours", "usage_share", "revenue_usd", "jobs")


def q(values: npt.NDArray[np.float64]) -> dict[str, float | None]:
    """Mean, P10, P50, P90 over runs; runs where a figure has no finite value (a break-even that cannot
    be reached) count as above every finite one, and a quantile that falls on them is null."""
    v = np.asarray(values, dtype=np.float64)
    v = np.where(np.isnan(v), np.inf, v)
    p10, p50, p90 = np.percentile(v, [10, 50, 90], method="inverted_cdf")
    mean = float(v.mean()) if np.all(np.isfinite(v)) else None
    return {"mean": mean} | {
        k: float(x) if math.isfinite(x) else None for k, x in (("p10", p10), ("p50", p50), ("p90", p90))
    }


def factory_document(study: FactoryStudy) -> dict[str, Any]:
    setup = study.setup
    spec = setup.plan.spec
    topo = setup.plan.topology
    doc: dict[str, Any] = {
        "factory": setup.plan.id,
        "scenario": setup.scenario,
        "gpus": topo.gpus,
        "racks": topo.racks,
        "days": setup.days,
        "runs": study.runs,
        "seed": setup.seed,
        "policy": setup.policy,
        "start": setup.start.isoformat(),
        "wall_seconds": study.wall_seconds,
        "power_budget_mw": spec.power_budget_mw,
    }
    for name in SCALARS:
        doc[name] = q(study.values(name))
    if spec.power_budget_mw is not None:
        doc["power_cap_gpus"] = q(study.values("power_cap_gpus"))
    doc["programmes"] = {
        p: {name: q(study.programme_values(p, name)) for name in PROGRAMME_FIGURES}
        | {"entitlement": share, "marketplace": p in spec.demand and spec.demand[p].is_marketplace}
        for p, share in setup.plan.entitlements.items()
    }
    doc["sensitivity"] = {
        "utilization": study.sensitivity("utilization"),
        "margin_usd": study.sensitivity("margin_usd"),
    }
    return doc


def runs_table(study: FactoryStudy) -> tuple[list[str], list[list[Any]]]:
    """One row per run: its scalars, each programme's GPU-hours and wait, and its draws."""
    programmes = list(study.setup.plan.entitlements)
    draws = list(study.outcomes[0].draws) if study.outcomes else []
    header = ["run", *SCALARS]
    header += [f"{p}.{f}" for p in programmes for f in ("gpu_hours", "avg_wait_hours")]
    header += draws
    rows = []
    for o in study.outcomes:
        row: list[Any] = [o.run, *(o.scalars[n] for n in SCALARS)]
        row += [o.programmes[p][f] for p in programmes for f in ("gpu_hours", "avg_wait_hours")]
        row += [o.draws[d] for d in draws]
        rows.append(row)
    return header, rows


DAILY = ("utilization", "busy_gpus", "installed_gpus", "idle_while_waiting_gpus", "facility_mw", "pue")


def daily_table(study: FactoryStudy) -> tuple[list[str], list[list[Any]]]:
    """One row per day: P10/P50/P90 over runs of each daily series."""
    bands = {name: study.daily_band(name) for name in DAILY}
    days = bands["utilization"].shape[1]
    start = study.setup.start
    header = ["day", "date"] + [f"{n}_{p}" for n in DAILY for p in ("p10", "p50", "p90")]
    rows = []
    for d in range(days):
        row: list[Any] = [d, (start + dt.timedelta(days=d)).isoformat()]
        for n in DAILY:
            row += [float(bands[n][i, d]) for i in range(3)]
        rows.append(row)
    return header, rows
