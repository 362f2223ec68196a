"""Single-station queues against closed forms: M/M/c waits (Erlang C) and utilisation λ·E[S]/c.

Tolerances. A mean wait of an M/M/c queue is strongly autocorrelated, so its variance is taken from the
replications themselves: the test asserts the closed form lies in a 99.9 % Student-t interval around the
mean of R independent replications (a correct engine fails this one time in a thousand, and the seeds
are fixed, so the outcome is deterministic), and that the interval is narrow enough for the test to mean
something (a 99.9 % half-width within 15 % of the closed form). Utilisation is the work that arrived in
the window over c·T: with Poisson arrivals the work is compound Poisson, Var = λ·T·E[S²], so its
standard deviation is sqrt(λ·T·E[S²]) / (c·T); the test allows four of those (plus one job per server of
edge effect).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from plant_builders import (
    exponential,
    job_table,
    make_plant,
    mean,
    simulate_checked,
    simulate_cli,
    station,
)
from scipy import stats

from aifactory.plant.loading import load_plant


def erlang_c(c: int, lam: float, es: float) -> tuple[float, float]:
    """(probability of waiting, mean wait in queue) of an M/M/c queue."""
    a = lam * es
    rho = a / c
    assert rho < 1
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait, p_wait / (c / es - lam)


def t_interval(values: list[float], confidence: float = 0.999) -> tuple[float, float]:
    n = len(values)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * float(np.std(values, ddof=1)) / math.sqrt(n)
    return float(np.mean(values)), half


def test_erlang_c_reference_values() -> None:
    # M/M/1: P(wait) = rho, Wq = rho / (mu - lambda); c = 3, a = 2: C = 4/9, Wq = C / (3/2 - 1)
    assert erlang_c(1, 0.5, 1.0) == pytest.approx((0.5, 1.0))
    assert erlang_c(3, 1.0, 2.0) == pytest.approx((4 / 9, 8 / 9))


@pytest.mark.parametrize(("c", "lam", "es"), [(3, 1.0, 2.0), (1, 0.5, 1.0)])
def test_mmc_wait_matches_erlang_c(c: int, lam: float, es: float) -> None:
    p_wait, wq = erlang_c(c, lam, es)
    plant = make_plant(
        {"test": station(exponential(es), servers=c)},
        release={"item": "rack", "interarrival_hours": exponential(1 / lam)},
    )
    days, warmup = 1500.0, 20.0
    waits, waited, queues, leads = [], [], [], []
    for seed in range(8):
        run, m = simulate_checked(plant, days=days, seed=seed, warmup_days=warmup)
        s = m["stations"]["test"]
        waits.append(s["wait_hours"])
        queues.append(s["queue"])
        leads.append(m["lead_time_hours"])
        v = run.records.visits
        jobs = job_table(run)
        start = dict(zip(jobs["job"], jobs["start"], strict=True))
        started = [(start[int(j)] - arr) for j, arr in zip(v[:, 2], v[:, 3], strict=True) if j >= 0]
        waited.append(float(np.mean(np.array(started) > 1e-12)))
    for values, expected in ((waits, wq), (queues, lam * wq), (leads, wq + es), (waited, p_wait)):
        centre, half = t_interval(values)
        assert abs(centre - expected) <= half, (centre, half, expected)
        assert half <= 0.15 * expected, f"interval ±{half:.3g} too wide to test {expected:.3g}"


@pytest.mark.parametrize(
    ("c", "lam", "service", "es", "es2"),
    [
        (1, 0.5, exponential(1.2), 1.2, 2 * 1.2**2),
        (4, 2.0, {"dist": "uniform", "low": 0.5, "high": 2.5}, 1.5, (2.5**3 - 0.5**3) / 6),
        (2, 1.0, {"dist": "erlang", "mean": 1.6, "k": 4}, 1.6, 1.6**2 * (1 + 1 / 4)),
        (3, 0.75, 2.0, 2.0, 4.0),
    ],
    ids=["M/M/1", "M/U/4", "M/E4/2", "M/D/3"],
)
def test_utilisation_is_lambda_es_over_c(c: int, lam: float, service: Any, es: float, es2: float) -> None:
    plant = make_plant(
        {"s": station(service, servers=c)},
        release={"item": "rack", "interarrival_hours": exponential(1 / lam)},
    )
    days, warmup = 600.0, 10.0
    _, m = simulate_checked(plant, days=days, seed=11, warmup_days=warmup)
    hours = (days - warmup) * 24
    sd = math.sqrt(lam * hours * es2) / (c * hours)
    edge = es / hours  # a job per server cut by each end of the window
    util = m["stations"]["s"]["utilization"]
    assert util == pytest.approx(lam * es / c, abs=4 * sd + edge)
    assert m["stations"]["s"]["availability"] == 1.0
    # every unit that arrives is served: throughput is the arrival rate (Poisson count, 4 sd)
    assert m["throughput_per_day"] == pytest.approx(24 * lam, abs=4 * 24 * math.sqrt(lam * hours) / hours)


CONTRACT_MM3 = """\
format: aifactory/plant-v1
name: mm3
release: {item: rack, interarrival_hours: {dist: exponential, mean: 1.0}}   # or a number: deterministic
stations:                   # a unit visits them in the order written, unless `route:` says otherwise
  test:
    servers: 3              # identical parallel servers
    time_hours: {dist: exponential, mean: 2.5}   # processing time per unit: a number or a distribution
    yield: 1.0              # optional: the share that passes; a failed unit goes to `rework` (a station,
    rework: null            #   after which it comes back here) or, without one, is scrapped
    mtbf_hours: null        # optional: each server fails after exponential(mtbf) hours of calendar time
    mttr_hours: null        #   and is repaired after exponential(mttr); the unit on it resumes afterwards
    buffer: null            # optional queue capacity in front; a full queue blocks the upstream server
    batch: 1                # optional: up to this many units processed together (burn-in bays, L11 tests)
    operator: null          # optional: a pool of `operators`; one free operator is held while processing
