"""The AI factory under uncertain demand: utilisation against offered load, saturation, energy bounds,
the power budget at every instant, and reproducibility (serial, processes, same seed)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aifactory.parallel import make_mapper
from aifactory.scheduler.job import Job
from aifactory.twin.factory_document import factory_document
from aifactory.twin.factory_study import build_setup, run_once, simulate_factory
from small_factory import small_scenario

DAY = 86_400.0


def _fixed_mix(gpus: int = 8, hours: float = 1.0):  # type: ignore[no-untyped-def]
    """A deterministic job mix: every job ``gpus`` GPUs for ``hours``, arriving evenly round the week."""
    from aifactory.replay.synthetic import philly_stats
    from aifactory.replay.trace import Trace

    jobs = [Job(f"j{k}", "a", gpus, k * 600.0, hours * 3600) for k in range(7 * 144)]
    return philly_stats(Trace(jobs, [], "fixed", "generic", ["a"]))


FIXED_MIX = {"research": _fixed_mix()}


def _study(days: float = 20, runs: int = 1, seed: int = 3, stats=None, **kwargs):  # type: ignore[no-untyped-def]
    setup = build_setup(small_scenario(**kwargs), "f", days=days, seed=seed, stats=stats)
    return simulate_factory(setup, runs)


def _one(load: float, days: float = 20, racks: int = 4, **kwargs):  # type: ignore[no-untyped-def]
    demand = {"research": {"offered_load": load, "rate_usd_per_gpu_hour": 2, "burstiness": 0, "job_scale": 1}}
    return _study(days=days, racks=racks, demand=demand, stats=FIXED_MIX, **kwargs).outcomes[0]


def test_half_the_capacity_asked_gives_utilisation_one_half() -> None:
    o = _one(0.5, days=20, racks=4)  # 8-GPU jobs of an hour: 768 a day
    assert o.scalars["utilization"] == pytest.approx(0.5, abs=0.01)
    assert o.scalars["gpu_hours_installed"] == 4 * 64 * 20 * 24
    assert o.programmes["research"]["avg_wait_hours"] < 0.05


def test_half_the_capacity_with_the_philly_mix_averages_one_half() -> None:
    # Philly's heavy-tailed durations (up to 53 days) make one run noisy; a warm-up removes the empty
    # start, and the mean over seeds comes close
    demand = {"research": {"offered_load": 0.5, "rate_usd_per_gpu_hour": 2, "job_scale": 4}}
    values = [
        simulate_factory(
            build_setup(small_scenario(racks=8, demand=demand), "f", days=30, seed=seed, warmup_days=20), 1
        )
        .outcomes[0]
        .scalars["utilization"]
        for seed in range(6)
    ]
    assert np.mean(values) == pytest.approx(0.5, abs=0.05)


def test_half_the_capacity_while_racks_still_arrive_is_still_one_half() -> None:
    demand = {"research": {"offered_load": 0.5, "rate_usd_per_gpu_hour": 2, "burstiness": 0, "job_scale": 1}}
    setup = build_setup(small_scenario(racks=8, demand=demand), "f", days=20, seed=3, stats=FIXED_MIX)
    late = {rack: (rack - 3) * 2 * DAY for rack in range(4, 8)}  # racks 4–7 on days 2, 4, 6, 8
    setup = dataclasses.replace(setup, online_by_run=(late,))
    o = simulate_factory(setup, 1).outcomes[0]
    installed = 64 * 24 * (4 * 20 + 18 + 16 + 14 + 12)
    assert o.scalars["gpu_hours_installed"] == pytest.approx(installed)
    assert o.scalars["utilization"] == pytest.approx(0.5, abs=0.015)
    assert o.daily["installed_gpus"][0] == 4 * 64 and o.daily["installed_gpus"][-1] == 8 * 64
    assert o.daily["utilization"][0] == pytest.approx(0.5, abs=0.05)  # demand tracks what is installed


def test_an_overload_saturates_the_factory_and_waits_grow() -> None:
    light, full, over = (_one(load, days=20) for load in (0.3, 1.0, 2.0))
    assert over.scalars["utilization"] > 0.9
    assert over.scalars["utilization"] > full.scalars["utilization"] > light.scalars["utilization"]
    waits = [o.programmes["research"]["avg_wait_hours"] for o in (light, full, over)]
    assert waits[0] < waits[1] < waits[2] and waits[2] > 24
    daily = over.daily_waits["research"]
    assert np.nanmean(daily[-5:]) > 2 * np.nanmean(daily[:5])  # the queue grows day after day


def test_energy_lies_between_all_idle_and_all_busy_and_grows_with_load() -> None:
    hours = 10 * 24
    # PUE 1.25 with no fixed share and no temperature effect: facility = 1.25 × IT; 4 racks of 72 GPUs
    # (64 schedulable) at 200 W idle, 1.4 kW busy, 30 kW per rack besides
    idle_mwh = 1.25 * 4 * (30 + 72 * 0.2) * hours / 1000
    busy_mwh = 1.25 * 4 * (30 + 64 * 1.4 + 8 * 0.2) * hours / 1000
    energies = [_one(load, days=10).scalars["energy_mwh"] for load in (0.0, 0.3, 0.6, 3.0)]
    assert energies[0] == pytest.approx(idle_mwh)
    assert all(idle_mwh < e < busy_mwh for e in energies[1:])
    assert energies[1] < energies[2] < energies[3]
    assert energies[3] > idle_mwh + 0.85 * (busy_mwh - idle_mwh)  # saturated: close to all busy


def test_zero_variance_demand_gives_identical_runs() -> None:
    study = _study(days=5, runs=3, demand={"research": {"offered_load": 0.7, "rate_usd_per_gpu_hour": 2}})
    first = study.outcomes[0]
    for other in study.outcomes[1:]:
        assert other.scalars == first.scalars
        assert other.programmes == first.programmes


UNCERTAIN = {
    "research": {
        "offered_load": {"dist": "uniform", "low": 0.2, "high": 0.9},
        "rate_usd_per_gpu_hour": 2,
        "ramp_months": {"dist": "uniform", "low": 0, "high": 0.5},
    },
    "market": {
        "offered_load": 0.2,
        "reference_price_usd_per_gpu_hour": 4,
        "rate_usd_per_gpu_hour": {"dist": "uniform", "low": 3, "high": 6},
        "elasticity": {"dist": "triangular", "low": -1.5, "mode": -1, "high": -0.5},
    },
}


def test_same_seed_same_study_serial_or_on_processes_and_runs_differ() -> None:
    s = small_scenario(demand=UNCERTAIN, tray_mtbf_hours=2000)
    setup = build_setup(s, "f", days=6, seed=11)
    serial = simulate_factory(setup, 4)
    again = simulate_factory(setup, 4)
    pooled = simulate_factory(setup, 4, mapper=make_mapper(2))
    doc = factory_document(serial) | {"wall_seconds": 0}
    assert factory_document(again) | {"wall_seconds": 0} == doc
    assert factory_document(pooled) | {"wall_seconds": 0} == doc
    assert len({o.scalars["utilization"] for o in serial.outcomes}) == 4
    other = simulate_factory(dataclasses.replace(setup, seed=12), 4)
    assert factory_document(other)["utilization"] != doc["utilization"]


def test_a_higher_market_price_lowers_the_marketplace_demand() -> None:
    from aifactory.twin.factory_demand import effective_load

    spec = small_scenario(demand=UNCERTAIN).ai_factories["f"]
    draws = {
        "demand.market.offered_load": 0.2,
        "demand.market.rate_usd_per_gpu_hour": 5.0,
        "demand.market.elasticity": -1.0,
    }
    assert effective_load(spec, "market", draws) == pytest.approx(0.2 * 4 / 5)
    draws["demand.market.elasticity"] = -2.0
    assert effective_load(spec, "market", draws) == pytest.approx(0.2 * (4 / 5) ** 2)


def _busy_steps(segments) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Times and busy GPUs right after each change of the step function."""
    events = sorted([(s.start, s.gpus) for s in segments] + [(s.end, -s.gpus) for s in segments])
    times = np.array([t for t, _ in events])
    busy = np.cumsum([g for _, g in events])
    return times, busy


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    racks=st.integers(1, 4),
    share=st.floats(0.2, 0.9),
    load=st.floats(0.6, 2.5),
    amplitude=st.floats(0.0, 6.0),
    seed=st.integers(0, 1000),
)
def test_a_power_budget_below_full_load_holds_at_every_instant(
    racks: int, share: float, load: float, amplitude: float, seed: int
) -> None:
    power = {
        "gpu_busy_w": 1400,
        "gpu_idle_w": 200,
        "rack_overhead_kw": 30,
        "fixed_overhead_share": 0.4,
        "cooling_per_degree": 0.01,
        "climate": {"monthly_mean_c": [28] * 12, "diurnal_amplitude_c": amplitude},
    }
    # a budget between the idle and the full-load draw of the factory on its hottest hour
    hot = 28 + amplitude
    rack_idle, rack_full = 30 + 72 * 0.2, 30 + 64 * 1.4 + 8 * 0.2
    cooling = 0.25 * 0.6 + 0.01 * (hot - 25)
    fixed = 0.25 * 0.4 * (30 + 72 * 1.4)
    idle_kw = racks * (rack_idle * (1 + cooling) + fixed)
    full_kw = racks * (rack_full * (1 + cooling) + fixed)
    budget_mw = (idle_kw + share * (full_kw - idle_kw)) / 1000
    demand = {"research": {"offered_load": load, "rate_usd_per_gpu_hour": 1, "job_scale": 4}}
    s = small_scenario(racks=racks, demand=demand, power=power, power_budget_mw=budget_mw)
    setup = build_setup(s, "f", days=2, seed=seed)
    trace = run_once(setup, 0)
    assert trace.result.segments and not trace.result.rejected  # jobs are drawn within the cap
    times, busy = _busy_steps(trace.result.segments)
    hour = np.minimum((times // 3600).astype(int), len(trace.temperature_c) - 1)
    drawn_kw = trace.power.facility_kw(racks, busy, trace.temperature_c[hour])
    assert drawn_kw.max() <= budget_mw * 1000 + 1e-6
    cap = trace.outcome.scalars["power_cap_gpus"]
    assert busy.max() <= cap < racks * 64
    if load >= 1.5 and cap >= 64:  # an overload fills the factory up to what the budget allows
        assert busy.max() >= cap - 64


def test_a_budget_the_idle_factory_exceeds_is_refused_naming_the_field() -> None:
    s = small_scenario(racks=4, power_budget_mw=0.1)
    with pytest.raises(ValueError, match=r"ai_factories.f.power_budget_mw: the idle factory alone draws"):
        build_setup(s, "f", days=2, seed=0)


def test_a_factory_without_demand_is_refused() -> None:
    with pytest.raises(ValueError, match=r"ai_factories.f.demand: no programme has a demand"):
        build_setup(small_scenario(demand={}), "f", days=2, seed=0)


def test_break_even_and_money_follow_the_figures() -> None:
    o = _one(0.6, days=10)
    sc = o.scalars
    assert sc["margin_usd"] == pytest.approx(sc["revenue_usd"] - sc["cost_usd"])
    # 4 racks × 240 h: $3.5M over 5 years and $200k a year each
    rack_hours = 4 * 240
    assert sc["depreciation_usd"] == pytest.approx(rack_hours * 3.5e6 / (5 * 8766))
    assert sc["operations_usd"] == pytest.approx(rack_hours * 200_000 / 8766)
    assert sc["electricity_usd"] == pytest.approx(sc["energy_mwh"] * 100)
    assert sc["break_even_price_usd_per_gpu_hour"] == pytest.approx(sc["cost_usd"] / sc["gpu_hours_used"])
    assert math.isinf(sc["break_even_utilization"]) or sc["break_even_utilization"] > sc["utilization"]
