"""The bounded YAML loader that scenario files, plant files and ``--set`` values share: hostile input is
refused quickly with one line, ordinary anchors and aliases still work."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aifactory.plant.loading import PlantError, load_plant
from aifactory.scenario.loading import ScenarioError, apply_override, load_scenario, parse_yaml
from aifactory.scenario.yaml_loader import MAX_YAML_BYTES, MAX_YAML_DEPTH, load_bounded


def refusal(text: str) -> tuple[str, float]:
    started = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        parse_yaml(text, "f.yaml")
    return str(info.value), time.perf_counter() - started


def test_a_megabyte_of_open_brackets_is_refused_in_well_under_a_second() -> None:
    message, seconds = refusal("[" * 1_000_000)
    assert message == f"f.yaml: nested deeper than {MAX_YAML_DEPTH} levels"
    assert seconds < 1.0


@pytest.mark.parametrize(
    "text",
    [
        "{a: " * 10_000,
        "".join("  " * i + f"k{i}:\n" for i in range(1_000)),  # block mappings
        "- " * 10_000,
        "a: " + "[" * (MAX_YAML_DEPTH + 1) + "]" * (MAX_YAML_DEPTH + 1),
    ],
    ids=["flow mappings", "block mappings", "block sequences", "just too deep"],
)
def test_deep_nesting_of_any_kind_is_refused(text: str) -> None:
    message, seconds = refusal(text)
    assert message.startswith("f.yaml: nested deeper than")
    assert seconds < 1.0


def test_nesting_up_to_the_bound_is_read() -> None:
    depth = MAX_YAML_DEPTH - 1  # the top-level mapping is one level
    value = parse_yaml("a: " + "[" * depth + "]" * depth, "f.yaml")["a"]
    for _ in range(depth - 1):
        (value,) = value
    assert value == []


def test_a_billion_laughs_is_refused_without_expanding_it() -> None:
    bomb = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
        f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
        for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    message, seconds = refusal(bomb)
    assert message == "f.yaml: more than 1,000,000 values (an alias counts each time it is used)"
    assert seconds < 1.0


def test_aliases_that_nest_too_deeply_once_expanded_are_refused() -> None:
    lines = ["l0: &l0 [x]"] + [f"l{i}: &l{i} [[[[[[[[[[*l{i - 1}]]]]]]]]]]" for i in range(1, 10)]
    message, _ = refusal("\n".join(lines) + "\n")
    assert message == f"f.yaml: nested deeper than {MAX_YAML_DEPTH} levels (aliases expanded)"


def test_a_collection_holding_itself_is_refused() -> None:
    message, _ = refusal("a: &a [1, *a]\n")
    assert message == "f.yaml: an alias refers to a collection that holds it"


def test_ordinary_anchors_and_merge_keys_still_work() -> None:
    data = parse_yaml("base: &base {x: 1, y: 2}\none: {<<: *base, y: 3}\ntwo: *base\n", "f.yaml")
    assert data["one"] == {"x": 1, "y": 3} and data["two"] == {"x": 1, "y": 2}
    assert load_bounded("") is None


def test_a_file_larger_than_the_bound_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:  # sparse: no disk space used
        f.truncate(MAX_YAML_BYTES + 1)
    started = time.perf_counter()
    with pytest.raises(ScenarioError, match=r"huge\.yaml: larger than 20 MB$"):
        load_scenario(str(path))
    with pytest.raises(PlantError, match=r"huge\.yaml: larger than 20 MB$"):
        load_plant(str(path))
    assert time.perf_counter() - started < 1.0
    with pytest.raises(ScenarioError, match="larger than 20 MB"):
        parse_yaml(" " * (MAX_YAML_BYTES + 1), "text")


def test_a_device_is_not_a_regular_file() -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    with pytest.raises(ScenarioError, match=r"^/dev/zero: not a regular file$"):
        load_scenario("/dev/zero")


def test_set_values_are_bounded_too() -> None:
    data: dict[str, object] = {"stages": {}}
    with pytest.raises(ScenarioError) as info:
        apply_override(data, "stages.x=" + "[" * 100_000, "s: --set")
    assert str(info.value) == f"s: --set stages.x: VALUE: nested deeper than {MAX_YAML_DEPTH} levels"
    with pytest.raises(ScenarioError, match="VALUE: an alias refers to a collection that holds it"):
        apply_override(data, "stages.x=&a [*a]", "s: --set")
