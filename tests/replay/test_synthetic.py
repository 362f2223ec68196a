"""The Philly-calibrated synthetic workload: determinism, calibration, load targeting, diurnal cycle.

Calibration checks compare a generated workload with :data:`PHILLY_STATS`; the last tests re-measure
those constants on the real Philly file (skipped without ``AIFACTORY_DATA_DIR``).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from aifactory.replay.synthetic import (
    DEFAULT_PEAK_HOUR,
    DURATION_CLASSES,
    PHILLY_STATS,
    PhillyStats,
    duration_class,
    expected_gpu_seconds_per_job,
    philly_stats,
    synthetic_workload,
)
from aifactory.replay.trace import Trace, load_trace
from aifactory.scheduler.job import Job
from data_paths import philly_path

TENANTS = {"alpha": 0.5, "beta": 0.3, "gamma": 0.2}
DAY = 86_400.0


def as_trace(jobs: list[Job]) -> Trace:
    return Trace(jobs, [], "synthetic", "generic", sorted({j.tenant for j in jobs}))


def offered_load(jobs: list[Job], days: float) -> float:
    return sum(j.gpus * j.duration for j in jobs) / (days * DAY)


# Mean durations (s) of the size classes under log-linear interpolation of Philly's quantiles, as
# documented beside PHILLY_STATS in aifactory/replay/synthetic.py; and the class each size draws from.
CLASS_MEAN_S = {1: 8_992, 2: 29_493, 4: 78_490, 8: 131_650, 12: 120_355, 24: 26_522}
SIZE_CLASS = {1: 1, 2: 2, 4: 4, 8: 8, 12: 12, 16: 12, 24: 24, 32: 24, 64: 24, 128: 24}


def work_per_job_by_hand(max_gpus: int = 128) -> float:
    """E[gpus × duration] of a synthetic job: Philly's job counts per size (up to ``max_gpus``) × size ×
    its class's mean duration, over the jobs counted — worked out here, not by the generator's code."""
    counts = {g: n for g, n in PHILLY_STATS.size_counts.items() if g <= max_gpus}
    return sum(n * g * CLASS_MEAN_S[SIZE_CLASS[g]] for g, n in counts.items()) / sum(counts.values())


@pytest.fixture(scope="module")
def month() -> list[Job]:
    """About 20k jobs: 30 days at a fixed rate, Philly's diurnal cycle."""
    return synthetic_workload(days=30, tenants=TENANTS, rng=np.random.default_rng(7), jobs_per_day=700)


@pytest.fixture(scope="module")
def loaded() -> list[Job]:
    """About 240k jobs offering 80 % of 5,000 GPUs for 30 days: large enough for the heavy-tailed load."""
    return synthetic_workload(days=30, tenants=TENANTS, rng=np.random.default_rng(11), gpus_available=5000)


def test_same_seed_same_jobs() -> None:
    def make(seed: int) -> list[Job]:
        return synthetic_workload(days=2, tenants=TENANTS, rng=np.random.default_rng(seed), jobs_per_day=500)

    assert make(3) == make(3)
    assert make(3) != make(4)


def test_jobs_are_sorted_and_well_formed(month: list[Job]) -> None:
    assert 19_000 < len(month) < 23_000
    assert [j.id for j in month[:3]] == ["s1", "s2", "s3"]
    assert len({j.id for j in month}) == len(month)
    submits = [j.submit for j in month]
    assert submits == sorted(submits)
    assert submits[0] >= 0 and submits[-1] < 30 * DAY
    assert all(j.gpus >= 1 and j.duration >= 1 and j.duration == int(j.duration) for j in month)


def test_size_mix_matches_philly(month: list[Job]) -> None:
    counts = Counter(j.gpus for j in month)
    for size, share in PHILLY_STATS.size_mix.items():
        assert counts[size] / len(month) == pytest.approx(share, abs=0.01), size
    assert set(counts) <= set(PHILLY_STATS.size_counts)


