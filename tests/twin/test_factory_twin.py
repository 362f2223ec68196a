"""Racks delivered by the supply twin become an AI factory's capacity."""

from __future__ import annotations

import numpy as np
import pytest

from aifactory.cluster.topology import Topology
from aifactory.replay.runner import replay
from aifactory.scenario import load_scenario
from aifactory.scheduler.job import Job
from aifactory.scheduler.tenancy import Tenancy
from aifactory.supply.montecarlo import run_monte_carlo
from aifactory.supply.results import RunResult
from aifactory.twin.factory import rack_online_days, run_factory_twin


def test_a_gang_waits_for_the_rack_it_needs_to_come_online() -> None:
    topo = Topology.build(2, rack_gpus=8)
    jobs = [Job("small", "a", 4, 0.0, 10.0), Job("gang", "a", 16, 0.0, 10.0)]
    result = replay(jobs, topo, "fifo", Tenancy({"a": 1}, topo.gpus), rack_online={1: 100.0})
    assert result.records["small"].first_start == 0
    assert result.records["gang"].first_start == 100  # both racks only from t=100


def test_a_job_larger_than_all_racks_that_ever_arrive_is_rejected() -> None:
    topo = Topology.build(2, rack_gpus=8)
    jobs = [Job("gang", "a", 16, 0.0, 10.0)]
    result = replay(jobs, topo, "fifo", Tenancy({"a": 1}, topo.gpus), rack_online={1: float("inf")})
    assert [job.id for job, _ in result.rejected] == ["gang"]


def test_entitlements_follow_the_racks_online() -> None:
    topo = Topology.build(2, rack_gpus=8)
    jobs = [Job(f"a{i}", "a", 1, 0.0, 50.0) for i in range(8)] + [Job("b0", "b", 4, 10.0, 5.0)]
    result = replay(jobs, topo, "fairshare", Tenancy({"a": 1, "b": 1}, topo.gpus), rack_online={1: 1000.0})
    # with one rack online b is entitled to 4 of 8 GPUs: it reclaims them at once
    assert result.records["b0"].first_start == 10


def test_rack_online_days_follow_the_p50_of_cumulative_deliveries() -> None:
    per_bucket = np.array([[0, 0, 0], [1, 2, 3], [2, 2, 2]], dtype=np.float32)  # buckets × runs
    result = RunResult(runs=3, bucket_days=7, series={"destinations.d.delivered": per_bucket})
    # P50 cumulative: 0, 2, 4 → racks 1–2 by the end of bucket 2 (day 14), 3–4 by day 21, 5 never
    assert rack_online_days(result, "d", 5) == [14.0, 14.0, 21.0, 21.0, float("inf")]


def test_the_taiwan_ai_factory_runs_its_programmes_on_delivered_racks() -> None:
    s = load_scenario("nvidia-2025")
    mc = run_monte_carlo(s, runs=64, seed=3)
    twin = run_factory_twin(s, "taiwan-ai-factory", mc.result, days=10, seed=1)
    assert twin.plan.topology.racks == 144
    assert twin.origin_day > 0 and len(twin.online_s) > 0
    m = twin.metrics
    assert m["completed"] == len(twin.result.records) > 0
    assert set(m["tenants"]) == {"research", "startups", "industry", "anchor"}
    daily = twin.daily()
    assert daily["installed_gpus"][0] < twin.plan.topology.gpus  # still arriving on day 0
    assert np.all(daily["busy_gpus"] <= daily["installed_gpus"] + 1e-6)


def test_a_factory_with_racks_from_the_supply_twin_needs_it() -> None:
    with pytest.raises(ValueError, match="run it first"):
        run_factory_twin(load_scenario("nvidia-2025"), "taiwan-ai-factory", None)


def test_daily_series_with_a_rack_that_never_arrives() -> None:
    s = load_scenario("nvidia-2025")
    twin = run_factory_twin(s, "taiwan-ai-factory", run_monte_carlo(s, runs=32, seed=1).result, days=3)
    twin.online_s[0] = float("inf")
    daily = twin.daily()
    assert daily["installed_gpus"][-1] <= twin.plan.topology.gpus - twin.plan.topology.rack_gpus
