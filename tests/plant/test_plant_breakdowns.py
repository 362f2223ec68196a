"""Failures and repairs: availability = MTBF / (MTBF + MTTR), and a job stopped by a failure resumes with
the work it had left.

Tolerance. Each server alternates exponential up times (mean MTBF) and down times (mean MTTR). By the
renewal-reward theorem its down share over T hours is asymptotically normal with variance
Var(D − p·C) / (E[C]·T), where C = U + D is a cycle and p = MTTR / (MTBF + MTTR); with exponential U and
D that is ((1 − p)²·MTTR² + p²·MTBF²) / ((MTBF + MTTR)·T). Servers and replications are independent,
so the standard deviation of the reported availability divides by √(servers × replications); the
tests allow four of those.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
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

from aifactory.plant.log import OUTAGE_FAILURE


def availability_sd(mtbf: float, mttr: float, hours: float, servers: int, replications: int = 1) -> float:
    p = mttr / (mtbf + mttr)
    var = ((1 - p) ** 2 * mttr**2 + p**2 * mtbf**2) / ((mtbf + mttr) * hours)
    return math.sqrt(var / (servers * replications))


@pytest.mark.parametrize(("mtbf", "mttr", "servers"), [(50.0, 5.0, 2), (200.0, 40.0, 3)])
def test_availability_is_mtbf_over_mtbf_plus_mttr(mtbf: float, mttr: float, servers: int) -> None:
    plant = make_plant(
        {"m": station(1.0, servers=servers, mtbf_hours=mtbf, mttr_hours=mttr)},
        release={"item": "rack", "interarrival_hours": exponential(1.0)},
    )
    days, warmup = 1500.0, 10.0
    run, m = simulate_checked(plant, days=days, seed=3, warmup_days=warmup)
    hours = (days - warmup) * 24
    sd = availability_sd(mtbf, mttr, hours, servers)
    assert m["stations"]["m"]["availability"] == pytest.approx(mtbf / (mtbf + mttr), abs=4 * sd)
    assert m["stations"]["m"]["maintenance"] == 0.0
    # failures strike in calendar time: the mean up time between repairs is MTBF (exponential: sd/√n)
    out = run.records.outages
    assert (out[:, 3] == OUTAGE_FAILURE).all()
    down = out[:, 2] - out[:, 1]
    assert down.mean() == pytest.approx(mttr, rel=4 / math.sqrt(len(down)))


def test_a_failed_job_resumes_with_the_work_it_had_left() -> None:
    """Every finished job's time less its pauses for failures is its processing time (1 h), and those
    pauses are exactly the overlap of the job with its server's outages."""
    plant = make_plant(
        {"m": station(1.0, servers=2, mtbf_hours=10.0, mttr_hours=2.0)},
        release={"item": "rack", "interarrival_hours": exponential(1.0)},
    )
    run, m = simulate_checked(plant, days=60, seed=5)
    jobs = job_table(run)
    done = jobs["finished"]
    start, end, down = jobs["start"][done], jobs["end"][done], jobs["paused_down"][done]
    np.testing.assert_allclose(end - start - down, 1.0, atol=1e-9)
    assert (down > 0).sum() > 50  # many jobs were interrupted
    outages = run.records.outages
    server = jobs["server"][done]
    for i in np.flatnonzero(down > 0)[:200]:
        mine = outages[outages[:, 0] == server[i]]
        overlap = np.clip(np.minimum(mine[:, 2], end[i]) - np.maximum(mine[:, 1], start[i]), 0, None).sum()
        assert overlap == pytest.approx(down[i], abs=1e-9)
    # a server processes only while up: utilisation is the work, not the time held
    assert m["stations"]["m"]["utilization"] == pytest.approx(0.5, abs=0.03)
    assert m["lead_time_breakdown_hours"]["down"] > 0


def test_no_job_is_processed_during_an_outage() -> None:
    plant = make_plant(
        {
            "m": station(
                exponential(0.5),
                servers=1,
                mtbf_hours=8.0,
                mttr_hours={"dist": "uniform", "low": 1, "high": 3},
            )
        },
        release={"item": "rack", "interarrival_hours": exponential(1.5)},
    )
    run, _ = simulate_checked(plant, days=40, seed=2)
    jobs, pauses, outages = job_table(run), run.records.pauses, run.records.outages
    assert len(outages) > 50
    down = outages[:, 2] - outages[:, 1]
    assert down.min() >= 1.0 - 1e-12 and down.max() <= 3.0 + 1e-12
    for o in outages:
        hit = (jobs["server"] == o[0]) & (jobs["start"] < o[2]) & (jobs["end"] > o[1])
        for job, start, end in zip(jobs["job"][hit], jobs["start"][hit], jobs["end"][hit], strict=True):
            # the job overlaps the outage: it must be paused all through the overlap
            lo, hi = max(o[1], start), min(o[2], end)
            mine = pauses[pauses[:, 0] == job]
            covered = np.clip(np.minimum(mine[:, 2], hi) - np.maximum(mine[:, 1], lo), 0, None).sum()
            assert covered == pytest.approx(hi - lo, abs=1e-9)


def test_availability_through_the_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    mtbf, mttr, servers, reps = 30.0, 6.0, 2, 4
    data = plant_data(
        {
            "prep": station(0.2),
            "m": station(exponential(0.8), servers=servers, mtbf_hours=mtbf, mttr_hours=mttr),
        },
        release={"item": "rack", "interarrival_hours": exponential(1.0)},
    )
    days, warmup = 400.0, 10.0
    kpis = simulate_cli(capsys, tmp_path, data, days=days, warmup_days=warmup, replications=reps)
    sd = availability_sd(mtbf, mttr, (days - warmup) * 24, servers, reps)
    assert mean(kpis, "stations", "m", "availability") == pytest.approx(mtbf / (mtbf + mttr), abs=4 * sd)
    assert mean(kpis, "stations", "prep", "availability") == 1.0
