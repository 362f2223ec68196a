"""Metrics of a replay, as users know them from the scheduling literature (docs/replay.md)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from aifactory.replay.runner import ReplayResult

SLOWDOWN_FLOOR_S = 60.0


def replay_metrics(result: ReplayResult, *, wall_seconds: float = 0.0) -> dict[str, Any]:
    """``metrics.json``: JCT and waiting-time statistics, makespan, utilisation, idle GPUs while jobs
    waited, and per tenant: jobs, GPU-seconds, usage share against entitlement, waits and slowdown.

    *Bounded slowdown* of a job is ``max(1, JCT / max(duration, 60 s))`` (1 = ran at once,
    uninterrupted; the 60 s floor keeps jobs of a few seconds from dominating, as is usual in the HPC
    literature); a tenant's finish-time fairness (after Themis, Mahajan et al. NSDI 2020) is its mean
    bounded slowdown, and the factory's is the worst tenant's over the best tenant's.
    """
    records = [r for r in result.records.values() if np.isfinite(r.end)]
    topo = result.topology
    jct = np.array([r.jct for r in records])
    wait = np.array([r.wait for r in records])
    duration = np.array([r.job.duration for r in records])
    first_submit = min((r.job.submit for r in records), default=0.0)
    last_end = max((r.end for r in records), default=0.0)
    makespan = last_end - first_submit
    busy = sum((seg.end - seg.start) * seg.gpus for seg in result.segments)
    tenants: dict[str, dict[str, Any]] = {}
    per_tenant_gpu_s: dict[str, float] = defaultdict(float)
    for seg in result.segments:
        per_tenant_gpu_s[result.records[seg.job_id].job.tenant] += (seg.end - seg.start) * seg.gpus
    by_tenant: dict[str, list[int]] = defaultdict(list)
    for k, r in enumerate(records):
        by_tenant[r.job.tenant].append(k)
    slowdown = np.maximum(jct / np.maximum(duration, SLOWDOWN_FLOOR_S), 1.0)
    for tenant in sorted(set(by_tenant) | set(result.tenancy.entitlements)):
        idx = by_tenant.get(tenant, [])
        tenants[tenant] = {
            "jobs": len(idx),
            "gpu_seconds": per_tenant_gpu_s.get(tenant, 0.0),
            "usage_share": per_tenant_gpu_s.get(tenant, 0.0) / busy if busy > 0 else 0.0,
            "entitlement": result.tenancy.entitlements.get(tenant, 0.0),
            "avg_wait_s": float(wait[idx].mean()) if idx else 0.0,
            "avg_jct_s": float(jct[idx].mean()) if idx else 0.0,
            "avg_slowdown": float(slowdown[idx].mean()) if idx else 0.0,
            "preemptions": sum(records[k].preemptions for k in idx),
        }
    slowdowns = [t["avg_slowdown"] for t in tenants.values() if t["jobs"]]
    programmes: dict[str, dict[str, Any]] = {}
    if result.tenancy.hierarchical:  # the council's programmes, each the sum of its projects
        total = result.tenancy.total_gpus or 1
        for tenant, row in tenants.items():
            name = result.tenancy.programme_of(tenant)
            agg = programmes.setdefault(
                name,
                {
                    "projects": [],
                    "jobs": 0,
                    "gpu_seconds": 0.0,
                    "usage_share": 0.0,
                    "entitlement": result.tenancy.programme_entitled_gpus(name) / total,
                    "avg_wait_s": 0.0,
                },
            )
            agg["projects"].append(tenant)
            agg["avg_wait_s"] += row["avg_wait_s"] * row["jobs"]
            for key in ("jobs", "gpu_seconds", "usage_share"):
                agg[key] += row[key]
        for agg in programmes.values():
            agg["avg_wait_s"] = agg["avg_wait_s"] / agg["jobs"] if agg["jobs"] else 0.0

    def pct(values: np.ndarray, q: float) -> float:
        return float(np.percentile(values, q)) if len(values) else 0.0

    return {
        "jobs": len(result.records) + len(result.rejected),
        "completed": len(records),
        "rejected": len(result.rejected),
        "held": len(result.held),
        "gpus": topo.gpus,
        "racks": topo.racks,
        "policy": result.policy,
        "wall_seconds": wall_seconds,
        "cycles": result.cycles,
        "avg_jct_s": float(jct.mean()) if len(jct) else 0.0,
        "p50_jct_s": pct(jct, 50),
        "p99_jct_s": pct(jct, 99),
        "avg_wait_s": float(wait.mean()) if len(wait) else 0.0,
        "p50_wait_s": pct(wait, 50),
        "p99_wait_s": pct(wait, 99),
        "makespan_s": makespan,
        "utilization": busy / (topo.gpus * makespan) if makespan > 0 else 0.0,
        "idle_while_waiting_gpu_hours": result.idle_while_waiting_gpu_s / 3600,
        "preemptions": sum(r.preemptions for r in records),
        "timed_out": sum(r.timed_out for r in records),
        "tray_failures": result.tray_failures,
        "jobs_interrupted": sum(1 for r in records if r.interruptions),
        "gpu_hours_lost": result.lost_gpu_s / 3600,
        "finish_time_fairness": max(slowdowns) / min(slowdowns) if slowdowns and min(slowdowns) > 0 else 1.0,
        "tenants": tenants,
        **({"programmes": programmes} if programmes else {}),
    }
