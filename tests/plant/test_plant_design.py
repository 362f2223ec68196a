"""Plant design: the search finds an optimum known by hand, says what caps an unreachable target, prices
designs in closed form, and refuses a design section that names nothing; the CLI end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from aifactory.plant.design import apply, current_values, operator_hours_per_week, weekly_cost
from aifactory.plant.design_model import WEEKS_PER_YEAR
from aifactory.plant.design_search import SearchSettings, search, summary
from aifactory.plant.loading import PlantError, load_plant
from cli_invoke import invoke

LINE = {
    "format": "aifactory/plant-v1",
    "name": "line",
    "release": {"interarrival_hours": 1},
    "stations": {
        "prep": {"servers": 1, "time_hours": 0.5},
        "test": {"servers": 1, "time_hours": 2.5},
        "pack": {"servers": 2, "time_hours": 0.4},
    },
    "design": {
        "variables": {
            "prep-servers": {"station": "prep", "low": 1, "high": 4, "capex_usd": 100_000},
            "test-servers": {"station": "test", "low": 1, "high": 6, "capex_usd": 250_000},
            "pack-servers": {"station": "pack", "low": 1, "high": 3, "capex_usd": 50_000},
        }
    },
}
VARIABLES: dict[str, Any] = LINE["design"]["variables"]  # type: ignore[index]
FAST = {"replications": 3, "max_replications": 6, "days": 14.0, "warmup_days": 3.5}


def write(tmp_path: Path, data: dict[str, Any], name: str = "plant.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_the_search_finds_the_servers_a_serial_line_needs(tmp_path: Path) -> None:
    """One unit an hour; test takes 2.5 h (needs 3 servers: 2 more than written), prep 0.5 h and pack
    0.4 h (1 each): the cheapest design that keeps up is (1, 3, 1), whatever the seed."""
    plant = load_plant(str(write(tmp_path, LINE)))
    for seed in (0, 1):
        result = search(plant, SearchSettings(target=160, trials=30, seed=seed, **FAST))  # type: ignore[arg-type]
        assert result.chosen is not None
        assert dict(zip(result.names, result.chosen.values, strict=True)) == {
            "prep-servers": 1,
            "test-servers": 3,
            "pack-servers": 1,
        }
        assert result.chosen.replications == FAST["max_replications"]  # the incumbent was confirmed
        assert result.binding()[0].startswith("stations.test is ")
        assert result.caps == []
    report = summary(result)
    assert report["met"] and report["chosen"]["share_meeting_target"] == 1.0
    costs = [row["cost_per_week_usd"] for row in report["frontier"]]
    assert costs == sorted(costs) and len(report["frontier"]) >= 2
    rates = [row["racks_per_week_mean"] for row in report["frontier"]]
    assert rates == sorted(rates) and rates[-1] == pytest.approx(168, abs=2)


def test_an_unreachable_target_says_what_caps_it(tmp_path: Path) -> None:
    plant = load_plant(str(write(tmp_path, LINE)))
    result = search(plant, SearchSettings(target=200, trials=6, **FAST))  # type: ignore[arg-type]
    assert result.chosen is None
    assert result.caps[0] == "release: 168 units a week are released, below the target of 200"
    # 336 a week released; test's 4 servers at most make 4 / 2.5 h = 268.8 a week: test caps it
    capped = {**LINE, "release": {"interarrival_hours": 0.5}, "design": {"variables": {**VARIABLES}}}
    capped["design"]["variables"]["test-servers"] = {**VARIABLES["test-servers"], "high": 4}
    settings = SearchSettings(target=300, trials=6, **FAST)  # type: ignore[arg-type]
    result = search(load_plant(str(write(tmp_path, capped))), settings)
    assert result.chosen is None
    assert result.caps[0].startswith("with every variable at its upper bound the plant makes 26")
    assert result.caps[1] == "stations.test is 100% busy"


def test_costs_in_closed_form(tmp_path: Path) -> None:
    data = {
        **LINE,
        "operators": {
            "techs": {
                "count": 10,
                "shifts": [
                    {"start": "06:00", "end": "14:00", "days": ["mon", "tue", "wed", "thu", "fri"]},
                    {
                        "start": "14:00",
                        "end": "22:00",
                        "days": ["mon", "tue", "wed", "thu", "fri"],
                        "count": 4,
                    },
                ],
            }
        },
    }
    data["design"] = {
        "amortisation_years": 4,
        "variables": {
            "test-servers": {"station": "test", "low": 1, "high": 6, "capex_usd": 208_710},
            "techs": {"operators": "techs", "low": 1, "high": 20, "labour_usd_per_hour": 40},
            "shifts": {"shifts": "techs", "low": 1, "high": 2, "labour_usd_per_hour": 40},
        },
    }
    plant = load_plant(str(write(tmp_path, data)))
    assert current_values(plant) == (1, 10, 2)
    # 10 on the first shift and 4 (its own count) on the second, 8 h × 5 days each
    assert operator_hours_per_week(plant, "techs") == 10 * 40 + 4 * 40
    cost = weekly_cost(plant, (3, 12, 1))  # 3 servers; 12 operators on the first shift only
    assert cost.capital_per_week == pytest.approx(3 * 208_710 / (4 * WEEKS_PER_YEAR))
    assert cost.labour_per_week == 12 * 8 * 5 * 40
    applied = apply(plant, (3, 12, 1))
    assert applied.stations["test"].servers == 3 and len(applied.operators["techs"].shifts) == 1
    with pytest.raises(ValueError, match="test-servers: 7 is outside 1 … 6"):
        apply(plant, (7, 12, 1))


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        (
            {"station": "nope", "low": 1, "high": 2, "capex_usd": 1},
            "design.variables.v.station: no station 'nope'",
        ),
        (
            {"robots": "amr", "low": 1, "high": 2, "capex_usd": 1},
            "design.variables.v.robots: no robot fleet 'amr'",
        ),
        ({"station": "test", "low": 3, "high": 2, "capex_usd": 1}, "low: 3 is above high 2"),
        ({"station": "test", "low": 1, "high": 2}, "capex_usd: required for a variable of station"),
        ({"operators": "x", "low": 1, "high": 2, "capex_usd": 1}, "labour_usd_per_hour: required"),
        ({"station": "test", "robots": "a", "low": 1, "high": 2, "capex_usd": 1}, "name exactly one of"),
        ({"station": "test", "low": 1, "high": 2, "capex_usd": float("nan")}, "capex_usd"),
    ],
)
def test_a_design_that_names_nothing_is_refused(
    tmp_path: Path, variable: dict[str, Any], message: str
) -> None:
    data = {**LINE, "design": {"variables": {"v": variable}}}
    with pytest.raises(PlantError, match="design") as error:
        load_plant(str(write(tmp_path, data)))
    assert message in str(error.value)


def test_the_cli_writes_the_design_and_the_plant_with_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, LINE, "line.yaml")
    out = tmp_path / "out"
    args = ["plant", "design", str(path), "--target", "160", "--trials", "20", "-r", "3"]
    args += ["--max-replications", "6", "--days", "14", "--out", str(out)]
    code, _, err = invoke(capsys, *args)
    assert code == 0, err
    chosen = json.loads((out / "design.json").read_text())["chosen"]
    assert chosen["values"] == {"prep-servers": 1, "test-servers": 3, "pack-servers": 1}
    designed = load_plant(str(out / "line-design.yaml"))  # a valid plant, with the design written in
    assert designed.stations["test"].servers == 3 and designed.stations["pack"].servers == 1
    page = (out / "design.html").read_text()
    assert "Cost against throughput" in page and "What binds" in page
    report = (out / "report.html").read_text()  # the chosen plant's report, opened by the design
    assert report.index("The design") < report.index("Cost against throughput") < report.index("Utilisation")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "nan"], "--target nan: must be a number of racks a week > 0"),
        (["--target", "-5"], "--target -5: must be a number of racks a week > 0"),
        (["--target", "100", "--probability", "1.5"], "--probability 1.5: must be in (0, 1]"),
        (
            ["--target", "100", "-r", "8", "--max-replications", "4"],
            "--max-replications 4: below --replications 8",
        ),
        ([], "--target: required (the plant file gives no design.target_racks_per_week)"),
    ],
)
def test_the_cli_refuses_bad_input_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    path = write(tmp_path, LINE, "line.yaml")
    code, _, err = invoke(capsys, "plant", "design", str(path), "--out", str(tmp_path / "o"), *args)
    assert code == 2
    assert err.strip() == f"error: {message}"


def test_a_plant_without_a_design_section_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(capsys, "plant", "design", "wistron-fort-worth", "--target", "10")
    assert code == 2 and "design: missing" in err and len(err.strip().splitlines()) == 1


def test_two_workers_choose_what_one_does(tmp_path: Path) -> None:
    """The same seeds in the same order for every design: the mapper changes the time, not the answer."""
    from aifactory.parallel import make_mapper

    plant = load_plant(str(write(tmp_path, LINE)))
    settings = SearchSettings(target=160, trials=8, seed=3, batch=4, **FAST)  # type: ignore[arg-type]
    one, two = search(plant, settings), search(plant, settings, make_mapper(2))
    assert summary(one) == summary(two)


def test_arms_instead_of_operators_when_they_are_cheaper(tmp_path: Path) -> None:
    """Two units an hour, an hour's work each: two at work at once keep up. Two operators on duty round
    the clock cost 2 × 168 h × $40 = $13,440 a week; fitting the station for arms ($500k) and two arms
    ($200k each), over 5 years, about $3,450: the search takes the arms and no operator."""
    data = {
        "format": "aifactory/plant-v1",
        "name": "cell",
        "release": {"interarrival_hours": 0.5},
        "stations": {"assemble": {"servers": 3, "time_hours": 1.0, "operator": "techs"}},
        "operators": {"techs": {"count": 1}},
        "robots": {"arms": {"kind": "arm", "count": 1}},
        "design": {
            "variables": {
                "techs": {"operators": "techs", "low": 0, "high": 3, "labour_usd_per_hour": 40},
                "arm-cell": {
                    "arms_at": "assemble",
                    "fleet": "arms",
                    "low": 0,
                    "high": 1,
                    "capex_usd": 500_000,
                },
                "arms": {"robots": "arms", "low": 0, "high": 3, "capex_usd": 200_000},
            }
        },
    }
    plant = load_plant(str(write(tmp_path, data)))
    assert current_values(plant) == (1, 0, 1)
    applied = apply(plant, (0, 1, 2))
    assert applied.stations["assemble"].robots == ["arms"] and applied.stations["assemble"].operators == []
    result = search(plant, SearchSettings(target=300, trials=30, **FAST))  # type: ignore[arg-type]
    assert result.chosen is not None
    assert dict(zip(result.names, result.chosen.values, strict=True)) == {
        "techs": 0,
        "arm-cell": 1,
        "arms": 2,
    }
    cell = {"arms_at": "assemble", "fleet": "techs", "low": 0, "high": 1, "capex_usd": 1}
    bad = {**data, "design": {"variables": {"x": cell}}}
    with pytest.raises(PlantError) as error:
        load_plant(str(write(tmp_path, bad)))
    assert "design.variables.x.fleet: no arm or humanoid fleet 'techs'" in str(error.value)
