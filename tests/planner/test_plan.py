"""The planner on networks whose answers are known by hand (tests/planner/networks.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from aifactory.planner.document import plan_document
from aifactory.planner.plan import PlanInputError, PlanSettings, plan
from aifactory.scenario.model import Scenario
from aifactory.supply.metrics import target_values
from aifactory.supply.montecarlo import run_monte_carlo
from planner.networks import BY, DAYS, START, option, parallel, serial

FAST = PlanSettings(samples=1, runs=20, bucket_days=7, probability=0.5)


def test_only_the_bottleneck_grows_by_exactly_what_is_missing() -> None:
    # 10 a day for 200 days is 2,000 of the 3,000 wanted: 1,000 more over 200 days is 5 a day.
    r = plan(serial(options=[option(cost=1000.0)]), FAST)
    assert r.feasible and r.met
    [a] = r.actions
    assert (a.stage, a.option, a.online) == ("line", "more", dt.date(2026, 1, 1))
    assert a.add_per_day == pytest.approx(5.0, rel=1e-6)
    assert r.cost_usd == pytest.approx(5000.0, rel=1e-6)
    assert r.probabilities == [1.0]


def test_a_cycle_time_shortens_the_window_and_needs_more() -> None:
    # Output leaves 20 days after the start: only 180 days of starts deliver by the date.
    r = plan(serial(options=[option()], cycle=20.0), FAST)
    [a] = r.actions
    assert a.add_per_day == pytest.approx(3000 / 180 - 10, rel=1e-6)


def test_parallel_options_are_used_cheapest_first_up_to_their_bounds() -> None:
    # 4,000 + 1,400 wanted by day 199: 7 a day more; the cheap line gives its 3, the dear one the rest.
    s = parallel(
        a_options=[option("cheap", max_=3.0, cost=1.0)],
        b_options=[option("dear", max_=10.0, cost=5.0)],
        target_units=5400.0,
    )
    r = plan(s, FAST)
    amounts = {(a.stage, a.option): a.add_per_day for a in r.actions}
    assert amounts[("a", "cheap")] == pytest.approx(3.0, rel=1e-6)
    assert amounts[("b", "dear")] == pytest.approx(4.0, rel=1e-6)
    assert r.cost_usd == pytest.approx(3 * 1.0 + 4 * 5.0, rel=1e-6)


def test_a_lead_time_pushes_the_start_later_and_the_amount_up() -> None:
    r = plan(serial(options=[option(lead_time_days=50)]), FAST)
    [a] = r.actions
    assert a.online == dt.date(2026, 1, 1) + dt.timedelta(days=50)
    assert a.add_per_day == pytest.approx(1000 / (DAYS - 50), rel=1e-6)


def test_an_earliest_date_pushes_the_start_later() -> None:
    r = plan(serial(options=[option(earliest="2026-03-02")]), FAST)  # day 60
    [a] = r.actions
    assert a.online == dt.date(2026, 3, 2)
    assert a.add_per_day == pytest.approx(1000 / (DAYS - 60), rel=1e-6)


def test_blocks_round_up_to_whole_blocks() -> None:
    r = plan(serial(options=[option(add_per_day={"max": 50, "block": 2})]), FAST)
    [a] = r.actions
    assert (a.add_per_day, a.blocks) == (6.0, 3)  # 5 a day needed: three blocks of 2


def test_a_fixed_cost_is_paid_once() -> None:
    r = plan(serial(options=[option(cost=10.0, fixed_cost_usd=700.0)]), FAST)
    assert r.cost_usd == pytest.approx(5 * 10.0 + 700.0, rel=1e-6)


def test_an_unreachable_target_is_infeasible_and_names_the_bound_that_caps_it() -> None:
    r = plan(serial(target_units=10_000.0, options=[option(max_=5.0)]), FAST)
    assert not r.feasible and not r.actions
    [u] = r.unreachable
    assert u["target"] == "units"
    assert u["reachable"] == pytest.approx(DAYS * 15.0, rel=1e-6)  # 10 + 5 a day for 200 days
    assert u["capped_by"] == [{"stage": "line", "option": "more", "max_add_per_day": 5.0}]
    doc = plan_document(r)
    assert doc["feasible"] is False and "'units'" in doc["message"]


def test_no_option_on_the_binding_stage_names_the_stage() -> None:
    r = plan(serial(target_units=10_000.0), FAST)
    [u] = r.unreachable
    assert u["binding_stages"] == ["line"]


def test_targets_already_met_need_nothing() -> None:
    r = plan(serial(target_units=1500.0, options=[option()]), FAST)
    assert r.feasible and r.met and r.actions == [] and r.cost_usd == 0.0


def test_the_shadow_price_of_the_bottleneck_is_the_option_cost_it_saves() -> None:
    # One more unit a day of line capacity for the whole horizon replaces one unit a day of the option.
    r = plan(serial(options=[option(cost=1000.0)]), FAST)
    [top, *_] = r.shadow
    assert (top["stage"], top["year"]) == ("line", 2026)
    assert top["worth_usd_per_unit_per_day"] == pytest.approx(1000.0, rel=1e-3)


def test_a_budget_buys_what_it_can_and_maximises_the_value() -> None:
    r = plan(
        serial(options=[option(cost=1000.0)]),
        PlanSettings(samples=1, runs=20, bucket_days=7, budget_usd=2000.0),
    )
    [a] = r.actions
    assert a.add_per_day == pytest.approx(2.0, rel=1e-6)
    assert r.rounds[-1].objective_usd == pytest.approx(12.0 * DAYS, rel=1e-6)  # units worth $1


def test_the_plans_own_monte_carlo_meets_the_probability_asked() -> None:
    s = serial(options=[option()], yield_={"dist": "triangular", "low": 0.7, "mode": 0.85, "high": 1.0})
    r = plan(s, PlanSettings(samples=10, runs=1000, bucket_days=14, probability=0.8, seed=3))
    assert r.feasible and r.met
    assert r.probabilities[0] >= 0.8
    # An independent Monte Carlo of the planned scenario (another seed, more runs) agrees.
    mc = run_monte_carlo(r.planned, runs=4000, seed=99)
    values = target_values(r.planned, r.planned.targets[0], mc.result, mc.params)
    assert (values >= 3000 * (1 - 1e-9)).mean() >= 0.8 - 0.03
    # and the plan is not wasteful: at half the addition the target is met far less often
    half = serial(
        options=[option()], yield_=s.stages["line"].yield_, line_capacity=10 + r.actions[0].add_per_day / 2
    )
    mc = run_monte_carlo(half, runs=4000, seed=99)
    assert (target_values(half, half.targets[0], mc.result, mc.params) >= 3000).mean() < 0.5


def test_the_planned_scenario_carries_the_actions_as_expansions() -> None:
    r = plan(serial(options=[option(lead_time_days=10, ramp_days=0)]), FAST)
    [exp] = r.planned.stages["line"].expansions
    assert exp.date == dt.date.fromisoformat(START) + dt.timedelta(days=10)
    assert exp.add_per_day == pytest.approx(r.actions[0].add_per_day)


def test_a_ramp_needs_more_capacity_at_full_rate() -> None:
    # Ramping linearly over 40 days loses 20 days of the addition: a × (200 − 20) = 1,000 (the engine's
    # ramp adds (day − online + 1) / 40 of it on each ramp day, 20.5 days' worth in all).
    r = plan(serial(options=[option(ramp_days=40)]), FAST)
    [a] = r.actions
    assert a.add_per_day == pytest.approx(1000 / (DAYS - 40 + 20.5), rel=1e-6)


@pytest.mark.parametrize("p", [0.0, 1.0, -0.5, 1.5, float("nan")])
def test_a_probability_outside_zero_one_is_bad_input(p: float) -> None:
    with pytest.raises(PlanInputError, match="--probability"):
        plan(serial(options=[option()]), PlanSettings(probability=p))


def test_the_by_date_is_inclusive() -> None:
    assert dt.date.fromisoformat(BY) - dt.date.fromisoformat(START) == dt.timedelta(days=DAYS - 1)


def _line(lane_transit: float) -> Scenario:
    data = serial(cycle=13.0, yield_=0.9).model_dump(mode="json", by_alias=True, exclude_unset=True)
    data["lanes"][0]["transit_days"] = lane_transit
    data["destinations"]["customer"]["transit_days"] = 3
    data["targets"] = [{"metric": "value_usd", "by": BY, "value": 1.0}]
    return Scenario.model_validate(data)


def _model_and_engine(s: Scenario) -> tuple[float, float]:
    r = plan(s, PlanSettings(samples=1, runs=4, bucket_days=9, budget_usd=0.0))
    mc = run_monte_carlo(s, runs=4, seed=0)
    return r.rounds[-1].objective_usd, float(target_values(s, s.targets[0], mc.result, mc.params)[0])


def test_the_model_delivers_what_the_supply_engine_does_on_a_line_with_delays() -> None:
    # Constant capacity and whole-day delays: work spread evenly over a bucket's days lands where the
    # engine's does, so with nothing to add the model's best delivery is the engine's.
    model, engine = _model_and_engine(_line(0.0))
    assert engine == pytest.approx(10 * 0.9 * (DAYS - 13 - 3), rel=1e-12)
    assert model == pytest.approx(engine, rel=1e-9)


def test_inputs_arriving_within_a_bucket_feed_the_whole_bucket() -> None:
    # The model's one optimism: parts that arrive 4 days into the line's first bucket count as on hand
    # for that whole bucket, so it starts 4 days' work the engine cannot. Steady flows are exact; the
    # verification rounds absorb the start-up error.
    model, engine = _model_and_engine(_line(4.0))
    assert engine == pytest.approx(10 * 0.9 * (DAYS - 4 - 13 - 3), rel=1e-12)
    assert model == pytest.approx(engine + 10 * 0.9 * 4, rel=1e-9)
