"""Reading scenarios: bundled names or YAML paths, ``--set PATH=VALUE`` overrides, one-line errors."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from aifactory.scenario.defaults import DEFAULT_SCENARIO
from aifactory.scenario.distributions import DISTRIBUTIONS
from aifactory.scenario.model import Scenario
from aifactory.scenario.options import PlanOption
from aifactory.scenario.yaml_loader import YamlLimitError, load_bounded, read_bounded

BUNDLED_PACKAGE = "aifactory.scenario.bundled"


class ScenarioError(ValueError):
    """Bad scenario input; ``str()`` is a one-line message naming the file, field and reason."""


def yaml_names(package: str) -> list[str]:
    """The names of the YAML files bundled in ``package``."""
    folder = resources.files(package)
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def yaml_text(package: str, name: str) -> str:
    return resources.files(package).joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def read_yaml_ref(ref: str, package: str, kind: str) -> tuple[str, str]:
    """The YAML text of ``ref`` (a name bundled in ``package`` or a path) and the label used in messages;
    ScenarioError naming ``ref`` (and the closest bundled name) when there is neither."""
    path = Path(ref)
    names = yaml_names(package)
    if path.suffix in (".yaml", ".yml") or path.is_file() or (path.exists() and ref not in names):
        if not path.is_file():
            what = "is a folder, not a file" if path.is_dir() else "no such file"
            if path.exists() and not path.is_dir():  # a device or a pipe: reading it may never end
                what = "not a regular file"
            raise ScenarioError(f"{ref}: {what}")
        try:
            return read_bounded(path), str(path)
        except YamlLimitError as exc:
            raise ScenarioError(f"{ref}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ScenarioError(f"{ref}: cannot read: not UTF-8 text (byte {exc.start})") from None
        except OSError as exc:
            raise ScenarioError(f"{ref}: cannot read: {exc.strerror or exc}") from None
    if ref in names:  # a bundled name, even where a folder of that name exists (an output folder, say)
        return yaml_text(package, ref), ref
    close = difflib.get_close_matches(ref, names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise ScenarioError(f"{ref}: no such file or bundled {kind}{hint}; bundled: {', '.join(names)}")


def bundled_names() -> list[str]:
    return yaml_names(BUNDLED_PACKAGE)


def bundled_text(name: str) -> str:
    return yaml_text(BUNDLED_PACKAGE, name)


def read_scenario_text(ref: str) -> tuple[str, str]:
    """The YAML text of ``ref`` (a bundled name or a path) and the label used in messages."""
    return read_yaml_ref(ref, BUNDLED_PACKAGE, "scenario")


def parse_yaml(text: str, label: str, *, kind: str = "scenario") -> dict[str, Any]:
    """The mapping in ``text``; malformed, oversized or absurdly nested YAML raises ScenarioError."""
    try:
        data = load_bounded(text)
    except YamlLimitError as exc:
        raise ScenarioError(f"{label}: {exc}") from None
    except RecursionError:  # the depth bound should make this unreachable
        raise ScenarioError(f"{label}: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{label}{where}: malformed YAML: {problem}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{label}: a {kind} must be a YAML mapping, got {type(data).__name__}")
    return data


def apply_override(data: dict[str, Any], assignment: str, label: str = "--set") -> None:
    """Apply ``PATH=VALUE`` to raw scenario data. VALUE is parsed as YAML (numbers, dates, {dist: ...})."""
    if "=" not in assignment:
        raise ScenarioError(f"{label} {assignment}: expected PATH=VALUE, e.g. stages.fab.capacity=120")
    path, _, raw = assignment.partition("=")
    keys = [k for k in path.strip().split(".") if k]
    if not keys:
        raise ScenarioError(f"{label} {assignment}: empty PATH")
    try:
        value = load_bounded(raw) if raw.strip() else None
    except YamlLimitError as exc:
        raise ScenarioError(f"{label} {path}: VALUE: {exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{label} {path}: VALUE is not valid YAML: {raw!r}") from exc
    node: Any = data
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        where = ".".join(keys[: depth + 1])
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ScenarioError(f"{label} {where}: no element {key} (the list has {len(node)})")
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            elif key not in node:
                hint = difflib.get_close_matches(key, [str(k) for k in node], n=1)
                extra = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise ScenarioError(f"{label} {where}: no such field{extra}")
            else:
                if node[key] is None:
                    node[key] = {}
                node = node[key]
        else:
            raise ScenarioError(f"{label} {where}: cannot set a field inside {_kind(node)}")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


_FIELD_PATH = re.compile(r"[\w\-]+(\.[\w\-]+)*")
_UNION_TAGS = {"float", "int", "str", "bool", "date", "exponential", "erlang", *DISTRIBUTIONS}
_TYPE_MISMATCH = {
    "float_type",
    "float_parsing",
    "int_type",
    "int_parsing",
    "list_type",
    "dict_type",
    "model_type",
    "model_attributes_type",
    "string_type",
    "union_tag_not_found",
}


def _clean_loc(loc: tuple[int | str, ...]) -> list[str]:
    return [str(p) for p in loc if not (isinstance(p, str) and ("[" in p or p in _UNION_TAGS))]


def format_validation_error(
    exc: ValidationError, label: str, distributions: Collection[str] = tuple(DISTRIBUTIONS)
) -> str:
    """One line naming the file, the field path and the reason, for the most telling error.

    ``distributions`` are the valid ``dist`` names, listed when a distribution's tag is wrong."""
    errors = exc.errors(include_url=False)
    ranked = sorted(errors, key=lambda e: (e["type"] in _TYPE_MISMATCH, -len(e["loc"])))
    err = ranked[0]
    parts = _clean_loc(err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    tagged = _tagged_union_error(errors, err, distributions)
    if tagged is not None:
        return f"{label}: {'.'.join(parts) or '(top level)'}: {tagged}"
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    elif err["type"] == "missing":
        msg = "required field is missing"
    head, sep, rest = msg.partition(": ")
    if sep and _FIELD_PATH.fullmatch(head):  # "stages.us-fab.consumes.gpu: reason" from a model validator
        parts.extend(head.split("."))
        msg = rest
    if err["type"] in _TYPE_MISMATCH and len(errors) > 1:
        msg = f"invalid value {err.get('input')!r}: {msg}"
    path = ".".join(parts) or "(top level)"
    return f"{label}: {path}: {msg}"


def _tagged_union_error(errors: list[Any], err: Any, distributions: Collection[str]) -> str | None:
    """A plain message for a distribution mapping whose ``dist`` tag is missing or unknown.

    A figure is ``float | {dist: ...}``; pydantic reports both alternatives ("should be a valid number" and
    the tag problem), and the number alternative alone would mislead.
    """
    valid = ", ".join(distributions)
    where = _clean_loc(err["loc"])
    for e in errors:
        if _clean_loc(e["loc"]) != where:
            continue
        if e["type"] == "union_tag_invalid":
            tag = (e.get("ctx") or {}).get("tag", "?")
            return f"unknown distribution dist: {tag!r} (valid: {valid})"
        if e["type"] == "union_tag_not_found":
            value = e.get("input")
            return f"invalid value {value!r}: expected a number or a mapping with dist: one of {valid}"
    return None


def scenario_from_data(data: dict[str, Any], label: str) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, label)) from exc


