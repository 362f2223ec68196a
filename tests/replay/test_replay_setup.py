"""One setup for a replay — tenancy, tray failures, options — shared by ``aifactory replay`` and the
factory twin: the factory's own figures unless the caller gives others."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from aifactory.replay.setup import replay_setup
from aifactory.scenario import load_scenario
from cli_invoke import invoke

TAIWAN = load_scenario("nvidia-2025").ai_factories["taiwan-ai-factory"]


def test_the_factorys_programmes_and_reliability_when_nothing_else_is_given() -> None:
    setup = replay_setup(1152, ["research", "industry"], factory=TAIWAN)
    assert setup.tenancy.council is not None
    assert set(setup.tenancy.council.parents()) == {
        "research",
        "startups",
        "industry",
        "anchor",
        "marketplace",
    }
    assert setup.tenancy.programme_entitled_gpus("research") == pytest.approx(0.35 * 1152)  # the YAML's share
    assert setup.failures is not None
    # the YAML says 16,000 h between a tray's failures, 24 h to repair, a checkpoint every 60 minutes
    assert (setup.failures.tray_mtbf_s, setup.failures.repair_s) == (16000 * 3600, 24 * 3600)
    assert setup.options.checkpoint_s == 3600
    assert math.isinf(setup.options.starvation_s) and setup.notes == ()


def test_given_figures_win_over_the_factorys() -> None:
    setup = replay_setup(
        1152, ["research"], factory=TAIWAN, tray_mtbf_hours=500, checkpoint_minutes=15, starvation_hours=2
    )
    assert setup.failures is not None and setup.failures.tray_mtbf_s == 500 * 3600
    assert setup.failures.repair_s == 24 * 3600  # not given: the factory's
    assert (setup.options.checkpoint_s, setup.options.starvation_s) == (900, 7200)


def test_tenants_that_are_not_the_factorys_get_equal_shares_with_a_note() -> None:
    setup = replay_setup(100, ["vc1", "vc2", "research"], factory=TAIWAN)
    assert setup.tenancy.entitled_gpus("vc1") == pytest.approx(100 / 3)
    assert setup.notes == ("2 of the trace's tenants are not projects of the factory (first: vc1); "
                           "they get equal shares",)  # fmt: skip


def test_without_a_factory_nothing_breaks_and_shares_are_equal() -> None:
    setup = replay_setup(90, ["a", "b"], shares={"a": 2, "b": 1})
    assert setup.failures is None and setup.options.checkpoint_s == 3600
    assert setup.tenancy.entitled_gpus("a") == pytest.approx(60)
    assert replay_setup(10).tenancy.entitled_gpus("all") == pytest.approx(10)


def test_cli_replay_on_a_factory_breaks_its_trays_as_the_scenario_says(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A week of 8-GPU jobs on the Taiwan factory (2 racks of 64 schedulable GPUs): with the scenario's
    16,000 h per tray over 36 trays, about 36 × 168 / 16,000 ≈ 0.4 failures a week — so the test asks
    the scenario for 50 h and expects failures (36 × 168 / 50 ≈ 121), and none with failures off."""
    trace = tmp_path / "t.csv"
    rows = [f"j{i},{i * 600},8,{3 * 3600},research" for i in range(1000)]
    trace.write_text("job_id,submit_time,num_gpus,duration,tenant\n" + "\n".join(rows) + "\n")

    def failures(*overrides: str) -> int:
        out = tmp_path / "out" / str(abs(hash(overrides)))
        sets = [arg for o in overrides for arg in ("--set", o)]
        code, _, stderr = invoke(
            capsys, "replay", str(trace), "--scenario", "nvidia-2025", "--factory", "taiwan-ai-factory",
            "--racks", "2", "--quiet", "--out", str(out), *sets,
        )  # fmt: skip
        assert code == 0, stderr
        return int(json.loads((out / "metrics.json").read_text())["tray_failures"])

    assert failures("ai_factories.taiwan-ai-factory.tray_mtbf_hours=50") > 50
    assert failures("ai_factories.taiwan-ai-factory.tray_mtbf_hours=1e12") == 0
