"""Deterministic tandem lines: when nothing waits, the lead time is the sum of the station times; when
the line is saturated (CONWIP), the throughput is the bottleneck's rate and Little's law gives the lead
time. Everything is deterministic, so the tolerances are rounding, plus one unit at each end of the
measured window for counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from plant_builders import make_plant, mean, plant_data, simulate_checked, simulate_cli, station

from aifactory.plant.log import FINISHED


@pytest.mark.parametrize(
    ("times", "servers", "gap"),
    [
        ([1.0, 2.0, 0.5], [1, 1, 1], 3.0),
        ([1.0, 5.0, 0.25, 2.0], [1, 2, 1, 1], 3.0),  # 5 h on 2 servers fed every 3 h: never waits
        ([0.5, 0.5], [1, 1], 0.5),  # exactly saturated, still no wait
    ],
)
def test_lead_time_is_the_sum_of_times_when_nothing_waits(
    times: list[float], servers: list[int], gap: float
) -> None:
    stations = {f"s{i}": station(t, servers=c) for i, (t, c) in enumerate(zip(times, servers, strict=True))}
    plant = make_plant(stations, release={"item": "rack", "interarrival_hours": gap})
    days = 20.0
    run, m = simulate_checked(plant, days=days)
    j = run.records
    ended = j.ended[j.ended[:, 2] == FINISHED]
    release = dict(zip(j.released[:, 0], j.released[:, 2], strict=True))
    leads = np.array([end - release[u] for u, end in zip(ended[:, 0], ended[:, 1], strict=True)])
    assert len(leads) > 0
    np.testing.assert_allclose(leads, sum(times), rtol=0, atol=1e-9)
    assert m["lead_time_hours"] == pytest.approx(sum(times), abs=1e-9)
    parts = m["lead_time_breakdown_hours"]
    assert parts["processing"] == pytest.approx(sum(times), abs=1e-9)
    assert sum(v for k, v in parts.items() if k != "processing") == pytest.approx(0.0, abs=1e-9)
    for s in m["stations"].values():
        assert s["wait_hours"] == pytest.approx(0.0, abs=1e-12)
    # a unit every `gap` hours, less the ones still in the line at the end
    assert m["throughput_per_day"] == pytest.approx(24 / gap, abs=(sum(times) / gap + 1) / days)
    # wip = throughput × lead time (rate 1/gap, each in the plant for sum(times))
    assert m["wip"] == pytest.approx(sum(times) / gap, rel=0.01)


@pytest.mark.parametrize("wip_limit", [1, 3, 5, 12])
def test_conwip_throughput_is_the_bottleneck_rate(wip_limit: int) -> None:
    """A CONWIP line a 1 h, b 2 h, c 0.5 h: throughput min(N / 3.5 h, 1 / 2 h); lead time N / throughput."""
    plant = make_plant(
        {"a": station(1.0), "b": station(2.0), "c": station(0.5)},
        release={"item": "rack", "wip_limit": wip_limit},
    )
    days, warmup = 30.0, 3.0
    _, m = simulate_checked(plant, days=days, warmup_days=warmup)
    rate = min(wip_limit / 3.5, 0.5)  # units an hour
    window = days - warmup
    assert m["throughput_per_day"] == pytest.approx(24 * rate, abs=wip_limit / window)
    assert m["wip"] == pytest.approx(wip_limit, abs=1e-9)
    assert m["lead_time_hours"] == pytest.approx(wip_limit / rate, rel=0.01)
    assert m["stations"]["b"]["utilization"] == pytest.approx(rate * 2.0, abs=2 / (window * 24))
    if wip_limit == 1:
        assert m["lead_time_hours"] == pytest.approx(3.5, abs=1e-9)


def test_finite_buffer_blocks_upstream_but_not_the_bottleneck() -> None:
    """a (1 h) feeds b (2 h) through a buffer of 1: a processes 1 h and is blocked 1 h of every 2."""
    plant = make_plant(
        {"a": station(1.0), "b": station(2.0, buffer=1), "c": station(0.5)},
        release={"item": "rack", "wip_limit": 10},
    )
    days, warmup = 20.0, 2.0
    _, m = simulate_checked(plant, days=days, warmup_days=warmup)
    tol = 2 / ((days - warmup) * 24)
    assert m["throughput_per_day"] == pytest.approx(12.0, abs=10 / (days - warmup))
    assert m["stations"]["a"]["utilization"] == pytest.approx(0.5, abs=tol)
    assert m["stations"]["a"]["blocked"] == pytest.approx(0.5, abs=tol)
    assert m["stations"]["b"]["utilization"] == pytest.approx(1.0, abs=tol)
    assert m["stations"]["b"]["blocked"] == pytest.approx(0.0, abs=tol)
    assert m["stations"]["c"]["utilization"] == pytest.approx(0.25, abs=tol)
    assert m["lead_time_breakdown_hours"]["blocked"] > 0


def test_saturated_line_through_the_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = plant_data(
        {"a": station(1.0), "b": station(2.0), "c": station(0.5)},
        release={"item": "rack", "interarrival_hours": 3.0},
    )
    days, warmup = 40.0, 4.0
    # first as written: a unit every 3 h passes untouched in 3.5 h
    kpis = simulate_cli(capsys, tmp_path, data, days=days, warmup_days=warmup, replications=2, records=True)
    assert mean(kpis, "lead_time_hours") == pytest.approx(3.5, abs=1e-9)
    assert kpis["lead_time_hours"]["ci95"] == pytest.approx(0.0, abs=1e-9)
    assert mean(kpis, "throughput_per_day") == pytest.approx(8.0, abs=1 / (days - warmup))
    # then saturated with --set: CONWIP of 6 and no release rate; b (2 h) binds: 12 a day
    kpis = simulate_cli(
        capsys,
        tmp_path,
        data,
        days=days,
        warmup_days=warmup,
        replications=2,
        extra=("--set", "release.interarrival_hours=", "--set", "release.wip_limit=6"),
        out_name="saturated",
    )
    assert mean(kpis, "throughput_per_day") == pytest.approx(12.0, abs=6 / (days - warmup))
    assert mean(kpis, "racks_per_week") == pytest.approx(7 * 12.0, abs=7 * 6 / (days - warmup))  # 84 a week
    assert mean(kpis, "wip") == pytest.approx(6.0, abs=1e-9)
    assert mean(kpis, "lead_time_hours") == pytest.approx(6 / 0.5, rel=0.01)
    assert mean(kpis, "stations", "b", "utilization") == pytest.approx(1.0, abs=1e-3)
