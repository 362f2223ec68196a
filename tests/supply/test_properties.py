"""Properties of random small supply networks, on both engines (hypothesis).

Networks are layered: 1–3 source stages make ``it0``; each further layer makes ``it<k>`` from ``it<k-1>``
brought on lanes from the layer above; the last layer feeds one or two destinations (an optional second
destination may instead take the overflow of an earlier layer). Figures, share modes, demands, initial
inventory and disruptions are drawn at random. On every network:

(a) items are conserved — per stage (started × yield × output per unit = completed + in process), per
    producer (completed = shipped + allotted + stock), per destination (allotted = delivered + in
    transit) and per input buffer (arrived + initial = consumed + on hand);
(b) no total is negative;
(c) a destination with a demand never gets more than it;
(d) the numpy and compiled engines agree.

Set ``AIFACTORY_PROPERTY_EXAMPLES`` to run more examples than the default 25.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import numpy as np
import pytest
from builders import ENGINES, build
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aifactory.scenario.model import Scenario
from aifactory.supply.engine import RunResult
from aifactory.supply.parameters import Parameters, draw_block

START = dt.date(2026, 1, 1)
RUNS = 3
EXAMPLES = int(os.environ.get("AIFACTORY_PROPERTY_EXAMPLES", "25"))

PROPERTY_SETTINGS = settings(
    deadline=None,
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_subnormal=False)


def amounts(high: float) -> st.SearchStrategy[float]:
    """0 or a sensible positive amount (tiny shares are covered by
    test_routing.py::test_a_tiny_share_still_sends_exactly_the_stock)."""
    return st.one_of(st.just(0.0), floats(0.01, high))


def _date(day: int) -> str:
    return (START + dt.timedelta(days=day)).isoformat()


def _maybe_uniform(draw: st.DrawFn, low: float, high: float, *, integer: bool = False) -> Any:
    """A fixed figure or a uniform distribution within [low, high]."""
    if integer:
        a, b = sorted((draw(st.integers(int(low), int(high))), draw(st.integers(int(low), int(high)))))
    else:
        a, b = sorted((draw(floats(low, high)), draw(floats(low, high))))
    if draw(st.booleans()):
        return a
    return {"dist": "uniform", "low": a, "high": b}


def _capacity(draw: st.DrawFn, horizon: int) -> Any:
    if draw(st.booleans()):
        return draw(amounts(50))
    d1, d2 = sorted(draw(st.lists(st.integers(0, horizon), min_size=2, max_size=2)))
    return [
        {"date": _date(d1), "per_day": draw(amounts(50))},
        {"date": _date(d2), "per_day": draw(amounts(50))},
    ]


def _stage(draw: st.DrawFn, horizon: int, item: str, consumes: dict[str, float] | None) -> dict[str, Any]:
    stage: dict[str, Any] = {
        "site": "s1",
        "produces": item,
        "capacity": _capacity(draw, horizon),
        "cycle_time_days": _maybe_uniform(draw, 0, 20, integer=True),
        "yield": _maybe_uniform(draw, 0.5, 1.0),
    }
    if draw(st.booleans()):
        stage["output_per_unit"] = _maybe_uniform(draw, 1.0, 3.0)
    if draw(st.integers(0, 3)) == 0:
        stage["capacity_scale"] = _maybe_uniform(draw, 0.0, 1.5)
    if consumes:
        stage["consumes"] = consumes
        if draw(st.booleans()):
            stage["initial_inventory"] = {it: draw(amounts(500)) for it in consumes}
    if draw(st.integers(0, 3)) == 0:
        start = draw(st.integers(0, horizon - 1))
        disruption: dict[str, Any] = {
            "start": _date(start),
            "days": _maybe_uniform(draw, 1, 30, integer=True),
            "probability": draw(st.sampled_from([1.0, 0.5])),
            "capacity_factor": draw(st.sampled_from([0.0, 0.5])),
        }
        if draw(st.booleans()):
            disruption["start_latest"] = _date(start + draw(st.integers(0, 20)))
        stage["disruptions"] = [disruption]
    return stage


def _share(draw: st.DrawFn, horizon: int) -> dict[str, Any]:
    mode = draw(st.sampled_from(["default", "number", "capacity", "pull", "schedule"]))
    if mode == "default":
        return {}
    if mode == "number":
        return {"share": draw(floats(0.1, 3.0))}
    if mode == "pull":
        return {"share": "pull", "cover_days": draw(floats(0.5, 10.0))}
    if mode == "schedule":
        d1, d2 = sorted(draw(st.lists(st.integers(0, horizon), min_size=2, max_size=2)))
        return {
            "share": [
                {"date": _date(d1), "value": draw(amounts(2.0))},
                {"date": _date(d2), "value": draw(amounts(2.0))},
            ]
        }
    return {"share": "capacity"}


def _destination(draw: st.DrawFn, sources: list[str]) -> dict[str, Any]:
    dest: dict[str, Any] = {"from": sources, "transit_days": _maybe_uniform(draw, 0, 10, integer=True)}
    if draw(st.booleans()):
        dest["demand"] = draw(floats(5.0, 3000.0))
    if draw(st.integers(0, 3)) == 0:
        dest["share"] = draw(floats(0.1, 3.0))
    return dest


@st.composite
def networks(draw: st.DrawFn) -> dict[str, Any]:
    horizon = draw(st.integers(60, 200))
    n_further = draw(st.integers(1, 4))
    # layer sizes: the sources, then the further stages cut into 1–n_further consecutive layers
    sizes = [draw(st.integers(1, 3))]
    for _ in range(n_further):
        if len(sizes) == 1 or draw(st.booleans()):
            sizes.append(1)
        else:
            sizes[-1] += 1
    layers: list[list[str]] = []
    stages: dict[str, dict[str, Any]] = {}
    lanes: list[dict[str, Any]] = []
    for k, size in enumerate(sizes):
        layer = [f"l{k}s{i}" for i in range(size)]
        for i, sid in enumerate(layer):
            consumes = {f"it{k - 1}": draw(st.sampled_from([1, 2, 3, 4, 5, 1.5]))} if k else None
            stages[sid] = _stage(draw, horizon, f"it{k}", consumes)
            if k:
                above = layers[-1]
                chosen = draw(st.lists(st.sampled_from(above), min_size=1, max_size=len(above), unique=True))
                if i == size - 1:  # every stage above must feed at least one stage of this layer
                    fed = {ln["from"] for ln in lanes if ln["to"] in layer}
                    chosen += [a for a in above if a not in fed and a not in chosen]
                for src in chosen:
                    lanes.append(
                        {
                            "from": src,
                            "to": sid,
                            "transit_days": _maybe_uniform(draw, 0, 10, integer=True),
                            **_share(draw, horizon),
                        }
                    )
        layers.append(layer)
    last = layers[-1]
    first_dest = draw(st.lists(st.sampled_from(last), min_size=1, max_size=len(last), unique=True))
    destinations = {"d0": _destination(draw, first_dest)}
    rest = [sid for sid in last if sid not in first_dest]
    if rest:
        destinations["d1"] = _destination(draw, rest)
    elif draw(st.booleans()):  # an overflow destination for some layer
        layer = draw(st.sampled_from(layers))
        sources = draw(st.lists(st.sampled_from(layer), min_size=1, max_size=len(layer), unique=True))
        destinations["d1"] = _destination(draw, sources)
    return {
        "format": "aifactory/v1",
        "name": "random",
        "start": START.isoformat(),
        "horizon_days": horizon,
        "sites": {"s1": {"name": "Site"}},
        "items": {f"it{k}": {"value_usd": 1.0 + k} for k in range(len(layers))},
        "stages": stages,
        "lanes": lanes,
        "destinations": destinations,
    }


def _simulate(s: Scenario, seed: int, engine: str) -> tuple[Parameters, RunResult]:
    params = draw_block(s, np.random.default_rng(seed), RUNS)
    checkpoints = (s.horizon_days // 3, s.horizon_days // 2)
    return params, ENGINES[engine](s, params, bucket_days=7, checkpoint_days=checkpoints)


def _scale(*arrays: Any) -> float:
    return max([1.0] + [float(np.max(np.abs(a))) for a in arrays])


def _close(lhs: Any, rhs: Any, what: str) -> None:
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-9 * _scale(lhs, rhs), err_msg=what)


def check_invariants(s: Scenario, params: Parameters, r: RunResult) -> None:
    t = r.totals
    # (b) nothing is negative
    for key, value in t.items():
        assert np.all(value >= -1e-9 * _scale(value)), f"{key} < 0: {value}"
    # (a) stages: good units started = completed + in process
    for sid in s.stages:
        p = f"stages.{sid}"
        good = t[f"{p}.started"] * params[f"{p}.yield"] * params[f"{p}.output_per_unit"]
        _close(good, t[f"{p}.completed"] + t[f"{p}.in_process"], f"{sid}: started × gross")
    # (a) producers: completed = shipped on its lanes + allotted to its destinations + stock
    shipped_from = {sid: np.zeros(r.runs) for sid in s.stages}
    for i, lane in enumerate(s.lanes):
        shipped_from[lane.from_] += t[f"lanes.{i}.shipped"]
    single = {did: d.sources[0] for did, d in s.destinations.items() if len(d.sources) == 1}
    left_for_destinations = np.zeros(r.runs)
    for sid in s.stages:
        sent = shipped_from[sid] + t[f"stages.{sid}.stock"]
        left_for_destinations += t[f"stages.{sid}.completed"] - sent
        feeds = [did for did, d in s.destinations.items() if sid in d.sources]
        if all(did in single for did in feeds):
            allotted = sum((t[f"destinations.{did}.allotted"] for did in feeds), np.zeros(r.runs))
            _close(t[f"stages.{sid}.completed"], sent + allotted, f"{sid}: completed")
    all_allotted = sum((t[f"destinations.{did}.allotted"] for did in s.destinations), np.zeros(r.runs))
    _close(left_for_destinations, all_allotted, "all destinations: allotted")
    for did, dest in s.destinations.items():
        p = f"destinations.{did}"
        _close(t[f"{p}.allotted"], t[f"{p}.delivered"] + t[f"{p}.in_transit"], f"{did}: allotted")
        # (c) a capped destination never gets more than its demand
        if dest.demand is not None:
            assert np.all(t[f"{p}.allotted"] <= dest.demand + 1e-6), f"{did}: over its demand"
    # (a) input buffers: arrived + initial = consumed + on hand
    for sid, stage in s.stages.items():
        for item, qty in stage.consumes.items():
            arrived = sum(
                (
                    t[f"lanes.{i}.shipped"] - t[f"lanes.{i}.in_transit"]
                    for i, lane in enumerate(s.lanes)
                    if lane.to == sid
                ),
                np.zeros(r.runs),
            )
            initial = stage.initial_inventory.get(item, 0.0)
            _close(
                arrived + initial,
                t[f"stages.{sid}.started"] * qty + t[f"stages.{sid}.buffer.{item}"],
                f"{sid}: buffer of {item}",
            )


@pytest.mark.parametrize("key", ["stages.c.bound_days", "stages.src.bottleneck_days"])
def test_engines_agree_on_binding_days_of_a_stage_not_yet_open_with_inputs_on_hand(key: str) -> None:
    data = {
        "format": "aifactory/v1",
        "name": "closed-with-inventory",
        "start": START.isoformat(),
        "horizon_days": 30,
        "items": {"a": {}, "b": {}},
        "stages": {
            "src": {"site": "s1", "produces": "a", "capacity": 10},
            "c": {
                "site": "s1",
                "produces": "b",
                "consumes": {"a": 1},
                "initial_inventory": {"a": 5},
                "capacity": [{"date": "2026-01-10", "per_day": 0}, {"date": "2026-01-11", "per_day": 10}],
            },
        },
        "lanes": [{"from": "src", "to": "c"}],
        "destinations": {"dc": {"from": "c"}},
    }
    s = build(data)
    _, a = _simulate(s, 0, "numpy")
    _, b = _simulate(s, 0, "compiled")
    np.testing.assert_array_equal(b.totals[key], a.totals[key])


@PROPERTY_SETTINGS
@given(data=networks(), seed=st.integers(0, 2**32 - 1))
def test_random_networks_conserve_items_on_the_numpy_engine(data: dict[str, Any], seed: int) -> None:
    s = build(data)
    params, r = _simulate(s, seed, "numpy")
    check_invariants(s, params, r)


@PROPERTY_SETTINGS
@given(data=networks(), seed=st.integers(0, 2**32 - 1))
def test_random_networks_conserve_items_and_the_engines_agree(data: dict[str, Any], seed: int) -> None:
    s = build(data)
    params, a = _simulate(s, seed, "numpy")
    _, b = _simulate(s, seed, "compiled")
    check_invariants(s, params, b)
    assert a.totals.keys() == b.totals.keys()
    for key in a.totals:
        np.testing.assert_allclose(b.totals[key], a.totals[key], rtol=1e-9, atol=1e-6, err_msg=key)
    assert a.sums.keys() == b.sums.keys()
    for key in a.sums:
        np.testing.assert_array_equal(b.sums[key], a.sums[key], err_msg=key)
    assert a.series.keys() == b.series.keys()
    for key in a.series:
        np.testing.assert_allclose(b.series[key], a.series[key], rtol=1e-5, atol=1e-3, err_msg=key)
    assert a.checkpoints.keys() == b.checkpoints.keys()
    for key in a.checkpoints:
        np.testing.assert_allclose(b.checkpoints[key], a.checkpoints[key], rtol=1e-9, atol=1e-6, err_msg=key)
