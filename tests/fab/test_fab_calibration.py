"""Calibration of a supply-twin stage from fab runs: per-lot records, fits, the CLI command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from fab_files import MakeDataset
from test_fab_engine import DAY, make, order_row, route_row, tool_row

from aifactory.fab.calibration import CalibrationError, calibrate, weighted_quantile
from aifactory.fab.engine import simulate
from aifactory.fab.kpis import Completions
from aifactory.scenario import load_scenario
from cli_invoke import invoke


def completions(ct_by_type: dict[str, list[float]], wafers: int = 25, **flow: list[int]) -> Completions:
    names = tuple(ct_by_type)
    types = [i for i, n in enumerate(names) for _ in ct_by_type[n]]
    ct = [c for n in names for c in ct_by_type[n]]
    zeros = [0] * len(names)
    return Completions(
        type_names=names,
        lot_type=np.array(types, dtype=np.int32),
        release_days=np.zeros(len(ct)),
        done_days=np.array(ct, dtype=np.float64),
        wafers=np.full(len(ct), wafers, dtype=np.int32),
        released_lots=np.array(flow.get("released_lots", zeros), dtype=np.int64),
        released_wafers=np.array(flow.get("released_wafers", zeros), dtype=np.int64),
        wip_start=np.array(flow.get("wip_start", zeros), dtype=np.int64),
        wip_end=np.array(flow.get("wip_end", zeros), dtype=np.int64),
    )


# ------------------------------------------------------------------------------ the engine's records


def test_engine_records_every_lot_of_a_dd1_queue(tmp_path: Path) -> None:
    # D/D/1: lot k released at 30k min starts at 60k and ends at 60(k + 1): cycle time 60 + 30k.
    ds = make(tmp_path, [tool_row("T")], [route_row("r_A", "1", "T", PTIME="60")], [order_row(every="30")])
    r = simulate(ds, days=1, seed=1)
    c = r.completions
    assert len(c) == r.lots["Lot_A"].throughput == 10
    assert c.cycle_time_days * DAY == pytest.approx([60 + 30 * k for k in range(10)])
    assert c.release_days * DAY == pytest.approx([30 * k for k in range(10)])
    assert c.wafers.tolist() == [25] * 10
    assert float(np.mean(c.cycle_time_days)) == pytest.approx(r.lots["Lot_A"].cycle_time_days)


def test_flow_records_conserve_lots_across_the_warmup(tmp_path: Path) -> None:
    # Releases every 50 min (lot k at 50k, k = 0…79, the last at 3,950), service 70 min: the tool never
    # idles, lot k ends at 70(k + 1). At the warm-up (1,440 min) lots 0–28 are released (28 × 50 =
    # 1,400) and lots 0–19 done (20 × 70 = 1,400): 9 in the fab. At the end (4,320) all 80 are released
    # and lots 0–60 done (61 × 70 = 4,270): 19 in the fab. In the window: 51 released, 41 completed —
    # in minus out is 10, the change of WIP from 9 to 19.
    ds = make(
        tmp_path,
        [tool_row("T")],
        [route_row("r_A", "1", "T", PTIME="70")],
        [order_row(every="50", repeats=80, due="01/10/18 00:00:00")],
    )
    r = simulate(ds, days=3, warmup_days=1, seed=1)
    c = r.completions
    i = c.type_names.index("Lot_A")
    assert int(c.released_lots[i]) == 80 - math.ceil(DAY / 50) == 51
    assert int(c.released_wafers[i]) == 25 * 51
    assert len(c) == r.lots["Lot_A"].throughput == 41
    assert (int(c.wip_start[i]), int(c.wip_end[i])) == (9, 19)
    assert r.wip_end == 19


# ------------------------------------------------------------------------------------------- fits


def test_weighted_quantile_is_the_inverse_step_cdf() -> None:
    values = np.array([3.0, 1.0, 2.0])
    weights = np.array([1.0, 1.0, 2.0])  # CDF: 1 → 0.25, 2 → 0.75, 3 → 1
    assert weighted_quantile(values, weights, 0.2) == 1.0
    assert weighted_quantile(values, weights, 0.5) == 2.0
    assert weighted_quantile(values, weights, 0.9) == 3.0


def test_throughput_and_weighted_cycle_time() -> None:
    c = completions(
        {"A": [10.0] * 30, "B": [20.0] * 10},
        released_wafers=[800, 200],
        wip_start=[5, 5],
        wip_end=[7, 5],
    )
    cal = calibrate([c], dataset="X", measured_days=10, dist="mean")
    assert cal.wafers_per_day == pytest.approx(40 * 25 / 10)
    assert cal.lots_per_day == pytest.approx(4.0)
    assert cal.released_wafers_per_day == pytest.approx(100.0)
    assert cal.wip_growth_lots_per_day == pytest.approx(0.2)
    assert cal.cycle_time.mean == pytest.approx((30 * 10 + 10 * 20) / 40)
    assert cal.distribution == pytest.approx(12.5)
    assert cal.stage() == {"capacity": 100.0, "cycle_time_days": 12.5}
    only_b = calibrate([c], dataset="X", measured_days=10, lot_types=["B"], dist="mean")
    assert only_b.wafers_per_day == pytest.approx(25.0)
    assert only_b.released_wafers_per_day == pytest.approx(20.0)
    assert only_b.wip_growth_lots_per_day == 0.0
    assert only_b.distribution == pytest.approx(20.0)


def test_lognormal_fit_recovers_the_parameters() -> None:
    rng = np.random.default_rng(7)
    ct = rng.lognormal(mean=math.log(40.0), sigma=0.2, size=40_000)
    cal = calibrate([completions({"Lot": ct.tolist()})], dataset="X", measured_days=365)
    assert isinstance(cal.distribution, dict)
    assert cal.distribution["dist"] == "lognormal"
    assert cal.distribution["median"] == pytest.approx(40.0, rel=0.005)
    assert cal.distribution["sigma"] == pytest.approx(0.2, rel=0.02)
    for key, value in cal.fit_quantiles.items():  # the fit's quantiles match the sample's
        assert value == pytest.approx(cal.cycle_time.quantiles[key], rel=0.01)
    load_scenario_value = cal.stage(capacity=False)["cycle_time_days"]
    assert load_scenario_value["note"].startswith("fab calibrate: X, all lot types, 40,000 lots")


def test_triangular_keeps_the_mean_and_normal_is_clipped() -> None:
    rng = np.random.default_rng(3)
    ct = (30 + rng.gamma(8.0, 1.5, size=20_000)).tolist()
    tri = calibrate([completions({"Lot": ct})], dataset="X", measured_days=100, dist="triangular")
    d = tri.distribution
    assert isinstance(d, dict)
    assert d["low"] < d["mode"] < d["high"]
    assert (d["low"] + d["mode"] + d["high"]) / 3 == pytest.approx(tri.cycle_time.mean, abs=0.02)
    norm = calibrate([completions({"Lot": ct})], dataset="X", measured_days=100, dist="normal")
    n = norm.distribution
    assert isinstance(n, dict)
    assert (n["low"], n["high"]) == (round(min(ct), 2), round(max(ct), 2))
    assert n["mean"] == pytest.approx(tri.cycle_time.mean, abs=0.01)


def test_replication_spread_is_the_uncertainty_of_the_mean() -> None:
    runs = [completions({"Lot": [m] * 10}) for m in (40.0, 42.0, 44.0)]
    cal = calibrate(runs, dataset="X", measured_days=30, spread="replications")
    assert cal.distribution == {
        "dist": "normal",
        "mean": 42.0,
        "sd": 2.0,
        "note": "fab calibrate: X, all lot types, mean cycle time over 3 replications",
    }
    assert cal.wafers_per_day == pytest.approx(10 * 25 / 30)  # per day, averaged over replications


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lot_types": ["Nope"]}, "--lot-type 'Nope': no such lot type; valid: Lot"),
        ({"spread": "replications"}, "--spread replications needs --replications 2 or more"),
        ({"dist": "weibull"}, "--dist 'weibull': unknown; valid: lognormal, triangular, normal, mean"),
        ({"measured_days": 0}, "measured days must be > 0"),
    ],
)
def test_bad_calibration_requests(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"dataset": "X", "measured_days": 10} | kwargs
    with pytest.raises(CalibrationError, match=message.replace("(", r"\(")):
        calibrate([completions({"Lot": [1.0, 2.0]})], **args)  # type: ignore[arg-type]


def test_no_completions_is_an_error() -> None:
    with pytest.raises(CalibrationError, match="no lot completed after the warm-up"):
        calibrate([completions({"Lot": []})], dataset="X", measured_days=10)


# --------------------------------------------------------------------------------------------- CLI


SCENARIO = """\
format: aifactory/v1
name: tiny-chain
start: 2026-01-01
horizon_days: 120
sites:
  s: {name: Site, country: US}
