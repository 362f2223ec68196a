"""Time series over the horizon, summarised over runs: what the report plots and the Parquet file holds.

Each series is given per bucket (one day by default for ``supply simulate``, one week for ``run``) as
mean and P10/P50/P90 over runs, both per bucket and cumulative.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from aifactory.scenario.model import Scenario
from aifactory.supply.metrics import bucket_dates, destination_item, final_producers
from aifactory.supply.parameters import Parameters
from aifactory.supply.results import MILLI, RunResult

FloatArray = npt.NDArray[np.float64]


@dataclass
class Band:
    """Mean and P10/P50/P90 over runs of one quantity, per bucket."""

    mean: FloatArray
    p10: FloatArray
    p50: FloatArray
    p90: FloatArray

    @classmethod
    def over_runs(cls, per_run: np.ndarray) -> Band:
        """``per_run`` has shape (buckets, runs)."""
        p10, p50, p90 = np.percentile(per_run, [10, 50, 90], axis=1)
        return cls(per_run.mean(axis=1), p10, p50, p90)


@dataclass
class Series:
    dates: list[dt.date]
    bucket_days: int
    bands: dict[str, Band] = field(default_factory=dict)  # "group/key/measure" → band
    stage_heat: dict[str, dict[str, FloatArray]] = field(default_factory=dict)  # stage → measure → per bucket


def build_series(s: Scenario, result: RunResult, params: Parameters) -> Series:
    """Bands for destinations (units, GPUs, value; per bucket and cumulative), site output, and the
    stage heat map (utilisation, share of runs capacity-bound, share of runs where it is the bottleneck)."""
    out = Series(dates=bucket_dates(s, result), bucket_days=result.bucket_days)
    value_total = None
    for did in s.destinations:
        item = destination_item(s, did)
        units = result.series[f"destinations.{did}.delivered"].astype(np.float64)
        cum = np.cumsum(units, axis=0)
        value = cum * params[f"items.{item}.value_usd"][None, :]
        value_total = value if value_total is None else value_total + value
        out.bands[f"destination/{did}/{item}"] = Band.over_runs(units)
        out.bands[f"destination/{did}/{item}_cumulative"] = Band.over_runs(cum)
        out.bands[f"destination/{did}/value_usd_cumulative"] = Band.over_runs(value)
        if s.items[item].gpus:
            out.bands[f"destination/{did}/gpus_cumulative"] = Band.over_runs(cum * s.items[item].gpus)
    if value_total is not None:
        out.bands["total/all/value_usd_cumulative"] = Band.over_runs(value_total)
    for site_id in s.sites:
        for item in s.items:
            stages = [sid for sid in final_producers(s, item) if s.stages[sid].site == site_id]
            if not stages:
                continue
            made = sum(result.series[f"stages.{sid}.completed"].astype(np.float64) for sid in stages)
            assert isinstance(made, np.ndarray)
            out.bands[f"site/{site_id}/{item}"] = Band.over_runs(made)
    for sid in s.stages:
        per_run_days = result.runs * MILLI
        started = result.sums[f"stages.{sid}.started"].astype(np.float64)
        capacity = result.sums[f"stages.{sid}.capacity"].astype(np.float64)
        days = _bucket_lengths(s, result)
        out.stage_heat[sid] = {
            "utilization": np.divide(
                started, capacity, out=np.full(len(started), np.nan), where=capacity > 0
            ),
            "bound_share": result.sums[f"stages.{sid}.bound_days"] / (per_run_days * days),
            "bottleneck_share": result.sums[f"stages.{sid}.bottleneck_days"] / (per_run_days * days),
        }
    return out


def _bucket_lengths(s: Scenario, result: RunResult) -> FloatArray:
    n = next(iter(result.sums.values())).shape[0]
    ends = np.minimum((np.arange(n) + 1) * result.bucket_days, s.horizon_days)
    starts = np.arange(n) * result.bucket_days
    return (ends - starts).astype(np.float64)
