"""Hand-solvable planning networks for the planner's tests.

A source with ample capacity feeds one or two lines that deliver units worth $1 each to one customer.
Delays are zero unless given, so a line of capacity ``c`` delivers ``c × days`` units by a date, and the
capacity a target of ``N`` units by day ``D`` needs is ``N / D`` per day: the planner's answers can be
worked out by hand.
"""

from __future__ import annotations

from typing import Any

from aifactory.scenario.model import Scenario

START = "2026-01-01"
BY = "2026-07-19"  # day 199: 200 days of deliveries, days 0–199
DAYS = 200


def option(name: str = "more", *, max_: float = 50.0, cost: float = 1000.0, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "add_per_day": {"max": max_},
        "cost_usd_per_unit_per_day": cost,
        "earliest": START,
    } | extra


def serial(
    *,
    line_capacity: float = 10.0,
    target_units: float = 3000.0,
    options: list[dict[str, Any]] | None = None,
    cycle: Any = 0.0,
    yield_: Any = 1.0,
    horizon: int = DAYS,
) -> Scenario:
    """Source → line (the bottleneck) → customer."""
    return Scenario.model_validate(
        {
            "format": "aifactory/v1",
            "name": "serial",
            "start": START,
            "horizon_days": horizon,
            "items": {"part": {}, "unit": {"value_usd": 1.0}},
            "stages": {
                "source": {"site": "x", "produces": "part", "capacity": 1000.0},
                "line": {
                    "site": "x",
                    "produces": "unit",
                    "consumes": {"part": 1},
                    "capacity": line_capacity,
                    "cycle_time_days": cycle,
                    "yield": yield_,
                    "options": options or [],
                },
            },
            "lanes": [{"from": "source", "to": "line"}],
            "destinations": {"customer": {"from": "line"}},
            "targets": [
                {
                    "metric": "items_delivered",
                    "item": "unit",
                    "by": BY,
                    "value": target_units,
                    "name": "units",
                }
            ],
        }
    )


def parallel(
    *, a_options: list[dict[str, Any]], b_options: list[dict[str, Any]], target_units: float
) -> Scenario:
    """Source → line A and line B (10 a day each) → customer."""
    line = {"site": "x", "produces": "unit", "consumes": {"part": 1}, "capacity": 10.0}
    return Scenario.model_validate(
        {
            "format": "aifactory/v1",
            "name": "parallel",
            "start": START,
            "horizon_days": DAYS,
            "items": {"part": {}, "unit": {"value_usd": 1.0}},
            "stages": {
                "source": {"site": "x", "produces": "part", "capacity": 1000.0},
                "a": line | {"options": a_options},
                "b": line | {"options": b_options},
            },
            "lanes": [
                {"from": "source", "to": "a", "share": "pull"},
                {"from": "source", "to": "b", "share": "pull"},
            ],
            "destinations": {"customer": {"from": ["a", "b"]}},
            "targets": [{"metric": "items_delivered", "item": "unit", "by": BY, "value": target_units}],
        }
    )
