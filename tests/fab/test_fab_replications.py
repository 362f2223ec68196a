"""Replications of a fab run: seeds, Student-t intervals in closed form, and the CLI in parallel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fab_files import MakeDataset

from aifactory.fab import read_dataset
from aifactory.fab.engine import simulate
from aifactory.fab.replications import combine, half_width, replication_seeds
from cli_invoke import invoke


def test_half_width_is_the_student_t_interval() -> None:
    # sd of 1, 2, 3 is 1; t(0.975, 2) = 4.302653: 4.302653 / √3
    assert half_width([1.0, 2.0, 3.0]) == pytest.approx(4.302653 / 3**0.5, rel=1e-6)
    assert half_width([5.0]) == 0.0
    assert half_width([2.0, 2.0, 2.0]) == 0.0


# docs/fab.md: replication i uses the i-th seed of SeedSequence(seed) — the first three for --seed 5, pinned
SEEDS_OF_5 = [16823399, 2940995229, 2290007392]


def test_seeds_are_reproducible_and_distinct() -> None:
    assert replication_seeds(5, 3) == SEEDS_OF_5
    seeds = replication_seeds(7, 5)
    assert seeds == replication_seeds(7, 5) and len(set(seeds)) == 5
    assert replication_seeds(7, 3) == seeds[:3]  # more replications extend the same set
    assert seeds != replication_seeds(8, 5)


def test_combine_takes_means_and_half_widths() -> None:
    def run(seed: int, ct: float) -> dict[str, object]:
        return {
            "dataset": "D", "days": 10.0, "warmup_days": 1.0, "seed": seed,
            "wall_seconds": 1.0, "events": 100,
            "lots": {"L": {"throughput": 10, "cycle_time_days": ct, "on_time_pct": 100.0}},
            "toolgroups": {"T": {"avail": 90.0, "util": ct * 10, "br": 5.0, "pm": 5.0, "setup": 0.0}},
        }  # fmt: skip

    out = combine([run(1, 1.0), run(2, 2.0), run(3, 3.0)], seed=42)
    assert out["replications"] == 3 and out["seeds"] == [1, 2, 3] and out["seed"] == 42
    assert out["events"] == 300
    assert out["lots"]["L"]["cycle_time_days"] == pytest.approx(2.0)
    assert out["ci95"]["lots"]["L"]["cycle_time_days"] == pytest.approx(4.302653 / 3**0.5, rel=1e-6)
    assert out["ci95"]["lots"]["L"]["throughput"] == 0.0
    assert out["toolgroups"]["T"]["util"] == pytest.approx(20.0)


def test_replications_in_parallel_equal_serial_ones(
    capsys: pytest.CaptureFixture[str], make_dataset: MakeDataset, tmp_path: Path
) -> None:
    folder = make_dataset()
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        code, stdout, stderr = invoke(
            capsys, "fab", "simulate", str(folder), "--days", "20", "--warmup-days", "2",
            "--replications", "3", "--workers", workers, "--seed", "5", "--out", str(out),
        )  # fmt: skip
        assert code == 0, stderr
        assert "95 % confidence interval" in stdout
        outs.append(json.loads((out / "kpis.json").read_text()))
    assert outs[0]["replications"] == 3 and outs[0]["seeds"] == SEEDS_OF_5
    assert outs[0]["lots"] == outs[1]["lots"] and outs[0]["ci95"] == outs[1]["ci95"]
    assert set(outs[0]["ci95"]["lots"]) == set(outs[0]["lots"])
    # the seeds reported are the ones the replications ran with: the same runs made here, one by one
    data = read_dataset(folder)
    alone = [simulate(data, days=20, warmup_days=2, seed=s).lots for s in outs[0]["seeds"]]
    for lot_type, kpis in outs[0]["lots"].items():
        for key in ("throughput", "cycle_time_days"):
            mean = sum(getattr(run[lot_type], key) for run in alone) / 3
            assert kpis[key] == pytest.approx(mean, rel=1e-9), (lot_type, key)
