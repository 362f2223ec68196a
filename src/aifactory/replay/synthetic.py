"""A synthetic GPU-cluster workload calibrated on the Philly trace (pure: no I/O, randomness from ``rng``).

Why: the public traces are fixed in size, span and load; sizing an AI factory needs workloads of any
length and intensity that still look like a real research cluster. :func:`synthetic_workload` draws

* job sizes from Philly's size mix (fraction of jobs per GPU count),
* durations from Philly's empirical duration distribution *per size class* (multi-GPU jobs run far longer
  than 1-GPU jobs: median 17–24k s for 4–8 GPUs against 1.1k s for 1 GPU, so one duration law for all sizes
  would put only ~40 % of Philly's GPU-hours per job),
* arrivals as a non-homogeneous Poisson process, with a diurnal sinusoid (amplitude fitted on Philly) and
  optionally Philly's weekday pattern,
* tenants by the given weights.

The calibration figures live in :data:`PHILLY_STATS`; :func:`philly_stats` measures the same figures from a
loaded trace, so the constants can be re-derived (and are checked by the tests against the real file).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from aifactory.scheduler.job import Job

if TYPE_CHECKING:
    from aifactory.replay.trace import Trace

__all__ = [
    "DEFAULT_PEAK_HOUR",
    "DURATION_CLASSES",
    "DURATION_PROBS",
    "PHILLY_STATS",
    "PhillyStats",
    "duration_class",
    "expected_gpu_seconds_per_job",
    "philly_stats",
    "synthetic_workload",
]

DAY = 86_400.0
HOUR = 3_600.0

# Probabilities at which each size class's duration quantiles are tabulated. Between two points the
# duration is log-linear in the probability, so the table is an inverse CDF that keeps Philly's mass of
# sub-minute jobs and its long tail (bounded by the longest job seen in the class).
DURATION_PROBS: tuple[float, ...] = (
    0.0, 0.01, 0.02, 0.05, 0.08, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999,
    1.0,
)  # fmt: skip
# Size classes for durations, by smallest GPU count: 1, 2, 4–7, 8–11, 12–23, 24 and more. Separating 12–16
# from 24+ matters: Philly's 32–128-GPU jobs are much shorter than its 16-GPU jobs.
DURATION_CLASSES: tuple[int, ...] = (1, 2, 4, 8, 12, 24)
# The diurnal cycle's peak in the synthetic clock (hour of day; day 0 starts at midnight, on a Monday).
# Philly's own peak (PHILLY_STATS.diurnal_peak_hour ≈ 05:00) is in the trace's undocumented time zone
# (05:00 UTC is early afternoon in East Asia, late evening in Redmond), so the default is a documented
# working-hours peak, mid-afternoon, instead.
DEFAULT_PEAK_HOUR = 14.0


@dataclass(frozen=True)
class PhillyStats:
    """Calibration figures of a trace (Philly's in :data:`PHILLY_STATS`).

    ``hourly_arrivals`` and ``weekday_arrivals`` are fractions of submissions per hour of day (0–23) and per
    weekday (Monday first) in the trace's clock; ``diurnal_amplitude`` and ``diurnal_peak_hour`` are the
    first harmonic of the submission times over the day (rate ∝ 1 + A·cos(2π(h − peak)/24)).
    ``duration_quantiles[c]`` are the durations of size class ``c`` (see :data:`DURATION_CLASSES`) at
    :data:`DURATION_PROBS`; ``duration_median_s`` and ``duration_sigma_log`` describe all jobs together
    (median and standard deviation of ln(duration)), i.e. the best single lognormal.
    """

    jobs: int
    tenants: int
    gpu_hours: float
    span_days: float
    size_counts: dict[int, int]
    duration_median_s: float
    duration_mu_log: float
    duration_sigma_log: float
    under_minute: int
    duration_quantiles: dict[int, tuple[float, ...]]
    hourly_arrivals: tuple[float, ...]
    weekday_arrivals: tuple[float, ...]
    diurnal_amplitude: float
    diurnal_peak_hour: float

    @property
    def size_mix(self) -> dict[int, float]:
        """Fraction of jobs per GPU count."""
        total = sum(self.size_counts.values())
        return {g: n / total for g, n in sorted(self.size_counts.items())}


# Measured with philly_stats(load_trace("philly.csv")) on the Sia artifact's Philly file (82,247 jobs,
# 2017-09-04 10:30:41 … 2017-12-22 08:02:11); tests/replay/test_synthetic.py re-measures and compares.
#
# Durations (s) at DURATION_PROBS per size class. Class means under log-linear interpolation are
# 1: 8,992  2: 29,493  4: 78,490  8: 131,650  12: 120,355  24: 26,522 s (Philly: 8,301, 30,942, 78,762,
# 129,775, 122,726, 27,322), so a synthetic job averages 43.6k GPU-s against Philly's 42.8k (+1.9 %),
# and 9.6 % of synthetic jobs run under a minute against Philly's 9.3 %.
# 2-GPU jobs are odd: 75 % of them end within a minute (median 21 s), the rest mostly for hours to days.
# fmt: off
_PHILLY_DURATION_QUANTILES: dict[int, tuple[float, ...]] = {
    1: (1, 30, 42, 52, 59, 62, 76, 215, 600, 1117, 1728, 2464, 3754, 8512, 19137, 68259, 135404, 266986,
        868927, 3256045),
    2: (2, 5, 7, 9, 10, 11, 15, 17, 19, 21, 25, 33, 150, 73625, 197392, 343945, 526030, 810065, 1521148,
        2582803),
    4: (3, 35, 45, 75, 113, 136, 400, 1695, 7457, 17388, 36253, 78636, 106275, 184426, 274339, 536225,
        908661, 1213031, 2641566, 2750674),
    8: (1, 33, 64, 125, 181, 216, 783, 3940, 12390, 23683, 64753, 140815, 203140, 352409, 525631, 807057,
        1066894, 2010727, 2658784, 4628226),
    12: (2, 20, 30, 40, 47, 55, 277, 614, 7921, 32662, 72685, 141622, 184816, 340881, 505681, 657879,
         1152387, 1369876, 1710643, 1710643),
    24: (1, 1, 2, 4, 265, 326, 812, 990, 1738, 3718, 28475, 47708, 53862, 59941, 78004, 128924, 213302,
         213302, 213302, 213302),
}
# Fraction of submissions per hour of day, 00–23 in the trace's clock: highest at 06–07 (8.7 % at 07),
# lowest 12–19; the first harmonic has amplitude 0.291 and peaks at 04:59.
_PHILLY_HOURLY: tuple[float, ...] = (
    0.0531, 0.0410, 0.0466, 0.0460, 0.0292, 0.0480, 0.0697, 0.0870, 0.0462, 0.0419, 0.0427, 0.0362,
    0.0312, 0.0294, 0.0266, 0.0270, 0.0367, 0.0278, 0.0334, 0.0303, 0.0423, 0.0382, 0.0472, 0.0421,
)
# fmt: on

PHILLY_STATS = PhillyStats(
    jobs=82_247,
    tenants=15,
    gpu_hours=978_078.47,
    span_days=108.8969,
    # jobs per GPU count: 1 GPU 76,627, 2: 1,818, 4: 1,870, 8: 1,643, 12: 7, 16: 199, 24: 7, 32: 67, 64: 6,
    # 128: 3 (93.2 % of jobs use one GPU; 16 or more GPUs: 0.34 %).
    size_counts={1: 76_627, 2: 1_818, 4: 1_870, 8: 1_643, 12: 7, 16: 199, 24: 7, 32: 67, 64: 6, 128: 3},
    # All jobs: median 1,144 s, ln(duration) mean 6.791 and sd 2.156 (the best single lognormal: median
    # 1,144 s, sigma 2.156); 7,654 jobs (9.3 %) run under a minute; the longest runs 53.6 days.
    duration_median_s=1144.0,
    duration_mu_log=6.7909,
    duration_sigma_log=2.1555,
    under_minute=7_654,
    duration_quantiles=_PHILLY_DURATION_QUANTILES,
    hourly_arrivals=_PHILLY_HOURLY,
    # Monday … Sunday: a weekend day gets about half a weekday's submissions.
    weekday_arrivals=(0.1232, 0.1523, 0.1626, 0.1838, 0.2061, 0.0870, 0.0850),
    diurnal_amplitude=0.2909,
    diurnal_peak_hour=4.993,
)


def duration_class(gpus: int) -> int:
    """The duration size class of a job with ``gpus`` GPUs: the largest class bound not above it."""
    cls = DURATION_CLASSES[0]
    for bound in DURATION_CLASSES:
        if gpus >= bound:
            cls = bound
    return cls


def _class_mean(quantiles: tuple[float, ...]) -> float:
    """Mean duration of a quantile table under log-linear interpolation (exact, segment by segment)."""
    total = 0.0
    probs, qs = DURATION_PROBS, quantiles
    for p0, p1, q0, q1 in zip(probs[:-1], probs[1:], qs[:-1], qs[1:], strict=True):
        segment = q0 if q1 == q0 else (q1 - q0) / math.log(q1 / q0)
        total += (p1 - p0) * segment
    return total


def _size_table(size_mix: dict[int, float] | None, max_gpus: int | None) -> tuple[list[int], list[float]]:
    """Sizes and their probabilities, restricted to ``max_gpus`` (the same law as redrawing big sizes)."""
    mix = PHILLY_STATS.size_mix if size_mix is None else size_mix
    if not mix:
        raise ValueError("size_mix: empty")
    for size, weight in mix.items():
        if int(size) != size or size < 1:
            raise ValueError(f"size_mix: GPU count must be a positive integer, got {size!r}")
        if not (weight >= 0 and math.isfinite(weight)):
            raise ValueError(f"size_mix: weight of {size} GPUs must be a non-negative number, got {weight!r}")
    allowed = sorted(s for s in mix if max_gpus is None or s <= max_gpus)
    total = sum(mix[s] for s in allowed)
    if total <= 0:
        raise ValueError(
            f"max_gpus={max_gpus}: no job size in the mix fits (sizes: {', '.join(map(str, sorted(mix)))})"
        )
    return allowed, [mix[s] / total for s in allowed]


def expected_gpu_seconds_per_job(
    size_mix: dict[int, float] | None = None, max_gpus: int | None = None, stats: PhillyStats | None = None
) -> float:
    """Mean GPU-seconds of one synthetic job (``E[gpus × duration]``) for a size mix and size cap.

    With Philly's mix this is ≈ 43.6k GPU-s (Philly itself: 42.8k GPU-s per job).
    """
    stats = stats or PHILLY_STATS
    sizes, probs = _size_table(size_mix if size_mix is not None else stats.size_mix, max_gpus)
    means = {c: _class_mean(q) for c, q in stats.duration_quantiles.items()}
    return sum(p * s * means[duration_class(s)] for s, p in zip(sizes, probs, strict=True))


def _arrivals(
    rng: np.random.Generator,
    horizon: float,
    per_second: float,
    amplitude: float,
    peak_hour: float,
    weekday: npt.NDArray[np.float64] | None,
) -> npt.NDArray[np.float64]:
    """Submit times of a Poisson process with rate ``per_second × diurnal(t) × weekday(t)``, by thinning."""
    top = (1.0 + amplitude) * (float(weekday.max()) if weekday is not None else 1.0)
    candidates = rng.poisson(per_second * top * horizon)
    times = np.sort(rng.uniform(0.0, horizon, size=candidates))
    rate = 1.0 + amplitude * np.cos(2.0 * math.pi * (times / HOUR - peak_hour) / 24.0)
    if weekday is not None:
        rate = rate * weekday[(times // DAY).astype(np.int64) % 7]
    accept = rng.uniform(0.0, top, size=candidates) < rate
    return times[accept]


def synthetic_workload(
    *,
    days: float,
    tenants: dict[str, float],
    rng: np.random.Generator,
    jobs_per_day: float | None = None,
    gpus_available: int | None = None,
    target_load: float = 0.8,
    max_gpus: int | None = None,
    size_mix: dict[int, float] | None = None,
    diurnal: bool = True,
    diurnal_amplitude: float | None = None,
    peak_hour: float = DEFAULT_PEAK_HOUR,
    weekly: bool = False,
    stats: PhillyStats | None = None,
) -> list[Job]:
    """A Philly-like list of jobs over ``days`` days, sorted by submit time, with ids ``s1, s2, …``.

    The arrival rate is ``jobs_per_day`` on average; when it is ``None`` it is chosen so that the offered
    load (GPU-seconds of work per second) is ``target_load × gpus_available``. ``size_mix`` (GPU count →
    weight, default Philly's) and ``max_gpus`` (sizes above it are redrawn) set job sizes; durations follow
    Philly's per-size-class distribution. ``diurnal`` modulates arrivals by
    ``1 + A·cos(2π(h − peak_hour)/24)`` with A = ``diurnal_amplitude`` (default: Philly's fitted amplitude);
    ``weekly`` also applies Philly's weekday pattern (day 0 is a Monday). Tenants are drawn by ``tenants``
    weights. ``stats`` replaces Philly's calibration by another trace's (``philly_stats``). Same ``rng``
    state, same jobs.
    """
    stats = stats or PHILLY_STATS
    if size_mix is None:
        size_mix = stats.size_mix
    if not (days > 0 and math.isfinite(days)):
        raise ValueError(f"days: must be a positive number, got {days!r}")
    names = list(tenants)
    weights = np.array([tenants[n] for n in names], dtype=np.float64)
    if not names or not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(
            f"tenants: need at least one tenant and non-negative weights summing above 0: {tenants}"
        )
    if max_gpus is not None and max_gpus < 1:
        raise ValueError(f"max_gpus: must be at least 1, got {max_gpus}")
    sizes, probs = _size_table(size_mix, max_gpus)
    if jobs_per_day is None:
        if gpus_available is None or gpus_available <= 0:
            raise ValueError("give jobs_per_day, or gpus_available (> 0) to derive it from target_load")
        if not (target_load > 0 and math.isfinite(target_load)):
            raise ValueError(f"target_load: must be a positive number, got {target_load!r}")
        jobs_per_day = (
            target_load * gpus_available * DAY / expected_gpu_seconds_per_job(size_mix, max_gpus, stats)
        )
    if not (jobs_per_day >= 0 and math.isfinite(jobs_per_day)):
        raise ValueError(f"jobs_per_day: must be a non-negative number, got {jobs_per_day!r}")
    amplitude = stats.diurnal_amplitude if diurnal_amplitude is None else diurnal_amplitude
    if not diurnal:
        amplitude = 0.0
    if not 0.0 <= amplitude <= 1.0:
        raise ValueError(f"diurnal_amplitude: must be between 0 and 1, got {amplitude!r}")
    weekday = np.array(stats.weekday_arrivals) * 7.0 if weekly else None

    submit = _arrivals(rng, days * DAY, jobs_per_day / DAY, amplitude, peak_hour, weekday)
    n = len(submit)
    gpus = rng.choice(np.array(sizes, dtype=np.int64), size=n, p=np.array(probs))
    u = rng.random(n)
    duration = np.empty(n, dtype=np.float64)
    classes = np.array([duration_class(int(g)) for g in sizes], dtype=np.int64)
    job_class = classes[np.searchsorted(np.array(sizes), gpus)]
    probs_grid = np.array(DURATION_PROBS)
    for cls, quantiles in stats.duration_quantiles.items():
        mask = job_class == cls
        if mask.any():
            duration[mask] = np.exp(np.interp(u[mask], probs_grid, np.log(np.array(quantiles))))
    duration = np.maximum(1.0, np.rint(duration))  # whole seconds, as in Philly
    owner = rng.choice(len(names), size=n, p=weights / weights.sum())
    return [
        Job(f"s{k}", names[t], g, s, d)
        for k, (t, g, s, d) in enumerate(
            zip(owner.tolist(), gpus.tolist(), submit.tolist(), duration.tolist(), strict=True), start=1
        )
    ]


def philly_stats(trace: Trace) -> PhillyStats:
    """Measure the calibration figures of :class:`PhillyStats` from a loaded trace.

    Hours and weekdays are taken from ``trace.origin`` (the wall-clock time of submit 0); a trace without
    one (``generic``) is taken to start at midnight on a Monday, as synthetic workloads do.
    """
    jobs = trace.jobs
    if not jobs:
        raise ValueError(f"{trace.source}: no jobs to measure")
    gpus = np.array([j.gpus for j in jobs], dtype=np.int64)
    duration = np.array([j.duration for j in jobs], dtype=np.float64)
    submit = np.array([j.submit for j in jobs], dtype=np.float64)
    sizes, counts = np.unique(gpus, return_counts=True)
    positive = duration[duration > 0]
    logs = np.log(positive) if len(positive) else np.zeros(1)

    job_class = np.array([duration_class(int(g)) for g in sizes], dtype=np.int64)[
        np.searchsorted(sizes, gpus)
    ]
    quantiles: dict[int, tuple[float, ...]] = {}
    for cls in DURATION_CLASSES:
        values = np.maximum(duration[job_class == cls], 1.0)  # log-interpolated: no zero durations
        if len(values):
            q = np.quantile(values, DURATION_PROBS, method="inverted_cdf")
            quantiles[cls] = tuple(float(x) for x in q)

    if trace.origin is not None:
        origin = trace.origin
        start_of_day = origin.hour * HOUR + origin.minute * 60.0 + origin.second
        start_weekday = origin.weekday()
    else:
        start_of_day, start_weekday = 0.0, 0
    clock = submit + start_of_day
    hours = np.bincount((clock // HOUR).astype(np.int64) % 24, minlength=24)
    weekdays = np.bincount(((clock // DAY).astype(np.int64) + start_weekday) % 7, minlength=7)
    angle = 2.0 * math.pi * (clock % DAY) / DAY
    c, s = float(np.cos(angle).mean()), float(np.sin(angle).mean())
    return PhillyStats(
        jobs=len(jobs),
        tenants=len({j.tenant for j in jobs}),
        gpu_hours=float((gpus * duration).sum() / HOUR),
        span_days=float((submit.max() - submit.min()) / DAY),
        size_counts={int(g): int(n) for g, n in zip(sizes, counts, strict=True)},
        duration_median_s=float(np.median(duration)),
        duration_mu_log=float(logs.mean()),
        duration_sigma_log=float(logs.std()),
        under_minute=int((duration < 60).sum()),
        duration_quantiles=quantiles,
        hourly_arrivals=tuple(float(x) for x in hours / hours.sum()),
        weekday_arrivals=tuple(float(x) for x in weekdays / weekdays.sum()),
        diurnal_amplitude=2.0 * math.hypot(c, s),
        diurnal_peak_hour=(math.atan2(s, c) * 24.0 / (2.0 * math.pi)) % 24.0,
    )
