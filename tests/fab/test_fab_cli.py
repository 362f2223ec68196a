"""``aifactory fab simulate`` and ``aifactory fab validate`` (docs/fab.md): outputs, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fab_files import MakeDataset

from aifactory.fab.dataset import LotTypeReference, Reference, ToolGroupReference
from aifactory.fab.validation import compare
from cli_invoke import invoke

LOT_KEYS = {"throughput", "cycle_time_days", "on_time_pct"}
TOOL_KEYS = {"avail", "util", "br", "pm", "setup"}


def test_simulate_writes_the_contract_kpis(
    capsys: pytest.CaptureFixture[str], make_dataset: MakeDataset, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["fab", "simulate", str(make_dataset()), "--days", "20", "--warmup-days", "2", "--seed", "4"]
    code, stdout, stderr = invoke(capsys, *args, "--out", str(out))
    assert code == 0, stderr
    kpis = json.loads((out / "kpis.json").read_text())
    assert kpis.keys() >= {
        "dataset",
        "days",
        "warmup_days",
        "seed",
        "wall_seconds",
        "events",
        "lots",
        "toolgroups",
    }
    assert (kpis["dataset"], kpis["days"], kpis["warmup_days"], kpis["seed"]) == ("TINY", 20, 2, 4)
    assert kpis["events"] > 0
    assert all(row.keys() == LOT_KEYS for row in kpis["lots"].values())
    assert all(row.keys() == TOOL_KEYS for row in kpis["toolgroups"].values())
    assert "events/s" in stdout
    code, _, _ = invoke(capsys, *args, "--out", str(tmp_path / "again"), "--quiet")
    again = json.loads((tmp_path / "again" / "kpis.json").read_text())
    assert again["lots"] == kpis["lots"]  # the same seed, the same run


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "0"], "--days 0: must be a number > 0"),
        (["--days", "5", "--warmup-days", "5"], "--warmup-days 5: must be >= 0 and less than --days 5"),
        (["--days", "5", "--warmup-days", "0", "--rule", "nonsense"], "nonsense"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
    make_dataset: MakeDataset,
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    code, _, stderr = invoke(
        capsys, "fab", "simulate", str(make_dataset()), *args, "--out", str(tmp_path / "o")
    )
    assert code == 2 and message in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_a_malformed_file_names_file_and_line(
    capsys: pytest.CaptureFixture[str], make_dataset: MakeDataset, tmp_path: Path
) -> None:
    folder = make_dataset()
    route = folder / "route_A.txt"
    lines = route.read_text().splitlines()
    lines[2] = lines[2].replace("\t", "\tabc\t", 1) if "\t" in lines[2] else lines[2]
    route.write_text("\n".join(lines) + "\n")
    code, _, stderr = invoke(
        capsys, "fab", "simulate", str(folder), "--days", "5", "--out", str(tmp_path / "o")
    )
    assert code == 2 and "route_A.txt line" in stderr
    code, _, stderr = invoke(capsys, "fab", "simulate", str(tmp_path / "none"), "--days", "5")
    assert code == 2 and "not a folder" in stderr


def test_compare_scales_throughput_to_a_rate_and_ranks_bottlenecks() -> None:
    reference = Reference(
        lots={"Lot_A": LotTypeReference("Lot_A", throughput=690.0, cycle_time_days=40.0, on_time_pct=90.0)},
        toolgroups={
            "LITHO": ToolGroupReference("LITHO", avail=90, util=95, br=5, pm=5, setup=0),
            "ETCH": ToolGroupReference("ETCH", avail=95, util=60, br=2, pm=3, setup=0),
        },
    )
    kpis = {
        "days": 110.0,
        "warmup_days": 10.0,
        "lots": {"Lot_A": {"throughput": 102, "cycle_time_days": 43.0, "on_time_pct": 88.0}},
        "toolgroups": {
            "LITHO": {"avail": 90.0, "util": 91.0, "br": 5.0, "pm": 5.0, "setup": 0.0},
            "ETCH": {"avail": 95.0, "util": 50.0, "br": 2.0, "pm": 3.0, "setup": 0.0},
        },
    }
    check = compare(kpis, reference, bottlenecks=1)
    (lot,) = check.lots
    # the reference counts lots released and completed in 730 days: 690 / (730 − 40) = 1 a day
    assert lot.lots_per_day == pytest.approx(1.02) and lot.reference_lots_per_day == pytest.approx(1.0)
    assert lot.throughput_delta == pytest.approx(0.02) and lot.cycle_time_delta == pytest.approx(0.075)
    assert lot.within  # 7.5 % ≤ 10 %, 2 % ≤ 3 %
    assert [t.name for t in check.toolgroups if t.bottleneck] == ["LITHO"]
    assert check.bottlenecks_within  # LITHO −4 points; ETCH's −10 points is not a bottleneck
    assert check.to_json()["toolgroups"]["ETCH"]["within_tolerance"] is False


def test_validate_on_hvlm_prints_and_writes_the_deltas(
    capsys: pytest.CaptureFixture[str], hvlm_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "v"
    code, stdout, stderr = invoke(
        capsys, "fab", "validate", str(hvlm_dir), "--days", "4", "--warmup-days", "1", "--out", str(out)
    )
    assert code == 0, stderr
    validation = json.loads((out / "validation.json").read_text())
    assert set(validation["lots"]) == {"Lot_3", "Lot_4", "HotLot_3", "HotLot_4"}
    assert sum(t["bottleneck"] for t in validation["toolgroups"].values()) == 10
    assert "Litho_BE_110" in stdout and "tolerance" in stdout
