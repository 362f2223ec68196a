"""Small AI factories for tests: the serial-line network with a fixed-size factory, fixed power figures
and a steady climate, so that every figure can be checked by hand."""

from __future__ import annotations

import copy
from typing import Any

from aifactory.scenario.loading import bundled_text, parse_yaml, scenario_from_data
from aifactory.scenario.model import Scenario

FIXED_POWER: dict[str, Any] = {
    "gpu_busy_w": 1400,
    "gpu_idle_w": 200,
    "rack_overhead_kw": 30,
    "fixed_overhead_share": 0.0,
    "cooling_per_degree": 0.0,
    "reference_temperature_c": 25,
    "climate": {"monthly_mean_c": [25] * 12, "diurnal_amplitude_c": 0, "offset_c": 0},
}
FIXED_ECONOMICS: dict[str, Any] = {
    "electricity_usd_per_mwh": 100,
    "depreciation_years": 5,
    "operations_usd_per_rack_year": 200_000,
}


def factory_data(
    *,
    racks: int = 4,
    demand: dict[str, Any] | None = None,
    programs: dict[str, Any] | None = None,
    power: dict[str, Any] | None = None,
    economics: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """The scenario as data (for a YAML file or ``scenario_from_data``)."""
    data = parse_yaml(bundled_text("serial-line"), "serial-line")
    factory: dict[str, Any] = {
        "racks": racks,
        "schedulable_trays": 16,
        "programs": programs or {"research": {"share": 0.6}, "market": {"share": 0.4}},
        "demand": demand
        if demand is not None
        else {"research": {"offered_load": 0.5, "rate_usd_per_gpu_hour": 2}},
        "power": copy.deepcopy(power if power is not None else FIXED_POWER),
        "economics": copy.deepcopy(economics if economics is not None else FIXED_ECONOMICS),
    } | fields
    data["ai_factories"] = {"f": factory}
    return data


def small_scenario(**kwargs: Any) -> Scenario:
    return scenario_from_data(factory_data(**kwargs), "small-factory")
