"""What one run of the AI factory measured: GPU-hours used against installed, per programme and per hour,
waits, GPUs idle while jobs waited, energy through the power model, and the money (pure).

Time series are exact hourly means of step functions (busy GPUs, racks online): the integral of a sum of
intervals up to *t* is Σ amount × clip(t − start, 0, end − start), evaluated at the hour boundaries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from aifactory.cluster.power import PowerModel
from aifactory.replay.runner import ReplayResult

FloatArray = npt.NDArray[np.float64]
HOUR = 3600.0
YEAR_HOURS = 365.25 * 24


def hourly_means(intervals: Iterable[tuple[float, float, float]], hours: int) -> FloatArray:
    """Mean over each hour [h, h+1) of Σ amount over the intervals (start, end, amount) holding then."""
    rows = np.array(list(intervals), dtype=np.float64).reshape(-1, 3)
    edges = np.arange(hours + 1, dtype=np.float64) * HOUR
    if not len(rows):
        return np.zeros(hours)
    start, end, amount = rows[:, 0], rows[:, 1], rows[:, 2]

    def integral(times: FloatArray, at: FloatArray, weights: FloatArray) -> FloatArray:
        order = np.argsort(times, kind="stable")
        t, w = times[order], weights[order]
        cum_w, cum_wt = np.concatenate(([0.0], np.cumsum(w))), np.concatenate(([0.0], np.cumsum(w * t)))
        k = np.searchsorted(t, at, side="right")
        return np.asarray(cum_w[k] * at - cum_wt[k], dtype=np.float64)  # Σ w × (at − t) over t < at

    area = integral(start, edges, amount) - integral(end, edges, amount)
    return np.diff(area) / HOUR


@dataclass
class RunOutcome:
    """The figures of one run (scalars, per-programme and daily series); small enough to send back from
    a worker process."""

    run: int
    draws: dict[str, float]
    scalars: dict[str, float]
    programmes: dict[str, dict[str, float]]
    daily: dict[str, FloatArray]
    daily_waits: dict[str, FloatArray] = field(default_factory=dict)


def measure(
    run: int,
    result: ReplayResult,
    *,
    days: float,
    rack_gpus: int,
    racks: int,
    online_s: Mapping[int, float],
    power: PowerModel,
    temperature_c: FloatArray,
    programmes: Mapping[str, float],  # programme → council share
    rates: Mapping[str, float],  # programme → US$ per GPU-hour used
    draws: dict[str, float],
    rack_price_usd: float,
    power_cap_gpus: int | None,
    warmup_s: float = 0.0,
) -> RunOutcome:
    """The run's figures over the window [0, days) of factory time; the replay's clock runs ``warmup_s``
    ahead (it started that long before day 0), and what happened before day 0 is not counted."""
    hours = math.ceil(days * 24 - 1e-9)  # the window: whole hours (the caller replays until then)
    window = hours * HOUR
    tenancy = result.tenancy
    segments = [
        (seg.job_id, max(seg.start - warmup_s, 0.0), seg.end - warmup_s, seg.gpus)
        for seg in result.segments
        if seg.end > warmup_s
    ]
    busy = hourly_means(((start, end, gpus) for _, start, end, gpus in segments), hours)
    rack_on = [(online_s.get(r, 0.0), window, 1.0) for r in range(racks) if online_s.get(r, 0.0) < window]
    racks_on = hourly_means(rack_on, hours)
    installed = racks_on * rack_gpus
    idle_intervals = [
        (max(a - warmup_s, 0.0), b - warmup_s, g) for a, b, g in result.idle_while_waiting if b > warmup_s
    ]
    idle_waiting = hourly_means(idle_intervals, hours)
    it_kw = power.it_kw(racks_on, busy)
    facility_kw = power.facility_kw(racks_on, busy, temperature_c[:hours])
    idle_facility_kw = power.facility_kw(racks_on, 0.0, temperature_c[:hours])
    weight = np.ones(hours)

    used_by: dict[str, float] = dict.fromkeys(programmes, 0.0)
    for job_id, start, end, gpus in segments:
        p = tenancy.programme_of(result.records[job_id].job.tenant)
        used_by[p] = used_by.get(p, 0.0) + gpus * (end - start) / HOUR
    used = sum(used_by.values())
    installed_h = float((installed * weight).sum())
    rack_hours = float((racks_on * weight).sum())
    energy_mwh = float((facility_kw * weight).sum() / 1000)
    idle_energy_mwh = float((idle_facility_kw * weight).sum() / 1000)

    waits: dict[str, list[float]] = {p: [] for p in programmes}
    started_day: dict[str, list[tuple[int, float]]] = {p: [] for p in programmes}
    for record in result.records.values():
        job = record.job
        submit = job.submit - warmup_s
        if not 0 <= submit < window:
            continue  # submitted during the warm-up: not the window's demand
        p = tenancy.programme_of(job.tenant)
        began = record.first_start - warmup_s if math.isfinite(record.first_start) else window
        wait = (min(began, window) - submit) / HOUR  # to date: a job still waiting counts so far
        waits.setdefault(p, []).append(wait)
        if began < window:
            started_day.setdefault(p, []).append((int(began // 86_400), wait))

    price = draws["economics.electricity_usd_per_mwh"]
    electricity = energy_mwh * price
    depreciation = rack_hours * rack_price_usd / (draws["economics.depreciation_years"] * YEAR_HOURS)
    operations = rack_hours * draws["economics.operations_usd_per_rack_year"] / YEAR_HOURS
    revenue_by = {p: used_by.get(p, 0.0) * rates.get(p, 0.0) for p in used_by}
    revenue = sum(revenue_by.values())
    cost = electricity + depreciation + operations
    fixed = depreciation + operations + idle_energy_mwh * price
    per_hour_energy = (electricity - idle_energy_mwh * price) / used if used > 0 else 0.0
    per_hour_rate = revenue / used if used > 0 else 0.0
    margin_per_hour = per_hour_rate - per_hour_energy
    n_days = math.ceil(hours / 24)
    daily = _daily(n_days, weight, busy, installed, idle_waiting, it_kw, facility_kw, temperature_c[:hours])
    scalars = {
        "utilization": used / installed_h if installed_h > 0 else 0.0,
        "gpu_hours_used": used,
        "gpu_hours_installed": installed_h,
        "idle_while_waiting_gpu_hours": sum((b - a) * g for a, b, g in idle_intervals) / HOUR,
        "energy_mwh": energy_mwh,
        "idle_energy_mwh": idle_energy_mwh,
        "it_energy_mwh": float((it_kw * weight).sum() / 1000),
        "pue": energy_mwh / float((it_kw * weight).sum() / 1000) if it_kw.any() else math.nan,
        "peak_facility_mw": float(facility_kw.max() / 1000) if hours else 0.0,
        "revenue_usd": revenue,
        "cost_usd": cost,
        "electricity_usd": electricity,
        "depreciation_usd": depreciation,
        "operations_usd": operations,
        "margin_usd": revenue - cost,
        "break_even_utilization": (
            fixed / (margin_per_hour * installed_h) if margin_per_hour > 0 and installed_h > 0 else math.inf
        ),
        "break_even_price_usd_per_gpu_hour": cost / used if used > 0 else math.inf,
        "jobs": float(sum(len(w) for w in waits.values())),
        "jobs_started": float(sum(len(d) for d in started_day.values())),
        "jobs_rejected": float(len(result.rejected)),
        "tray_failures": float(result.tray_failures),
        "preemptions": float(sum(r.preemptions for r in result.records.values())),
        "power_cap_gpus": float(power_cap_gpus) if power_cap_gpus is not None else math.nan,
    }
    progs = {
        p: {
            "gpu_hours": used_by.get(p, 0.0),
            "usage_share": used_by.get(p, 0.0) / used if used > 0 else 0.0,
            "entitlement": share,
            "avg_wait_hours": float(np.mean(waits[p])) if waits.get(p) else 0.0,
            "jobs": float(len(waits.get(p, []))),
            "revenue_usd": revenue_by.get(p, 0.0),
        }
        for p, share in programmes.items()
    }
    return RunOutcome(run, draws, scalars, progs, daily, _daily_waits(started_day, n_days))


def _daily(
    n_days: int,
    weight: FloatArray,
    busy: FloatArray,
    installed: FloatArray,
    idle_waiting: FloatArray,
    it_kw: FloatArray,
    facility_kw: FloatArray,
    temperature_c: FloatArray,
) -> dict[str, FloatArray]:
    """Daily means (weighted by the hours simulated in each day)."""
    day = np.arange(len(weight)) // 24

    def mean(x: FloatArray) -> FloatArray:
        total = np.bincount(day, weights=x * weight, minlength=n_days)
        return np.asarray(total / np.bincount(day, weights=weight, minlength=n_days), dtype=np.float64)

    b, i, it, fac = mean(busy), mean(installed), mean(it_kw), mean(facility_kw)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "busy_gpus": b,
            "installed_gpus": i,
            "utilization": np.where(i > 0, b / i, np.nan),
            "idle_while_waiting_gpus": mean(idle_waiting),
            "it_mw": it / 1000,
            "facility_mw": fac / 1000,
            "pue": np.where(it > 0, fac / it, np.nan),
            "temperature_c": mean(temperature_c),
        }


def _daily_waits(started: Mapping[str, list[tuple[int, float]]], n_days: int) -> dict[str, FloatArray]:
    """Mean wait (hours) of the jobs each programme started each day (NaN: none)."""
    out = {}
    for p, rows in started.items():
        sums, counts = np.zeros(n_days), np.zeros(n_days)
        for d, w in rows:
            sums[min(d, n_days - 1)] += w
            counts[min(d, n_days - 1)] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            out[p] = np.where(counts > 0, sums / counts, np.nan)
    return out
