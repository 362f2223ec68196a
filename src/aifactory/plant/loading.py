"""Reading plants: bundled names or YAML paths, ``--set PATH=VALUE`` overrides, one-line errors."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from aifactory.plant.checks import plant_errors
from aifactory.plant.distributions import DURATIONS
from aifactory.plant.model import FORMAT, Plant
from aifactory.scenario.loading import (
    ScenarioError,
    apply_override,
    format_validation_error,
    parse_yaml,
    read_yaml_ref,
    yaml_names,
    yaml_text,
)

BUNDLED_PACKAGE = "aifactory.plant.bundled"
DEFAULT_PLANT = "foxconn-houston"


class PlantError(ValueError):
    """Bad plant input; ``str()`` is one line naming the file, the field and the reason."""


def bundled_plants() -> list[str]:
    return yaml_names(BUNDLED_PACKAGE)


def bundled_plant_text(name: str) -> str:
    return yaml_text(BUNDLED_PACKAGE, name)


def read_plant_text(ref: str) -> tuple[str, str]:
    """The YAML text of ``ref`` (a bundled name or a path) and the label used in messages."""
    try:
        return read_yaml_ref(ref, BUNDLED_PACKAGE, "plant")
    except ScenarioError as exc:
        raise PlantError(str(exc)) from None


def plant_from_data(data: dict[str, Any], label: str) -> Plant:
    """Validate raw plant data: the format, then the fields, then the rules across fields."""
    fmt = data.get("format")
    if fmt != FORMAT:
        raise PlantError(f"{label}: format: expected {FORMAT!r}, got {fmt!r}")
    try:
        plant = Plant.model_validate(data)
    except ValidationError as exc:
        raise PlantError(format_validation_error(exc, label, tuple(DURATIONS))) from None
    errors = plant_errors(plant)
    if errors:
        raise PlantError(f"{label}: {errors[0]}")
    return plant


def load_plant(ref: str = DEFAULT_PLANT, overrides: list[str] | None = None) -> Plant:
    """Load a bundled plant or a YAML file, apply ``--set`` overrides, validate."""
    text, label = read_plant_text(ref)
    try:
        data = parse_yaml(text, label, kind="plant")
        for assignment in overrides or []:
            apply_override(data, assignment, f"{label}: --set")
    except ScenarioError as exc:
        raise PlantError(str(exc)) from None
    return plant_from_data(data, label)


def plant_yaml(plant: Plant) -> str:
    """A plant as YAML (validated fields, defaults left out)."""
    data = plant.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data = {"format": FORMAT, **data}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)