items:
  wafer: {}
stages:
  fab: {site: s, produces: wafer, capacity: 10, cycle_time_days: 90, yield: 0.9}
destinations:
  out: {from: fab, share: 1.0}
"""


def test_calibrate_writes_snippet_page_and_scenario(
    capsys: pytest.CaptureFixture[str], make_dataset: MakeDataset, tmp_path: Path
) -> None:
    scenario = tmp_path / "chain.yaml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "cal"
    args = ["fab", "calibrate", str(make_dataset()), "--days", "30", "--warmup-days", "5"]
    code, stdout, stderr = invoke(
        capsys, *args, "--scenario", str(scenario), "--out", str(out), "--dist", "triangular"
    )
    assert code == 0, stderr
    assert "wafers/day" in stdout
    doc = json.loads((out / "calibration.json").read_text())
    snippet = yaml.safe_load((out / "stage.yaml").read_text())
    stage = snippet["stages"]["fab"]
    assert stage["capacity"] == pytest.approx(doc["wafers_per_day"], abs=0.05)
    assert stage["cycle_time_days"]["dist"] == "triangular"
    assert stage["cycle_time_days"] == doc["cycle_time_distribution"]
    assert "plotly" in (out / "calibration.html").read_text()
    merged = load_scenario(str(out / "scenario.yaml"))
    fab = merged.stages["fab"]
    assert fab.capacity == 10  # a scenario keeps its capacity unless --capacity
    assert fab.cycle_time_days.model_dump(exclude_none=True) == stage["cycle_time_days"]  # type: ignore[union-attr]
    code, _, stderr = invoke(
        capsys, *args, "--scenario", str(scenario), "--capacity", "--out", str(out), "--quiet"
    )
    assert code == 0, stderr
    assert load_scenario(str(out / "scenario.yaml")).stages["fab"].capacity == pytest.approx(
        doc["wafers_per_day"], abs=0.05
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--stage", "nope", "--scenario", "serial-line"], "--stage 'nope': serial-line has no such stage"),
        (["--dist", "weibull"], "--dist 'weibull': unknown"),
        (["--spread", "replications"], "--spread replications needs --replications 2 or more"),
        (["--lot-type", "Nope"], "--lot-type 'Nope': no such lot type"),
    ],
)
def test_calibrate_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str],
    make_dataset: MakeDataset,
    tmp_path: Path,
    extra: list[str],
    message: str,
) -> None:
    args = ["fab", "calibrate", str(make_dataset()), "--days", "10", "--warmup-days", "1"]
    code, _, stderr = invoke(capsys, *args, *extra, "--out", str(tmp_path / "o"), "--quiet")
    assert code == 2
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "stage.yaml").exists()


def test_calibrate_over_replications(
    capsys: pytest.CaptureFixture[str], make_dataset: MakeDataset, tmp_path: Path
) -> None:
    out = tmp_path / "cal"
    args = ["fab", "calibrate", str(make_dataset()), "--days", "20", "--warmup-days", "2"]
    args += ["-r", "3", "-w", "2"]
    code, _, stderr = invoke(capsys, *args, "--spread", "replications", "--out", str(out), "--quiet")
    assert code == 0, stderr
    doc = json.loads((out / "calibration.json").read_text())
    assert doc["replications"] == 3 and len(doc["replication_means"]) == 3
    dist = doc["cycle_time_distribution"]
    assert dist["dist"] == "normal"
    assert dist["mean"] == pytest.approx(sum(doc["replication_means"]) / 3, abs=0.01)