def test_durations_match_philly(month: list[Job]) -> None:
    durations = np.array([j.duration for j in month])
    assert np.median(durations) == pytest.approx(PHILLY_STATS.duration_median_s, rel=0.1)
    assert np.log(durations).std() == pytest.approx(PHILLY_STATS.duration_sigma_log, abs=0.15)
    assert (durations < 60).mean() == pytest.approx(PHILLY_STATS.under_minute / PHILLY_STATS.jobs, abs=0.01)
    big = np.array([j.duration for j in month if j.gpus >= 4])
    assert np.median(big) > 5 * np.median(durations)  # multi-GPU jobs run longer, as in Philly


def test_diurnal_cycle_peaks_in_working_hours(month: list[Job]) -> None:
    stats = philly_stats(as_trace(month))
    assert stats.diurnal_amplitude == pytest.approx(PHILLY_STATS.diurnal_amplitude, abs=0.03)
    assert abs(stats.diurnal_peak_hour - DEFAULT_PEAK_HOUR) < 1.0
    hourly = np.array(stats.hourly_arrivals)
    assert 11 <= int(np.argmax(hourly)) <= 17  # hourly counts are noisy; the fitted peak above is not
    assert int(np.argmin(hourly)) in {23, 0, 1, 2, 3, 4, 5}
    evening = synthetic_workload(
        days=10, tenants=TENANTS, rng=np.random.default_rng(1), jobs_per_day=700, peak_hour=20.0
    )
    assert abs(philly_stats(as_trace(evening)).diurnal_peak_hour - 20.0) < 1.5


def test_flat_and_weekly_arrivals() -> None:
    flat = synthetic_workload(
        days=20, tenants=TENANTS, rng=np.random.default_rng(2), jobs_per_day=700, diurnal=False
    )
    assert philly_stats(as_trace(flat)).diurnal_amplitude < 0.04
    weekly = synthetic_workload(
        days=28, tenants=TENANTS, rng=np.random.default_rng(2), jobs_per_day=700, weekly=True
    )
    weekdays = philly_stats(as_trace(weekly)).weekday_arrivals
    for measured, expected in zip(weekdays, PHILLY_STATS.weekday_arrivals, strict=True):
        assert measured == pytest.approx(expected, abs=0.01)


def test_offered_load_targets_the_cluster(loaded: list[Job]) -> None:
    assert offered_load(loaded, 30) == pytest.approx(0.8 * 5000, rel=0.10)
    # The rate is derived exactly from the expected work per job (≈ 43.6k GPU-s): ≈ 237.6k jobs, and a
    # Poisson count of that mean is within 1 % (about 5 standard deviations).
    expected_jobs = 0.8 * 5000 * DAY / work_per_job_by_hand() * 30
    assert len(loaded) == pytest.approx(expected_jobs, rel=0.01)


def test_expected_work_per_job_is_philly_like() -> None:
    philly_per_job = PHILLY_STATS.gpu_hours * 3600 / PHILLY_STATS.jobs
    assert expected_gpu_seconds_per_job() == pytest.approx(philly_per_job, rel=0.05)
    # the documented class means are rounded to the second: 1e-5 is well above that rounding
    assert expected_gpu_seconds_per_job() == pytest.approx(work_per_job_by_hand(), rel=1e-5)
    assert expected_gpu_seconds_per_job(max_gpus=8) == pytest.approx(work_per_job_by_hand(8), rel=1e-5)
    assert expected_gpu_seconds_per_job(max_gpus=8) < expected_gpu_seconds_per_job()
    assert expected_gpu_seconds_per_job({1: 1.0}) == pytest.approx(
        expected_gpu_seconds_per_job({1: 1.0, 2: 1.0}, max_gpus=1)
    )


