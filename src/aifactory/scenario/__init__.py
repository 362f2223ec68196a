"""Scenario format ``aifactory/v1``: models, distributions, loading and the bundled scenarios."""

from aifactory.scenario.loading import DEFAULT_SCENARIO, ScenarioError, bundled_names, load_scenario
from aifactory.scenario.model import Scenario

__all__ = ["DEFAULT_SCENARIO", "Scenario", "ScenarioError", "bundled_names", "load_scenario"]
