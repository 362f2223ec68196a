"""GPU shapes: the unit the marketplace sells, written ``gpu.<N>x<model>``.

``gpu.1xgb300`` is one GB300 GPU, ``gpu.4xgb300`` one compute tray (4 GPUs share a tray), ``gpu.8xgb300``
two trays, ``gpu.18xgb300`` and ``gpu.36xgb300`` a quarter and a half rack, and ``gpu.72xgb300`` one whole
NVL72 rack (18 trays, one NVLink domain). HGX-style parts (B200, H100) come in 8-GPU nodes.
``parse_shape`` turns the text into a ``Shape``; an unknown model or a GPU count that is not a slice of
that model's tray, node or rack is refused with the list of valid forms. This is the one catalogue: the
marketplace sells these shapes and jobs ask for them (:func:`shape_for_factory`: of the factory's model).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aifactory.market.errors import MarketError

NVL72_COUNTS = (1, 2, 4, 8, 18, 36, 72)
"""Slices of an NVL72 rack: part of a tray, a tray, two trays, a quarter, a half and the whole rack."""


@dataclass(frozen=True)
class GpuModel:
    """A GPU model and the GPU counts a shape of it may have."""

    name: str
    description: str
    counts: tuple[int, ...]


MODELS: dict[str, GpuModel] = {
    m.name: m
    for m in (
        GpuModel("gb300", "NVIDIA GB300 (Blackwell Ultra), 4 per tray, 72 per NVL72 rack", NVL72_COUNTS),
        GpuModel("gb200", "NVIDIA GB200 (Blackwell), 4 per tray, 72 per NVL72 rack", NVL72_COUNTS),
        GpuModel("b200", "NVIDIA B200 (Blackwell), 8 per HGX node", (1, 2, 4, 8)),
        GpuModel("h100", "NVIDIA H100 (Hopper), 8 per HGX node", (1, 2, 4, 8)),
    )
}
"""The catalogue of known models, by name."""

_SHAPE_RE = re.compile(r"gpu\.([1-9][0-9]*)x([a-z0-9]+)")


@dataclass(frozen=True)
class Shape:
    """A parsed shape: its canonical name, GPUs per unit and model name."""

    name: str
    gpus: int
    model: str

    def __str__(self) -> str:
        return self.name


def shape_name(gpus: int, model: str) -> str:
    """The canonical text of a shape: ``gpu.<gpus>x<model>``."""
    return f"gpu.{gpus}x{model}"


def catalogue() -> tuple[Shape, ...]:
    """Every valid shape, by model then GPU count."""
    return tuple(Shape(shape_name(n, m.name), n, m.name) for m in MODELS.values() for n in m.counts)


def valid_forms() -> str:
    """Human-readable list of the valid shapes, used in error messages."""
    per_model = "; ".join(f"{m.name}: N in {'|'.join(str(n) for n in m.counts)}" for m in MODELS.values())
    return f"gpu.<N>x<model> with {per_model} (e.g. gpu.1xgb300, gpu.4xgb300, gpu.72xgb300)"


def parse_shape(text: str, field: str = "shape") -> Shape:
    """Parse ``gpu.<N>x<model>``; surrounding blanks and letter case are ignored."""
    if not isinstance(text, str):
        raise MarketError(field, f"must be a string like gpu.4xgb300, got {type(text).__name__}")
    match = _SHAPE_RE.fullmatch(text.strip().lower())
    if match is None:
        raise MarketError(field, f"{text!r} is not a shape; valid forms: {valid_forms()}")
    gpus, model_name = int(match.group(1)), match.group(2)
    model = MODELS.get(model_name)
    if model is None:
        raise MarketError(
            field, f"unknown GPU model {model_name!r} in {text!r}; valid forms: {valid_forms()}"
        )
    if gpus not in model.counts:
        raise MarketError(
            field, f"{gpus} x {model_name} is not a sellable slice in {text!r}; valid forms: {valid_forms()}"
        )
    return Shape(shape_name(gpus, model_name), gpus, model_name)


def shape_for_factory(text: str, gpu_model: str, field: str = "shape") -> Shape:
    """Parse a shape a job asks for on a factory of ``gpu_model`` GPUs: a shape of another model is
    refused (the factory has none of those GPUs)."""
    shape = parse_shape(text, field)
    if shape.model != gpu_model:
        forms = ", ".join(s.name for s in catalogue() if s.model == gpu_model)
        raise MarketError(field, f"{shape.name}: this factory's GPUs are {gpu_model}; its shapes are {forms}")
    return shape
