"""AI factories from a scenario: topology, power budget, programmes."""

from __future__ import annotations

from pathlib import Path

import pytest

from aifactory.cluster.factory import plan_factory
from aifactory.scenario import ScenarioError, load_scenario
from cli_invoke import invoke


def test_the_taiwan_ai_factory_of_the_reference_scenario() -> None:
    plan = plan_factory(load_scenario("nvidia-2025"), "taiwan-ai-factory")
    assert plan.topology.racks == 144  # what its destination wants
    assert plan.topology.rack_gpus == 64  # 16 of 18 trays schedulable
    assert plan.topology.gpus == 9216
    assert plan.topology.blocks == 18
    assert plan.facility_mw == pytest.approx(144 * 135 * 1.25 / 1000)  # 24.3 MW, within 27 MW
    assert plan.power_limited_racks == 160
    assert sum(plan.entitlements.values()) == pytest.approx(1.0)
    assert plan.entitlements["research"] == pytest.approx(0.35)


def test_the_power_budget_limits_the_racks() -> None:
    s = load_scenario("nvidia-2025", ["ai_factories.taiwan-ai-factory.power_budget_mw=10"])
    plan = plan_factory(s, "taiwan-ai-factory")
    assert plan.power_limited_racks == 59  # 10 MW / (135 kW × 1.25)
    assert plan.topology.racks == 59


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("ai_factories.taiwan-ai-factory.racks_from=nowhere", "racks_from: unknown destination 'nowhere'"),
        ("ai_factories.taiwan-ai-factory.rack_type=gb400", "unknown rack type 'gb400'"),
        ("ai_factories.taiwan-ai-factory.schedulable_trays=20", "has 18 trays"),
        ("ai_factories.taiwan-ai-factory.racks=10", "exactly one of racks and racks_from"),
    ],
)
def test_bad_factories_name_the_field(override: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        load_scenario("nvidia-2025", [override])


def test_unknown_factory() -> None:
    with pytest.raises(ValueError, match="no AI factory 'nope'"):
        plan_factory(load_scenario("nvidia-2025"), "nope")


def test_replay_on_a_scenario_factory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text(
        "job_id,submit_time,num_gpus,duration,tenant\nj1,0,64,10,research\nj2,0,200,10,startups\nj3,5,1,10,industry\n"
    )
    out = tmp_path / "o"
    code, _, stderr = invoke(
        capsys, "replay", str(trace), "--scenario", "nvidia-2025", "--factory", "taiwan-ai-factory",
        "--out", str(out), "--racks", "4", "--quiet",
    )  # fmt: skip
    assert code == 0, stderr
    import json

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["gpus"] == 256 and metrics["completed"] == 3
    assert metrics["tenants"]["research"]["entitlement"] == pytest.approx(0.35)  # programmes' shares
    code, _, stderr = invoke(
        capsys, "replay", str(trace), "--factory", "taiwan-ai-factory", "--out", str(out)
    )
    assert code == 2 and "--scenario and --factory go together" in stderr


PROJECTS = "ai_factories.taiwan-ai-factory.programs.research.projects"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (f"{PROJECTS}={{nlp: {{share: 1, quota_gpus: 64}}}}", "give share or quota_gpus, not both"),
        (f"{PROJECTS}={{anchor: {{share: 1}}}}", "projects.anchor: the name is already a programme"),
        (f"{PROJECTS}={{nlp: {{quota_gpus: -1}}}}", "quota_gpus"),
        (f"{PROJECTS}={{nlp: {{borrow: 1}}}}", "borrow"),
        ("ai_factories.taiwan-ai-factory.programs.research.lending_limit_gpus=-5", "lending_limit_gpus"),
        ("ai_factories.taiwan-ai-factory.budget_period_days=0", "budget_period_days"),
    ],
)
def test_bad_projects_and_limits_name_the_field(override: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        load_scenario("nvidia-2025", [override])


def test_replay_on_a_factory_with_projects(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # research's 40 % is split: vision has a fixed 64 GPUs, nlp and bio share the rest 3:1
    trace = tmp_path / "t.csv"
    trace.write_text(
        "job_id,submit_time,num_gpus,duration,tenant\nj1,0,64,10,nlp\nj2,0,8,10,vision\nj3,5,1,10,industry\n"
    )
    out = tmp_path / "o"
    code, _, stderr = invoke(
        capsys, "replay", str(trace), "--scenario", "nvidia-2025", "--factory", "taiwan-ai-factory",
        "--set", f"{PROJECTS}={{nlp: {{share: 3}}, bio: {{share: 1}}, vision: {{quota_gpus: 64}}}}",
        "--out", str(out), "--racks", "10", "--quiet",
    )  # fmt: skip
    assert code == 0, stderr
    import json

    tenants = json.loads((out / "metrics.json").read_text())["tenants"]
    # 640 GPUs: research 224 → vision 64, nlp 120, bio 40
    assert tenants["vision"]["entitlement"] == pytest.approx(64 / 640)
    assert tenants["nlp"]["entitlement"] == pytest.approx(120 / 640)
    assert tenants["bio"]["entitlement"] == pytest.approx(40 / 640)
    assert tenants["industry"]["entitlement"] == pytest.approx(0.20)
    assert "research" not in tenants  # a programme with projects is not a tenant
    programmes = json.loads((out / "metrics.json").read_text())["programmes"]
    assert programmes["research"]["projects"] == ["bio", "nlp", "vision"]
    assert programmes["research"]["entitlement"] == pytest.approx(0.35)
    assert programmes["research"]["jobs"] == 2
