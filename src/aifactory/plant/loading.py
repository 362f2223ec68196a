"""Reading plants: bundled names or YAML paths, ``--set PATH=VALUE`` overrides, one-line errors."""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from aifactory.plant.checks import plant_errors
from aifactory.plant.distributions import DURATIONS
from aifactory.plant.model import FORMAT, Plant
from aifactory.scenario.loading import ScenarioError, apply_override, format_validation_error, parse_yaml

BUNDLED_PACKAGE = "aifactory.plant.bundled"
DEFAULT_PLANT = "foxconn-houston"


class PlantError(ValueError):
    """Bad plant input; ``str()`` is one line naming the file, the field and the reason."""


def bundled_plants() -> list[str]:
    folder = resources.files(BUNDLED_PACKAGE)
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def bundled_plant_text(name: str) -> str:
    return resources.files(BUNDLED_PACKAGE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def read_plant_text(ref: str) -> tuple[str, str]:
    """The YAML text of ``ref`` (a bundled name or a path) and the label used in messages."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise PlantError(f"{ref}: no such file")
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise PlantError(f"{ref}: cannot read: {exc}") from exc
    names = bundled_plants()
    if ref in names:
        return bundled_plant_text(ref), ref
    close = difflib.get_close_matches(ref, names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise PlantError(f"{ref}: no such file or bundled plant{hint}; bundled: {', '.join(names)}")


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
