"""Small scenario builders for supply tests."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from aifactory.scenario.loading import scenario_from_data
from aifactory.scenario.model import Scenario
from aifactory.supply.engine import RunResult, simulate
from aifactory.supply.kernel import simulate_compiled
from aifactory.supply.parameters import draw_block

ENGINES = {"numpy": simulate, "compiled": simulate_compiled}


def serial_line(**stage_overrides: dict[str, Any]) -> dict[str, Any]:
    """The contract's three-stage line as raw data; ``fab={...}`` etc. update a stage."""
    data: dict[str, Any] = {
        "format": "aifactory/v1",
        "name": "test-line",
        "start": "2026-01-01",
        "horizon_days": 365,
        "sites": {"s1": {"name": "Site", "country": "US"}},
        "items": {"wafer": {}, "gpu": {}, "rack": {"value_usd": 3.5e6, "gpus": 72}},
        "stages": {
            "fab": {"site": "s1", "produces": "wafer", "capacity": 100, "cycle_time_days": 90, "yield": 0.9},
            "pack": {
                "site": "s1",
                "consumes": {"wafer": 1},
                "produces": "gpu",
                "output_per_unit": 17,
                "capacity": 2000,
                "cycle_time_days": 30,
                "yield": 0.88,
            },
            "integrate": {
                "site": "s1",
                "consumes": {"gpu": 72},
                "produces": "rack",
                "capacity": 20,
                "cycle_time_days": 10,
                "yield": 0.98,
            },
        },
        "lanes": [
            {"from": "fab", "to": "pack", "transit_days": 14},
            {"from": "pack", "to": "integrate", "transit_days": 7},
        ],
        "destinations": {"dc": {"from": "integrate"}},
        "targets": [],
    }
    for sid, update in stage_overrides.items():
        data["stages"][sid].update(update)
    return data


def build(data: dict[str, Any]) -> Scenario:
    return scenario_from_data(copy.deepcopy(data), "test")


def run(
    s: Scenario,
    *,
    runs: int = 4,
    seed: int = 0,
    engine: str = "numpy",
    deterministic: bool = False,
    bucket_days: int = 1,
    checkpoint_days: tuple[int, ...] = (),
) -> RunResult:
    params = draw_block(s, np.random.default_rng(seed), runs, deterministic=deterministic)
    return ENGINES[engine](s, params, bucket_days=bucket_days, checkpoint_days=checkpoint_days)
