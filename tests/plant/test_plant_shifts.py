"""Operators on shifts: a station that needs an operator produces nothing while none is on duty.

The on-duty hours are computed here from the shift definitions, independently of the engine's calendar;
each job's processing intervals (from its start to its end, less its pauses, from ``run.records``) must
lie within them. Everything here is exact: the tolerance is rounding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from plant_builders import (
    exponential,
    job_table,
    make_plant,
    mean,
    plant_data,
    simulate_checked,
    simulate_cli,
    station,
)

from aifactory.plant.engine import PlantRun
from aifactory.plant.model import Plant

EPS = 1e-9
DAY_SHIFT = {"start": "06:00", "end": "14:00", "breaks": [{"start": "10:00", "end": "10:30"}]}


def on_duty(shifts: list[tuple[float, float, set[int] | None]], days: int) -> np.ndarray:
    """Sorted, merged on-duty intervals [(from, to)] in hours of the run (hour 0: a Monday 00:00)."""
    spans = []
    for start, end, weekdays in shifts:
        for d in range(-1, days + 1):
            if weekdays is None or d % 7 in weekdays:
                spans.append((24 * d + start, 24 * d + end))
    spans.sort()
    merged: list[list[float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return np.array(merged)


def running_intervals(run: PlantRun) -> list[tuple[float, float, int]]:
    """(from, to, job) for every stretch a job was being processed: its span less its pauses."""
    jobs, pauses = job_table(run), run.records.pauses
    out = []
    for job, start, end in zip(jobs["job"], jobs["start"], jobs["end"], strict=True):
        mine = pauses[pauses[:, 0] == job]
        mine = mine[np.argsort(mine[:, 1])]
        t = start
        for p in mine:
            if p[1] > t:
                out.append((t, p[1], int(job)))
            t = max(t, p[2])
        if end > t:
            out.append((t, end, int(job)))
    return out


def inside(t0: float, t1: float, duty: np.ndarray) -> bool:
    i = np.searchsorted(duty[:, 0], t0 + EPS, side="right") - 1
    return bool(i >= 0 and duty[i, 0] <= t0 + EPS and t1 <= duty[i, 1] + EPS)


def shift_plant(
    shifts: list[dict[str, Any]], *, at_shift_end: str = "pause", count: int = 2, gap: float = 4.0
) -> Plant:
    return make_plant(
        {"bench": station(1.5, servers=3, operator="tech"), "pack": station(0.2)},
        release={"item": "rack", "interarrival_hours": exponential(gap)},
        operators={"tech": {"count": count, "shifts": shifts, "at_shift_end": at_shift_end}},
    )


@pytest.mark.parametrize(
    ("shifts", "duty_spec"),
    [
        ([DAY_SHIFT], [(6, 10, None), (10.5, 14, None)]),
        (
            [{"start": "06:00", "end": "14:00", "days": ["mon", "tue", "wed", "thu", "fri"]}],
            [(6, 14, {0, 1, 2, 3, 4})],
        ),
        ([{"start": "22:00", "end": "30:00"}], [(22, 30, None)]),
        (
            [{"start": "06:00", "end": "14:00"}, {"start": "14:00", "end": "22:00", "days": ["sat", "sun"]}],
            [(6, 14, None), (14, 22, {5, 6})],
        ),
    ],
    ids=["day-with-break", "weekdays", "night", "two-shifts"],
)
def test_an_operator_station_processes_only_on_shift(
    shifts: list[dict[str, Any]], duty_spec: list[tuple[float, float, set[int] | None]]
) -> None:
    days = 42
    run, m = simulate_checked(shift_plant(shifts), days=days, seed=3)
    duty = on_duty(duty_spec, days)
    bench = run.index.stations.index("bench")
    jobs = job_table(run)
    at_bench = jobs["station"] == bench
    assert at_bench.sum() > 100
    stretches = running_intervals(run)
    bench_jobs = set(jobs["job"][at_bench].tolist())
    for t0, t1, job in stretches:
        if job in bench_jobs:
            assert inside(t0, t1, duty), f"job {job} processed {t0:.3f}–{t1:.3f} off shift"
    done = at_bench & jobs["finished"]
    paused = jobs["paused_crew"][done]
    np.testing.assert_allclose(jobs["end"][done] - jobs["start"][done] - paused, 1.5, atol=1e-9)
    assert (paused > 0).any(), "no job was ever paused by a shift end or a break"
    # a pool of 2 never runs 3 jobs at once, though the station has 3 servers
    edges = sorted(
        [(t0, 1) for t0, _, j in stretches if j in bench_jobs]
        + [(t1, -1) for _, t1, j in stretches if j in bench_jobs],
        key=lambda e: (e[0], e[1]),
    )
    assert max(np.cumsum([e[1] for e in edges])) <= 2
    # operator-hours on duty in the window: count × on-duty hours
    hours = np.clip(np.minimum(duty[:, 1], days * 24) - np.maximum(duty[:, 0], 0), 0, None).sum()
    assert m["operators"]["tech"]["on_duty_hours"] == pytest.approx(2 * hours, abs=1e-6)
    assert 0 < m["operators"]["tech"]["utilization"] <= 1 + EPS
    assert m["lead_time_breakdown_hours"]["operator"] > 0


def test_at_shift_end_finish_starts_only_on_shift_and_finishes_the_job_in_hand() -> None:
    days = 42
    run, _ = simulate_checked(
        shift_plant([{"start": "06:00", "end": "14:00"}], at_shift_end="finish"),
        days=days,
        seed=8,
    )
    duty = on_duty([(6, 14, None)], days)
    bench = run.index.stations.index("bench")
    jobs = job_table(run)
    mine = jobs["station"] == bench
    for start, end in zip(jobs["start"][mine], jobs["end"][mine], strict=True):
        assert inside(start, start, duty), f"job started at {start:.3f}, off shift"
        assert 6 - EPS <= end % 24 <= 14 + 1.5 + EPS  # finished by the end of the shift + one job
    assert (jobs["paused_crew"][mine] == 0).all()  # nothing is paused
    assert ((jobs["end"][mine] % 24) > 14 + EPS).any(), "no job was finished after the shift's end"


def test_a_station_without_operator_on_duty_starts_nothing_overnight() -> None:
    """Throughput per hour of the day: nothing finishes at the bench outside 06:00–14:00."""
    run, _ = simulate_checked(shift_plant([{"start": "06:00", "end": "14:00"}]), days=28, seed=1)
    bench = run.index.stations.index("bench")
    jobs = job_table(run)
    ends = jobs["end"][(jobs["station"] == bench) & jobs["finished"]] % 24
    assert ((ends >= 6 - EPS) & (ends <= 14 + EPS)).all()


def test_shifts_through_the_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = plant_data(
        {"bench": station(1.0, servers=2, operator="tech")},
        release={"item": "rack", "interarrival_hours": exponential(3.0)},
        operators={
            "tech": {
                "count": 2,
                "shifts": [{"start": "08:00", "end": "16:00", "days": ["mon", "tue", "wed", "thu", "fri"]}],
            }
        },
    )
    days = 56.0
    kpis = simulate_cli(capsys, tmp_path, data, days=days, warmup_days=0, records=True)
    jobs = pq.read_table(tmp_path / "out" / "jobs.parquet").to_pydict()
    duty = on_duty([(8, 16, {0, 1, 2, 3, 4})], int(days))
    assert len(jobs["job"]) > 100
    for start, end, paused, finished in zip(
        jobs["start_h"], jobs["end_h"], jobs["paused_for_operator_h"], jobs["finished"], strict=True
    ):
        assert inside(start, start, duty), start
        if finished:
            assert end - start - paused == pytest.approx(1.0, abs=1e-9)
            assert inside(end, end, duty), end
    # 2 operators × 8 h × 5 days a week
    assert mean(kpis, "operators", "tech", "on_duty_hours") == pytest.approx(2 * 8 * 5 * days / 7, abs=1e-6)


def test_a_repair_during_the_night_does_not_keep_the_operator_busy() -> None:
    """One station with failures, one operator on 06:00–18:00 (pause). A job paused at 18:00 for want
    of its operator, whose server then fails and is repaired in the night, still has no operator until
    06:00: after the repair it waits for the operator, not for the server. So the hours its pauses
    blame on the server are exactly its overlap with the server's outages, and the operator is never
    held for more hours than they are on duty."""
    plant = make_plant(
        {"s0": station(1.0, mtbf_hours=5.0, mttr_hours=1.0, operator="tech")},
        release={"item": "rack", "wip_limit": 1},
        operators={"tech": {"count": 1, "shifts": [{"start": "06:00", "end": "18:00"}]}},
    )
    run, m = simulate_checked(plant, days=2, seed=0)
    jobs = job_table(run)
    outages = run.records.outages
    for job, start, end, down in zip(
        jobs["job"], jobs["start"], jobs["end"], jobs["paused_down"], strict=True
    ):
        overlap = np.clip(np.minimum(outages[:, 2], end) - np.maximum(outages[:, 1], start), 0, None).sum()
        assert down == pytest.approx(overlap, abs=1e-9), (
            f"job {job}: {down:.3f} h paused 'down', {overlap:.3f} h of outage"
        )
    tech = m["operators"]["tech"]
    assert tech["busy_hours"] <= tech["on_duty_hours"] + 1e-9, tech
    assert tech["utilization"] <= 1 + 1e-9
