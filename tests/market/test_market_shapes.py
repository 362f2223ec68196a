"""Shapes: parsing gpu.<N>x<model>, the catalogue, and errors that list the valid forms."""

import pytest

from aifactory.market import MarketError, Shape, catalogue, parse_shape


@pytest.mark.parametrize(
    ("text", "gpus", "model"),
    [("gpu.1xgb300", 1, "gb300"), ("gpu.4xgb300", 4, "gb300"), ("gpu.72xgb300", 72, "gb300"),
     ("gpu.72xgb200", 72, "gb200"), ("gpu.8xb200", 8, "b200"), ("gpu.8xh100", 8, "h100")],
)  # fmt: skip
def test_parse_known_shapes(text: str, gpus: int, model: str) -> None:
    assert parse_shape(text) == Shape(text, gpus, model)


def test_parse_normalises_case_and_blanks() -> None:
    assert parse_shape("  GPU.4xGB300 ").name == "gpu.4xgb300"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("gpu.3xgb300", "not a sellable slice"),
        ("gpu.72xh100", "not a sellable slice"),
        ("gpu.4xmi300", "unknown GPU model 'mi300'"),
        ("gpu.0xgb300", "is not a shape"),
        ("gpu.04xgb300", "is not a shape"),
        ("4xgb300", "is not a shape"),
        ("", "is not a shape"),
    ],
)
def test_bad_shapes_name_the_field_and_list_valid_forms(text: str, reason: str) -> None:
    with pytest.raises(MarketError) as err:
        parse_shape(text)
    message = str(err.value)
    assert message.startswith("shape: ")
    assert reason in message
    assert "gpu.<N>x<model>" in message and "gb300: N in 1|2|4|8|18|36|72" in message and "h100" in message


def test_catalogue_round_trips() -> None:
    shapes = catalogue()
    assert {s.model for s in shapes} >= {"gb300", "gb200", "b200", "h100"}
    assert all(parse_shape(s.name) == s for s in shapes)
    assert parse_shape("gpu.72xgb300") in shapes


def test_a_factory_takes_only_shapes_of_its_own_gpus() -> None:
    from aifactory.market import shape_for_factory

    assert shape_for_factory("gpu.36xgb300", "gb300") == Shape("gpu.36xgb300", 36, "gb300")
    with pytest.raises(MarketError) as err:
        shape_for_factory("gpu.8xh100", "gb300")
    assert str(err.value).startswith(
        "shape: gpu.8xh100: this factory's GPUs are gb300; its shapes are gpu.1xgb300"
    )
