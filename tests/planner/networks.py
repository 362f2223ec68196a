"""Hand-solvable planning networks for the planner's tests."""

from __future__ import annotations

from typing import Any

from aifactory.scenario.model import Scenario


def serial(
    *,
    line_capacity: float = 10.0,
    target_units: float = 3000.0,
    options: list[dict[str, Any]] | None = None,
    cycle: float = 0.0,
    horizon: int = 200,
    by: str = "2026-07-19",
    yield_: Any = 1.0,
) -> Scenario:
    """A source with ample capacity feeding one line (the bottleneck) that delivers units worth $1 each."""
    return Scenario.model_validate(
        {
            "format": "aifactory/v1",
            "name": "serial",
            "start": "2026-01-01",
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
            "targets": [{"metric": "items_delivered", "item": "unit", "by": by, "value": target_units}],
        }
    )
