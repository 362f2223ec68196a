"""Batch stations with a known wait. Units arrive every ``a`` hours at a station that starts a batch only
with ``B`` units (batch = batch_min = B): the k-th unit of a batch (k = 0..B−1) waits (B−1−k)·a, so the
mean queue wait is (B−1)·a/2 exactly, as long as the server is free again before the next batch forms.
Everything is deterministic: the tolerance is rounding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from plant_builders import job_table, make_plant, mean, plant_data, simulate_checked, simulate_cli, station


def batch_plant(batch: int, gap: float, time: float, **fields: object):  # type: ignore[no-untyped-def]
    return make_plant(
        {"pre": station(0.1), "oven": station(time, batch=batch, batch_min=batch, **fields)},
        release={"item": "rack", "interarrival_hours": gap},
    )


@pytest.mark.parametrize(
    ("batch", "gap", "time"),
    [(2, 0.5, 0.5), (4, 1.5, 3.0), (8, 1.0, 4.0), (8, 1.0, 8.0), (3, 2.0, 0.1)],
)
def test_mean_batch_wait_is_b_minus_1_a_over_2(batch: int, gap: float, time: float) -> None:
    _, m = simulate_checked(batch_plant(batch, gap, time), days=20)
    s = m["stations"]["oven"]
    assert s["wait_hours"] == pytest.approx((batch - 1) * gap / 2, abs=1e-9)
    assert m["stations"]["pre"]["wait_hours"] == pytest.approx(0.0, abs=1e-12)
    # lead time: pre, the wait for the batch, the batch's time
    assert m["lead_time_hours"] == pytest.approx(0.1 + (batch - 1) * gap / 2 + time, abs=1e-9)


@pytest.mark.parametrize(("batch", "gap", "time"), [(2, 0.5, 0.5), (3, 2.0, 0.1), (8, 1.0, 0.75)])
def test_every_job_takes_a_full_batch(batch: int, gap: float, time: float) -> None:
    run, _ = simulate_checked(batch_plant(batch, gap, time), days=10)
    oven = run.index.stations.index("oven")
    jobs = job_table(run)
    mine = (jobs["station"] == oven) & jobs["finished"]
    assert mine.sum() > 0
    assert (jobs["units"][mine] == batch).all()
    np.testing.assert_allclose(np.diff(jobs["start"][mine]), batch * gap)


@pytest.mark.parametrize(("batch", "gap", "time"), [(2, 0.5, 0.5), (3, 2.0, 0.1), (8, 1.0, 0.75)])
def test_batch_wait_is_reported_as_batch_when_the_server_is_free(batch: int, gap: float, time: float) -> None:
    """The server finishes within ``a`` of a batch's start: all the queue time is waiting for a batch."""
    _, m = simulate_checked(batch_plant(batch, gap, time), days=20)
    parts = m["lead_time_breakdown_hours"]
    assert parts["batch"] == pytest.approx((batch - 1) * gap / 2, abs=1e-9)
    assert parts["server"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(("batch", "gap", "time"), [(4, 1.5, 3.0), (8, 1.0, 4.0)])
def test_batch_wait_is_batch_while_the_previous_batch_finishes(batch: int, gap: float, time: float) -> None:
    """The server is busy for part of the time the next batch forms, but free before it is complete: the
    units would start no sooner with any number of servers, so none of their wait is for a server."""
    _, m = simulate_checked(batch_plant(batch, gap, time), days=20)
    parts = m["lead_time_breakdown_hours"]
    assert parts["server"] == pytest.approx(0.0, abs=1e-9), parts
    assert parts["batch"] == pytest.approx((batch - 1) * gap / 2, abs=1e-9), parts


def test_batch_wait_hours_starts_a_short_batch() -> None:
    """batch 4, batch_min 4, batch_wait 1.5 h, a unit an hour: at 1.5 h the first has waited long enough
    and a batch of 2 starts (waits 1.5 and 0.5: mean 1.0)."""
    plant = make_plant(
        {"oven": station(0.25, batch=4, batch_min=4, batch_wait_hours=1.5)},
        release={"item": "rack", "interarrival_hours": 1.0},
    )
    run, m = simulate_checked(plant, days=10)
    jobs = job_table(run)
    done = jobs["finished"]
    assert (jobs["units"][done] == 2).all()
    np.testing.assert_allclose(jobs["start"] % 2.0, 1.5)
    assert m["stations"]["oven"]["wait_hours"] == pytest.approx(1.0, abs=1e-9)


def test_batch_wait_through_the_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    batch, gap = 6, 0.75
    data = plant_data(
        {"pre": station(0.1), "oven": station(0.5, batch=batch, batch_min=batch, buffer=batch)},
        release={"item": "rack", "interarrival_hours": gap},
    )
    kpis = simulate_cli(capsys, tmp_path, data, days=30, warmup_days=3, replications=2, records=True)
    assert mean(kpis, "stations", "oven", "wait_hours") == pytest.approx((batch - 1) * gap / 2, abs=1e-9)
    assert kpis["stations"]["oven"]["wait_hours"]["ci95"] == pytest.approx(0.0, abs=1e-9)
    assert mean(kpis, "lead_time_hours") == pytest.approx(0.1 + (batch - 1) * gap / 2 + 0.5, abs=1e-9)
