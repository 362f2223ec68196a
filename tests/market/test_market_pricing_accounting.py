"""Spot pricing and accounting, with answers worked out by hand."""

from datetime import UTC, datetime, timedelta

import pytest

from aifactory.market import (
    MarketError,
    UsageSegment,
    cost,
    gpu_hours,
    idle_fraction,
    spot_multiplier,
    spot_price,
    usage_by_project,
    usage_vs_shares,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


# --- pricing -------------------------------------------------------------------------------------------


def test_spot_price_is_linear_in_idle_fraction() -> None:
    assert spot_price(10.0, 0.5) == pytest.approx(6.5)  # 1 − 0.7 × 0.5 = 0.65
    assert spot_price(10.0, 0.0) == pytest.approx(10.0)
    assert spot_price(10.0, 1.0) == pytest.approx(3.0)
    assert spot_multiplier(0.25, floor=0.2, ceiling=0.8) == pytest.approx(0.65)  # 0.8 − 0.6 × 0.25


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"idle_fraction": 1.5}, "idle_fraction"),
        ({"idle_fraction": -0.1}, "idle_fraction"),
        ({"idle_fraction": 0.5, "floor": 0.9, "ceiling": 0.5}, "floor"),
        ({"idle_fraction": 0.5, "base_price": -1.0}, "base_price"),
    ],
)
def test_spot_price_validation(kwargs: dict[str, float], field: str) -> None:
    args = {"base_price": 1.0} | kwargs
    with pytest.raises(MarketError, match=rf"^{field}: "):
        spot_price(**args)


def test_idle_fraction_and_cost() -> None:
    assert idle_fraction(72, 18) == pytest.approx(0.75)
    assert idle_fraction(0, 0) == 0.0
    with pytest.raises(MarketError, match=r"^busy_gpus: "):
        idle_fraction(8, 9)
    assert cost(15.0, 2.0) == 30.0
    with pytest.raises(MarketError, match=r"^gpu_hours: "):
        cost(-1.0, 2.0)


# --- accounting ----------------------------------------------------------------------------------------


def seg(project: str, start: float, end: float, gpus: int, job: str = "j") -> UsageSegment:
    return UsageSegment(job=job, project=project, start=h(start), end=h(end), gpus=gpus)


def test_gpu_hours() -> None:
    assert gpu_hours(seg("p1", 0, 3, 10)) == 30.0
    assert gpu_hours(seg("p1", 0, 0.5, 72)) == 36.0
    with pytest.raises(MarketError, match=r"^end: must be after start"):
        seg("p1", 3, 3, 1)


def test_usage_by_project_clips_to_the_window() -> None:
    segments = [
        seg("p1", 0, 3, 10),  # window [2, 10): 1 h × 10 = 10
        seg("p1", 4, 6, 4),  # inside: 8
        seg("p2", 9, 12, 8),  # 1 h × 8 = 8
        seg("p3", 10, 12, 8),  # outside
    ]
    assert usage_by_project(segments, h(2), h(10)) == {"p1": 18.0, "p2": 8.0}


def test_usage_vs_shares() -> None:
    usage = {"a1": 30.0, "a2": 10.0, "b1": 60.0}
    programme_of = {"a1": "A", "a2": "A", "b1": "B", "c1": "C"}
    shares = {"A": 2.0, "B": 1.0, "C": 1.0}
    result = usage_vs_shares(usage, programme_of, shares)
    assert list(result) == ["A", "B", "C"]
    assert (result["A"].gpu_hours, result["A"].used_share, result["A"].entitled_share) == (40.0, 0.4, 0.5)
    assert (result["B"].gpu_hours, result["B"].used_share, result["B"].entitled_share) == (60.0, 0.6, 0.25)
    assert (result["C"].gpu_hours, result["C"].used_share) == (0.0, 0.0)
    assert result["B"].delta == pytest.approx(0.35)


def test_usage_vs_shares_errors_and_empty() -> None:
    with pytest.raises(MarketError, match=r"^programme_of: project 'x' has usage but no programme"):
        usage_vs_shares({"x": 1.0}, {}, {"A": 1.0})
    with pytest.raises(MarketError, match=r"^shares: programme 'Z'"):
        usage_vs_shares({"x": 1.0}, {"x": "Z"}, {"A": 1.0})
    empty = usage_vs_shares({}, {}, {"A": 0.0})
    assert (empty["A"].used_share, empty["A"].entitled_share) == (0.0, 0.0)