operators:
  tech: {count: 4, shifts: [{start: "06:00", end: "14:00"}]}   # daily shifts; none given = always there
robots:                     # optional fleets (AMRs) that move units between stations over `layout`
  amr: {count: 6, speed_m_s: 1.0, load_minutes: 2}
"""


@pytest.fixture
def mm3_file(tmp_path: Path) -> Path:
    path = tmp_path / "mm3.yaml"
    path.write_text(CONTRACT_MM3, encoding="utf-8")
    return path


def test_contract_mm3_loads_as_written(mm3_file: Path) -> None:
    plant = load_plant(str(mm3_file))
    assert plant.name == "mm3"
    assert plant.stations["test"].servers == 3
    assert plant.operators["tech"].count == 4
    assert plant.robots["amr"].count == 6


def test_contract_mm3_through_the_cli_matches_erlang_c(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mm3_file: Path
) -> None:
    days, warmup, reps = 2000.0, 30.0, 8
    kpis = simulate_cli(
        capsys,
        tmp_path,
        mm3_file,
        days=days,
        warmup_days=warmup,
        replications=reps,
        seed=7,
        little_tolerance=0.01,
    )
    assert_contract_shape(kpis)
    assert kpis["plant"] == "mm3"
    p_wait, wq = erlang_c(3, 1.0, 2.5)
    hours = (days - warmup) * 24
    s = kpis["stations"]["test"]
    # utilisation 2.5 / 3, compound Poisson sd over R replications (see the module docstring)
    sd = math.sqrt(hours * 2 * 2.5**2) / (3 * hours) / math.sqrt(reps)
    assert s["utilization"]["mean"] == pytest.approx(2.5 / 3, abs=4 * sd)
    # the wait: kpis' ci95 is a 95 % Student-t half-width over the replications; widen it to 99.9 %
    widen = stats.t.ppf(0.9995, reps - 1) / stats.t.ppf(0.975, reps - 1)
    assert abs(s["wait_hours"]["mean"] - wq) <= widen * s["wait_hours"]["ci95"], (s["wait_hours"], wq)
    assert s["wait_hours"]["ci95"] <= 0.15 * wq
    assert mean(kpis, "lead_time_hours") == pytest.approx(
        wq + 2.5, abs=widen * kpis["lead_time_hours"]["ci95"]
    )
    assert s["availability"] == {"mean": 1.0, "ci95": 0.0}
    assert kpis["scrapped"] == {"mean": 0.0, "ci95": 0.0}
    assert mean(kpis, "throughput_per_day") == pytest.approx(24.0, abs=4 * 24 / math.sqrt(hours * reps))
    # nobody uses the pool or the fleet: they are reported, idle
    assert kpis["operators"]["tech"]["utilization"]["mean"] == 0.0
    assert kpis["robots"]["amr"]["utilization"]["mean"] == 0.0
    assert p_wait == pytest.approx(0.7022, abs=1e-4)


def assert_contract_shape(kpis: dict[str, Any]) -> None:
    """The keys docs/plant.md promises in kpis.json."""
    for key in ("plant", "days", "warmup_days", "replications", "seed", "wall_seconds", "events"):
        assert key in kpis
    for key in ("throughput_per_day", "lead_time_hours", "lead_time_p90_hours", "wip", "scrapped"):
        assert set(kpis[key]) == {"mean", "ci95"}, key
    for s in kpis["stations"].values():
        for key in ("utilization", "wait_hours", "availability"):
            assert set(s[key]) == {"mean", "ci95"}
    for group in ("operators", "robots"):
        for c in kpis[group].values():
            assert set(c["utilization"]) == {"mean", "ci95"}
