"""One run's figures on a hand-made case: GPU-hours, utilisation, revenue and costs by hand."""

from __future__ import annotations

import numpy as np
import pytest

from aifactory.cluster.power import PowerModel
from aifactory.cluster.topology import Topology
from aifactory.replay.runner import replay
from aifactory.scheduler.job import Job
from aifactory.scheduler.tenancy import Tenancy
from aifactory.twin.factory_measures import hourly_means, measure

HOUR = 3600.0


def test_revenue_is_hours_times_rates_on_a_hand_case() -> None:
    # one rack of 8 GPUs for a day: research 4 GPUs × 10 h, the market 2 GPUs × 5 h from 01:00
    topo = Topology.build(1, rack_gpus=8)
    jobs = [Job("r", "research", 4, 0.0, 10 * HOUR), Job("m", "market", 2, HOUR, 5 * HOUR)]
    result = replay(jobs, topo, "fifo", Tenancy({"research": 1, "market": 1}, topo.gpus), until=24 * HOUR)
    # 8 GPUs: 0.1 kW idle, 1.1 kW busy, 2 kW per rack besides; PUE 1.5, no fixed share, no temperature
    power = PowerModel(1, 8, 0.1, 1.1, 2.0, 1.5, 0.0, 0.0, 25.0)
    draws = {
        "economics.electricity_usd_per_mwh": 100.0,
        "economics.depreciation_years": 1.0,
        "economics.operations_usd_per_rack_year": 8766.0,  # $1 per rack-hour
    }
    o = measure(
        0, result, days=1, rack_gpus=8, racks=1, online_s={}, power=power, temperature_c=np.full(24, 25.0),
        programmes={"research": 0.5, "market": 0.5}, rates={"research": 1.5, "market": 4.0}, draws=draws,
        rack_price_usd=8766.0, power_cap_gpus=None,
    )  # fmt: skip
    assert o.programmes["research"]["gpu_hours"] == 40 and o.programmes["market"]["gpu_hours"] == 10
    assert o.scalars["revenue_usd"] == 40 * 1.5 + 10 * 4.0 == 100.0
    assert o.programmes["market"]["revenue_usd"] == 40.0
    assert o.scalars["utilization"] == pytest.approx(50 / (8 * 24))
    # IT: 24 h × (2 + 8 × 0.1) kW idle + 50 GPU-h × 1.0 kW = 67.2 + 50 kWh; facility × 1.5 = 175.8 kWh
    assert o.scalars["energy_mwh"] == pytest.approx(0.1758)
    assert o.scalars["electricity_usd"] == pytest.approx(17.58)
    assert o.scalars["depreciation_usd"] == pytest.approx(24.0)  # $8,766 over 1 year = $1 an hour
    assert o.scalars["operations_usd"] == pytest.approx(24.0)
    assert o.scalars["margin_usd"] == pytest.approx(100 - 17.58 - 48)
    assert o.programmes["market"]["avg_wait_hours"] == 0


def test_hourly_means_of_intervals() -> None:
    means = hourly_means([(0.5 * HOUR, 2.0 * HOUR, 4.0), (1.0 * HOUR, 1.25 * HOUR, 8.0)], 3)
    assert means.tolist() == [2.0, 6.0, 0.0]