def test_max_gpus_redraws_big_sizes() -> None:
    jobs = synthetic_workload(
        days=5, tenants=TENANTS, rng=np.random.default_rng(5), jobs_per_day=2000, max_gpus=4
    )
    counts = Counter(j.gpus for j in jobs)
    assert max(counts) == 4
    mix = PHILLY_STATS.size_mix
    fitting = mix[1] + mix[2] + mix[4]
    assert counts[1] / len(jobs) == pytest.approx(mix[1] / fitting, abs=0.01)
    capped = synthetic_workload(
        days=5, tenants=TENANTS, rng=np.random.default_rng(5), gpus_available=576, target_load=0.5, max_gpus=8
    )
    assert max(j.gpus for j in capped) <= 8
    # The rate is derived from the capped mix's (smaller) work per job (≈ 38.0k GPU-s): ≈ 3,275 jobs.
    expected_jobs = 0.5 * 576 * DAY / work_per_job_by_hand(max_gpus=8) * 5
    assert len(capped) == pytest.approx(expected_jobs, rel=0.05)


def test_custom_size_mix() -> None:
    jobs = synthetic_workload(
        days=3,
        tenants={"t": 1.0},
        rng=np.random.default_rng(9),
        jobs_per_day=1000,
        size_mix={72: 1.0, 3: 1.0},
    )
    assert {j.gpus for j in jobs} == {3, 72}
    assert duration_class(3) == 2 and duration_class(72) == 24 and duration_class(1) == 1


def test_tenants_by_weight(loaded: list[Job]) -> None:
    counts = Counter(j.tenant for j in loaded)
    for tenant, weight in TENANTS.items():
        assert counts[tenant] / len(loaded) == pytest.approx(weight, rel=0.03)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"days": 0, "jobs_per_day": 10}, "days"),
        ({"days": 1}, "gpus_available"),
        ({"days": 1, "gpus_available": 100, "target_load": -1}, "target_load"),
        ({"days": 1, "jobs_per_day": 10, "max_gpus": 0}, "max_gpus"),
        ({"days": 1, "jobs_per_day": 10, "size_mix": {8: 1.0}, "max_gpus": 4}, "max_gpus"),
        ({"days": 1, "jobs_per_day": 10, "size_mix": {0: 1.0}}, "size_mix"),
        ({"days": 1, "jobs_per_day": 10, "tenants": {}}, "tenants"),
        ({"days": 1, "jobs_per_day": 10, "diurnal_amplitude": 2.0}, "diurnal_amplitude"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"tenants": TENANTS, "rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(ValueError, match=field):
        synthetic_workload(**args)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ calibration


@pytest.fixture(scope="module")
def measured() -> PhillyStats:
    return philly_stats(load_trace(philly_path()))


def test_philly_stats_reproduce_the_constants(measured: PhillyStats) -> None:
    c = PHILLY_STATS
    assert measured.jobs == c.jobs
    assert measured.tenants == c.tenants
    assert measured.size_counts == c.size_counts
    assert measured.under_minute == c.under_minute
    assert measured.gpu_hours == pytest.approx(c.gpu_hours, abs=0.01)
    assert measured.span_days == pytest.approx(c.span_days, abs=1e-4)
    assert measured.duration_median_s == c.duration_median_s
    assert measured.duration_mu_log == pytest.approx(c.duration_mu_log, abs=1e-4)
    assert measured.duration_sigma_log == pytest.approx(c.duration_sigma_log, abs=1e-4)
    assert set(measured.duration_quantiles) == set(DURATION_CLASSES)
    assert measured.duration_quantiles == {k: tuple(map(float, v)) for k, v in c.duration_quantiles.items()}
    assert measured.hourly_arrivals == pytest.approx(c.hourly_arrivals, abs=1e-4)
    assert measured.weekday_arrivals == pytest.approx(c.weekday_arrivals, abs=1e-4)
    assert measured.diurnal_amplitude == pytest.approx(c.diurnal_amplitude, abs=1e-4)
    assert measured.diurnal_peak_hour == pytest.approx(c.diurnal_peak_hour, abs=1e-3)
    assert math.isclose(sum(measured.size_mix.values()), 1.0)
