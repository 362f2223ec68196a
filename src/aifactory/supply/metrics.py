"""From per-run results to the summary of docs/cli.md, targets, bottlenecks and sensitivity.

Every quantity ``Q`` is summarised over runs as ``{"mean", "p10", "p50", "p90"}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from aifactory.scenario.model import Scenario, Target
from aifactory.supply.parameters import Parameters, uncertain_paths
from aifactory.supply.results import MILLI, RunResult

FloatArray = npt.NDArray[np.float64]
Q = dict[str, float]


def quantiles(values: np.ndarray) -> Q:
    v = np.asarray(values, dtype=np.float64)
    p10, p50, p90 = np.percentile(v, [10, 50, 90])
    return {"mean": float(v.mean()), "p10": float(p10), "p50": float(p50), "p90": float(p90)}


def final_producers(s: Scenario, item: str) -> list[str]:
    """Stages making ``item`` whose output does not feed another stage making it (no double count)."""
    makers = [sid for sid, st in s.stages.items() if st.produces == item]
    fed = {ln.to for ln in s.lanes if ln.from_ in makers and s.stages[ln.to].produces == item}
    return [sid for sid in makers if sid not in fed]


def destination_item(s: Scenario, dest_id: str) -> str:
    return s.stages[s.destinations[dest_id].sources[0]].produces


def delivered_value(
    s: Scenario, result: RunResult, params: Parameters, dests: list[str] | None = None
) -> FloatArray:
    total = np.zeros(result.runs)
    for did in dests or list(s.destinations):
        item = destination_item(s, did)
        total += result.totals[f"destinations.{did}.delivered"] * params[f"items.{item}.value_usd"]
    return total


def delivered_gpus(s: Scenario, result: RunResult, dests: list[str] | None = None) -> FloatArray:
    total = np.zeros(result.runs)
    for did in dests or list(s.destinations):
        total += result.totals[f"destinations.{did}.delivered"] * s.items[destination_item(s, did)].gpus
    return total


def _checkpoint(s: Scenario, result: RunResult, did: str, day: int) -> FloatArray:
    day = min(max(day, 0), s.horizon_days)
    if day == s.horizon_days:
        return result.totals[f"destinations.{did}.delivered"]
    return result.checkpoints[f"{did}@{day}"]


def target_days(s: Scenario) -> tuple[int, ...]:
    """Days (exclusive end) at which cumulative deliveries are checkpointed for the targets."""
    return tuple(
        sorted({min(s.day(t.by) + 1, s.horizon_days) for t in s.targets if t.metric != "production_rate"})
    )


def production_series(s: Scenario, result: RunResult, item: str, country: str | None = None) -> np.ndarray:
    """Per-bucket, per-run output of ``item`` by its final producers (optionally in one country)."""
    stages = [
        sid
        for sid in final_producers(s, item)
        if country is None
        or (s.sites.get(s.stages[sid].site) and s.sites[s.stages[sid].site].country == country)
    ]
    out = np.zeros(next(iter(result.series.values())).shape, dtype=np.float64)
    for sid in stages:
        out += result.series[f"stages.{sid}.completed"]
    return out


def _rate_series(s: Scenario, t: Target, result: RunResult) -> np.ndarray:
    """Per-bucket, per-run production rate of a ``production_rate`` target's item."""
    assert t.item is not None
    per_bucket = production_series(s, result, t.item, t.sites_country)
    return per_bucket * (t.per_days / result.bucket_days)