def merge_stage_fields(ref: str, stage: str, fields: dict[str, Any], overrides: list[str] | None = None
                       ) -> dict[str, Any]:  # fmt: skip
    """The raw data of scenario ``ref`` (with ``overrides``) with ``stage``'s fields replaced, validated."""
    text, label = read_scenario_text(ref)
    data = parse_yaml(text, label)
    for assignment in overrides or []:
        apply_override(data, assignment, f"{label}: --set")
    stages = data.get("stages") or {}
    if stage not in stages:
        raise ScenarioError(f"--stage {stage!r}: {label} has no such stage; stages: {', '.join(stages)}")
    stages[stage].update(fields)
    scenario_from_data(data, label)  # the merged scenario must still validate
    return data


def scenario_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def load_scenario(ref: str = DEFAULT_SCENARIO, overrides: list[str] | None = None) -> Scenario:
    """Load a bundled scenario or a YAML file, apply ``--set`` overrides, validate."""
    text, label = read_scenario_text(ref)
    data = parse_yaml(text, label)
    for assignment in overrides or []:
        apply_override(data, assignment, f"{label}: --set")
    return scenario_from_data(data, label)


def merge_options_file(data: dict[str, Any], path: Path) -> None:
    """Add the options of a planner options file (``options: [{stage: …, name: …, …}]``) to the raw
    scenario ``data``; ScenarioError naming the file, the entry and the field."""
    label = str(path)
    if not path.is_file():
        raise ScenarioError(f"{label}: no such file")
    try:
        text = read_bounded(path)
    except (YamlLimitError, OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{label}: cannot read: {exc}") from None
    parsed = parse_yaml(text, label, kind="options file")
    entries = parsed.get("options")
    if set(parsed) - {"options", "format", "note"}:
        extra = sorted(set(parsed) - {"options", "format", "note"})[0]
        raise ScenarioError(f"{label}: {extra}: unknown field (an options file has 'options: [...]')")
    if not isinstance(entries, list):
        raise ScenarioError(f"{label}: options: expected a list of options")
    stages = data.get("stages") or {}
    for i, entry in enumerate(entries):
        try:
            option = PlanOption.model_validate(entry)
        except ValidationError as exc:
            raise ScenarioError(format_validation_error(exc, f"{label}: options.{i}")) from exc
        if option.stage not in stages:
            raise ScenarioError(
                f"{label}: options.{i}.stage: unknown stage '{option.stage}' (stages: {', '.join(stages)})"
            )
        fields = {k: v for k, v in entry.items() if k != "stage"}
        stage = stages[option.stage]
        stage["options"] = [*(stage.get("options") or []), fields]


def load_scenario_with_options(
    ref: str = DEFAULT_SCENARIO, overrides: list[str] | None = None, options_file: Path | None = None
) -> Scenario:
    """:func:`load_scenario`, with the options of ``options_file`` (if any) added to its stages."""
    text, label = read_scenario_text(ref)
    data = parse_yaml(text, label)
    for assignment in overrides or []:
        apply_override(data, assignment, f"{label}: --set")
    if options_file is not None:
        merge_options_file(data, options_file)
    return scenario_from_data(data, label)
