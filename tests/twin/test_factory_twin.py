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


def test_daily_power_waits_and_idle_gpus_in_closed_form() -> None:
    from aifactory.cluster.factory import plan_factory
    from aifactory.replay.metrics import replay_metrics
    from aifactory.twin.factory import FactoryTwin

    plan = plan_factory(load_scenario("nvidia-2025"), "taiwan-ai-factory", racks=2)  # 2 × 64 GPUs
    jobs = [
        Job("big", "research", 64, 0.0, 86400.0),
        Job("gang", "industry", 128, 0.0, 3600.0),  # waits a day for the whole factory
    ]
    tenancy = Tenancy({"research": 1, "industry": 1}, plan.topology.gpus)
    result = replay(jobs, plan.topology, "fifo", tenancy)
    twin = FactoryTwin(plan, 0.0, {}, result, replay_metrics(result), 1.0, pue=1.25, idle_power_fraction=0.3)
    daily = twin.daily()
    assert daily["busy_gpus"][0] == pytest.approx(64)  # 64 GPUs all day 0; the gang starts at day 1
    assert daily["busy_gpus"][1] == pytest.approx(128 / 24)
    # the gang waited all of day 0 while the other rack's 64 GPUs stood idle
    assert daily["idle_while_waiting_gpus"][0] == pytest.approx(64)
    # IT power day 0: 2 racks × 135 kW × 0.3 idle + 64 busy GPUs × 135 kW × 0.7 / 72 = 81 + 84 kW
    assert daily["it_mw"][0] == pytest.approx((2 * 135 * 0.3 + 64 * 135 * 0.7 / 72) / 1000)
    assert daily["it_mw"][0] == pytest.approx(0.165)
    assert daily["facility_mw"][0] == pytest.approx(0.165 * 1.25)  # PUE 1.25: 206.25 kW
    waits = twin.daily_waits()
    assert waits["research"][0] == 0 and np.isnan(waits["research"][1])
    assert waits["industry"][1] == pytest.approx(24.0)
    assert twin.utilization_of_installed == pytest.approx((64 + 128 / 24) / 256)


def test_the_report_section_shows_capacity_shares_waits_idle_gpus_and_power() -> None:
    from aifactory.report.factory_section import factory_section_html, factory_summary

    s = load_scenario("nvidia-2025")
    mc = run_monte_carlo(s, runs=32, seed=5)
    twin = run_factory_twin(s, "taiwan-ai-factory", mc.result, days=20, seed=2)
    html = factory_section_html("taiwan-ai-factory", twin, "2025-11-24")
    for title in (
        "installed vs busy GPUs",
        "Usage against the council",
        "Waits per programme over time",
        "idle although jobs waited",
        "Power drawn",
        "power budget 27 MW",
    ):
        assert title in html
    summary = factory_summary(twin, "2025-11-24")
    assert 0 < summary["utilization_of_installed"] <= 1
    assert summary["utilization_of_installed"] > summary["replay"]["utilization"]  # the ramp is not idle time
    assert 0 < summary["peak_facility_mw"] <= 27
    assert summary["replay"]["tray_failures"] > 0  # the scenario's tray MTBF