def target_values(s: Scenario, t: Target, result: RunResult, params: Parameters) -> FloatArray:
    """Per run, what the target measures: the total by its date, or the best rate reached in its window."""
    day = s.day(t.by) + 1
    if t.metric == "production_rate":
        rate = _rate_series(s, t, result)
        first = 0 if t.window_start is None else max(0, (s.day(t.window_start) + 1) // result.bucket_days - 1)
        last = min(rate.shape[0], max(1, day // result.bucket_days))
        window = rate[first:last] if last > first else rate[last - 1 : last]
        reached: FloatArray = window.max(axis=0).astype(np.float64)
        return reached
    total = np.zeros(result.runs)
    for did in t.destinations or list(s.destinations):
        cum = _checkpoint(s, result, did, day)
        item = destination_item(s, did)
        if t.metric == "value_usd":
            total += cum * params[f"items.{item}.value_usd"]
        elif t.metric == "gpus_delivered":
            total += cum * s.items[item].gpus
        elif item == t.item:
            total += cum
    return total


def target_met(t: Target, values: FloatArray) -> np.ndarray:
    """Per run, whether ``values`` (from :func:`target_values`) meet the target."""
    if t.metric == "production_rate":
        return values >= t.value
    return values >= t.value * (1 - 1e-9)


def evaluate_target(s: Scenario, t: Target, result: RunResult, params: Parameters) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": t.name, "metric": t.metric, "by": t.by.isoformat(), "target": t.value}
    values = target_values(s, t, result, params)
    entry |= {"p50": float(np.median(values)), "probability_met": float(np.mean(target_met(t, values)))}
    if t.metric == "production_rate":
        rate = _rate_series(s, t, result)
        ever = (rate >= t.value).any(axis=0)
        first_bucket = np.where(ever, (rate >= t.value).argmax(axis=0), -1)
        entry["date_reached"] = _date_quantiles(s, first_bucket, result.bucket_days)
        entry["unit"] = f"{t.item} per {t.per_days} days"
    return entry


def _date_quantiles(s: Scenario, bucket: np.ndarray, bucket_days: int) -> dict[str, str | None]:
    """P10/P50/P90 of the date a rate was first reached (``None`` where fewer runs reached it)."""
    days = np.where(bucket >= 0, (bucket + 1) * bucket_days - 1, np.inf)
    out: dict[str, str | None] = {}
    for label, q in (("p10", 10), ("p50", 50), ("p90", 90)):
        d = float(np.percentile(days, q))
        out[label] = s.date(int(d)).isoformat() if np.isfinite(d) else None
    return out


COST_ONLY = ("cost_per_unit_usd", "tariff_rate")
SIGNIFICANCE = 0.01


def sensitivity(
    s: Scenario, params: Parameters, outcome: FloatArray, *, top: int = 12
) -> list[dict[str, Any]]:
    """Rank uncertain inputs by how much they move ``outcome`` (``rank_sensitivity``); costs and tariffs
    are left out, since they do not change what is delivered."""
    inputs = ((path, params[path]) for path in uncertain_paths(s) if not path.endswith(COST_ONLY))
    return rank_sensitivity(inputs, outcome, top=top)


def rank_sensitivity(
    inputs: Iterable[tuple[str, FloatArray]], outcome: FloatArray, *, top: int = 12
) -> list[dict[str, Any]]:
    """Rank inputs (name, value per run) by how much they move ``outcome``: Spearman rank correlation,
    and the swing = mean outcome of the runs in the input's top decile minus that of its bottom decile.
    Inputs whose correlation is not significant (p ≥ 0.01) are left out."""
    from scipy import stats  # on demand: it takes a second to import, and only this needs it

    rows: list[dict[str, Any]] = []
    outcome = np.asarray(outcome, dtype=np.float64)
    if not np.all(np.isfinite(outcome)) or np.ptp(outcome) == 0:
        return rows
    for path, values in inputs:
        x = np.asarray(values, dtype=np.float64)
        if np.ptp(x) == 0:
            continue
        test = stats.spearmanr(x, outcome)
        if not test.pvalue < SIGNIFICANCE:
            continue  # indistinguishable from sampling noise at this number of runs
        rho = float(test.statistic)
        lo, hi = np.percentile(x, [10, 90])
        low_mean = outcome[x <= lo].mean() if np.any(x <= lo) else np.nan
        high_mean = outcome[x >= hi].mean() if np.any(x >= hi) else np.nan
        rows.append({"input": path, "spearman": rho, "swing": float(high_mean - low_mean)})
    rows.sort(key=lambda r: -abs(r["spearman"]) if np.isfinite(r["spearman"]) else 0.0)
    return rows[:top]


def summarize(
    s: Scenario,
    result: RunResult,
    params: Parameters,
    *,
    seed: int,
    wall_seconds: float,
) -> dict[str, Any]:
    """The summary of docs/cli.md (summary.json), plus costs, sites, bottleneck shares and sensitivity."""
    tot = result.totals
    items: dict[str, Any] = {}
    for item in s.items:
        produced = np.zeros(result.runs)
        for sid in final_producers(s, item):
            produced += tot[f"stages.{sid}.completed"]
        delivered = np.zeros(result.runs)
        for did in s.destinations:
            if destination_item(s, did) == item:
                delivered += tot[f"destinations.{did}.delivered"]
        items[item] = {"produced": quantiles(produced), "delivered": quantiles(delivered)}
    destinations: dict[str, Any] = {}
    for did in s.destinations:
        item = destination_item(s, did)
        units = tot[f"destinations.{did}.delivered"]
        destinations[did] = {
            item: quantiles(units),
            "gpus": quantiles(units * s.items[item].gpus),
            "value_usd": quantiles(units * params[f"items.{item}.value_usd"]),
        }
    stages: dict[str, Any] = {}
    for sid in s.stages:
        p = f"stages.{sid}"
        cap = tot[f"{p}.capacity"]
        util = np.divide(tot[f"{p}.started"], cap, out=np.zeros(result.runs), where=cap > 0)
        stages[sid] = {
            "started": quantiles(tot[f"{p}.started"]),
            "good_output": quantiles(tot[f"{p}.completed"]),
            "utilization": quantiles(util),
            "binding_days": quantiles(tot[f"{p}.bound_days"]),
            "bottleneck_days": quantiles(tot[f"{p}.bottleneck_days"]),
            "capacity": quantiles(cap),
            "cost_usd": quantiles(tot[f"{p}.cost_usd"]),
            "inventory_end": quantiles(
                tot[f"{p}.stock"]
                + sum((tot[k] for k in tot if k.startswith(f"{p}.buffer.")), np.zeros(result.runs))
            ),
        }
    value = delivered_value(s, result, params)
    value_targets = [t for t in s.targets if t.metric == "value_usd"]
    focus = value_targets[0].destinations if value_targets else None
    stage_cost = sum((tot[f"stages.{sid}.cost_usd"] for sid in s.stages), np.zeros(result.runs))
    lane_cost = sum((tot[f"lanes.{i}.cost_usd"] for i in range(len(s.lanes))), np.zeros(result.runs))
    tariffs = sum((tot[f"lanes.{i}.tariff_usd"] for i in range(len(s.lanes))), np.zeros(result.runs))
    summary: dict[str, Any] = {
        "scenario": s.name,
        "runs": result.runs,
        "seed": seed,
        "start": s.start.isoformat(),
        "horizon_days": s.horizon_days,
        "wall_seconds": wall_seconds,
        "items": items,
        "destinations": destinations,
        "value_usd": quantiles(value),
        "gpus_delivered": quantiles(delivered_gpus(s, result)),
        "stages": stages,
        "targets": [evaluate_target(s, t, result, params) for t in s.targets],
        "costs": {
            "stages_usd": quantiles(stage_cost),
            "lanes_usd": quantiles(lane_cost),
            "tariffs_usd": quantiles(tariffs),
            "total_usd": quantiles(stage_cost + lane_cost + tariffs),
        },
        "sites": _sites(s, result),
        "bottlenecks": bottleneck_shares(s, result),
        "sensitivity": {
            "outcome": f"value_usd delivered to {', '.join(focus) if focus else 'all destinations'}",
            "inputs": sensitivity(s, params, delivered_value(s, result, params, focus)),
        },
    }
    return summary


def _sites(s: Scenario, result: RunResult) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for site_id, site in s.sites.items():
        made: dict[str, Q] = {}
        for item in s.items:
            stages = [sid for sid in final_producers(s, item) if s.stages[sid].site == site_id]
            if stages:
                completed = [result.totals[f"stages.{sid}.completed"] for sid in stages]
                made[item] = quantiles(np.sum(completed, axis=0))
        out[site_id] = {
            "name": site.name,
            "operator": site.operator,
            "country": site.country,
            "floor_area_sqft": site.floor_area_sqft,
            "jobs": site.jobs,
            "investment_usd": site.investment_usd,
            "output": made,
        }
    return out


def bottleneck_shares(s: Scenario, result: RunResult) -> dict[str, float]:
    """Fraction of run-days on which each stage was the binding stage of its path."""
    denominators = result.runs * s.horizon_days
    shares = {
        sid: float(result.sums[f"stages.{sid}.bottleneck_days"].sum() / MILLI / denominators)
        for sid in s.stages
    }
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


def bucket_dates(s: Scenario, result: RunResult) -> list[dt.date]:
    """Last day of each bucket."""
    n = next(iter(result.series.values())).shape[0]
    return [s.date(min((w + 1) * result.bucket_days, s.horizon_days) - 1) for w in range(n)]
