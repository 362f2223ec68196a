"""Scenario format ``aifactory/v1``: models, distributions, loading and the bundled scenarios.

The names below load on first use (PEP 562), so that a command which never reads a scenario (``--help``,
the service's client commands) does not pay for numpy and the models at start-up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aifactory.scenario.defaults import DEFAULT_SCENARIO

if TYPE_CHECKING:
    from aifactory.scenario.loading import ScenarioError, bundled_names, load_scenario
    from aifactory.scenario.model import Scenario

__all__ = ["DEFAULT_SCENARIO", "Scenario", "ScenarioError", "bundled_names", "load_scenario"]


def __getattr__(name: str) -> Any:
    if name in ("ScenarioError", "bundled_names", "load_scenario"):
        from aifactory.scenario import loading

        return getattr(loading, name)
    if name == "Scenario":
        from aifactory.scenario.model import Scenario

        return Scenario
    raise AttributeError(f"module 'aifactory.scenario' has no attribute {name!r}")
