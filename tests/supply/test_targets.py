"""Targets and sensitivity in the summary, against answers computed by hand on the serial line.

The contract's serial line (fab 100/day × 0.9 → 14 days → pack × 0.88 × 17 GPUs → 7 days → integrate,
72 GPUs a rack, × 0.98) is input-bound at integrate: from day 151 (= 90 + 14 + 30 + 7 + 10) it delivers
``RATE`` racks every day, and nothing before.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from builders import ENGINES, build, serial_line

from aifactory.supply.montecarlo import run_monte_carlo

# no run reaches the "above" production rate: the date quantiles are percentiles of inf (reported None)
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in scalar subtract:RuntimeWarning")

START = dt.date(2026, 1, 1)
FIRST_DAY = 90 + 14 + 30 + 7 + 10
RATE = 100 * 0.9 * 0.88 * 17 / 72 * 0.98  # racks a day
RACK_VALUE = 3.5e6
BELOW, ABOVE = 1 - 1e-6, 1 + 1e-6


def day(date: str) -> int:
    return (dt.date.fromisoformat(date) - START).days


def racks_by(date: str) -> float:
    """Racks delivered up to and including ``date``."""
    return max(0, day(date) + 1 - FIRST_DAY) * RATE


VALUE_BY = "2026-08-31"
GPUS_BY = "2026-10-31"
RACKS_BY = "2026-12-31"  # the last day of the horizon
WEEKLY = 7 * RATE


def hand_targets() -> list[tuple[dict[str, Any], float]]:
    """(target without its value, hand-computed answer)."""
    return [
        ({"metric": "value_usd", "by": VALUE_BY}, racks_by(VALUE_BY) * RACK_VALUE),
        ({"metric": "gpus_delivered", "by": GPUS_BY}, racks_by(GPUS_BY) * 72),
        ({"metric": "items_delivered", "item": "rack", "by": RACKS_BY}, racks_by(RACKS_BY)),
        (
            {
                "metric": "production_rate",
                "item": "rack",
                "per_days": 7,
                "window_start": "2026-09-01",
                "by": "2026-10-31",
            },
            WEEKLY,
        ),
    ]


@pytest.fixture(scope="module", params=list(ENGINES))
def summary(request: pytest.FixtureRequest) -> dict[str, Any]:
    data = serial_line()
    data["targets"] = [
        t | {"value": answer * factor, "name": f"{t['metric']} {label}"}
        for t, answer in hand_targets()
        for label, factor in (("below", BELOW), ("above", ABOVE))
    ]
    mc = run_monte_carlo(build(data), runs=8, seed=0, deterministic=True, bucket_days=7, engine=request.param)
    return mc.summary()


def target(summary: dict[str, Any], metric: str, label: str) -> dict[str, Any]:
    (entry,) = [t for t in summary["targets"] if t["name"] == f"{metric} {label}"]
    return entry


def test_hand_answers_are_not_trivial() -> None:
    assert racks_by(VALUE_BY) == pytest.approx(92 * RATE)
    assert racks_by(GPUS_BY) == pytest.approx(153 * RATE)
    assert racks_by(RACKS_BY) == pytest.approx(214 * RATE)


@pytest.mark.parametrize(
    ("metric", "answer"),
    [(t["metric"], answer) for t, answer in hand_targets()],
    ids=[t["metric"] for t, _ in hand_targets()],
)
def test_target_p50_is_the_hand_computed_answer(summary: dict[str, Any], metric: str, answer: float) -> None:
    for label in ("below", "above"):
        entry = target(summary, metric, label)
        assert entry["metric"] == metric
        # production rates come from float32 bucket series; totals are float64
        assert entry["p50"] == pytest.approx(answer, rel=1e-6 if metric == "production_rate" else 1e-9)


@pytest.mark.parametrize("metric", [t["metric"] for t, _ in hand_targets()])
def test_target_is_met_just_below_the_answer_and_missed_just_above(
    summary: dict[str, Any], metric: str
) -> None:
    assert target(summary, metric, "below")["probability_met"] == 1.0
    assert target(summary, metric, "above")["probability_met"] == 0.0


def test_target_entries_carry_their_goal_and_date(summary: dict[str, Any]) -> None:
    entry = target(summary, "value_usd", "below")
    assert entry["by"] == VALUE_BY
    assert entry["target"] == pytest.approx(racks_by(VALUE_BY) * RACK_VALUE * BELOW)


def test_production_rate_reports_when_the_rate_is_first_reached(summary: dict[str, Any]) -> None:
    # weekly buckets: days 147–153 hold only 3 days of output (151–153); days 154–160 are the first
    # full week, so the rate is first reached in the bucket ending on day 160
    entry = target(summary, "production_rate", "below")
    reached = (START + dt.timedelta(days=160)).isoformat()
    assert reached == "2026-06-10"
    assert entry["date_reached"] == {"p10": reached, "p50": reached, "p90": reached}
    assert entry["unit"] == "rack per 7 days"
    never = target(summary, "production_rate", "above")
    assert never["date_reached"] == {"p10": None, "p50": None, "p90": None}


def test_summary_totals_match_the_hand_answers(summary: dict[str, Any]) -> None:
    racks = racks_by(RACKS_BY)
    assert summary["items"]["rack"]["delivered"]["p50"] == pytest.approx(racks, rel=1e-9)
    assert summary["value_usd"]["mean"] == pytest.approx(racks * RACK_VALUE, rel=1e-9)
    assert summary["gpus_delivered"]["p90"] == pytest.approx(racks * 72, rel=1e-9)
    assert summary["destinations"]["dc"]["rack"]["p10"] == pytest.approx(racks, rel=1e-9)


@pytest.mark.parametrize("engine", list(ENGINES))
def test_sensitivity_ranks_the_binding_capacity_first_and_leaves_out_costs(engine: str) -> None:
    data = serial_line(
        fab={"cost_per_unit_usd": {"dist": "uniform", "low": 1000, "high": 3000}},
        pack={"cycle_time_days": {"dist": "uniform", "low": 28, "high": 32}},
        integrate={
            "capacity": 10,  # binds: the line could feed 18.7 racks a day
            "capacity_scale": {"dist": "uniform", "low": 0.5, "high": 1.5},
            "cost_per_unit_usd": {"dist": "triangular", "low": 1, "mode": 2, "high": 5},
        },
    )
    data["lanes"][0]["cost_per_unit_usd"] = {"dist": "uniform", "low": 1, "high": 9}
    mc = run_monte_carlo(build(data), runs=500, seed=3, engine=engine)
    sens = mc.summary()["sensitivity"]
    assert sens["outcome"] == "value_usd delivered to all destinations"
    inputs = sens["inputs"]
    assert inputs[0]["input"] == "stages.integrate.capacity_scale"
    assert inputs[0]["spearman"] > 0.9
    assert inputs[0]["swing"] > 0
    assert not [row for row in inputs if row["input"].endswith("cost_per_unit_usd")]
