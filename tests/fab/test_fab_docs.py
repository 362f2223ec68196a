"""docs/fab-format.md describes every file and every column of the HVLM data set."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fab_files import REPO

from aifactory import fab
from aifactory.fab.table import read_text

DOC = REPO / "docs" / "fab-format.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_file_is_described(hvlm_dir: Path, doc: str) -> None:
    files = sorted(p.name for p in hvlm_dir.iterdir() if p.is_file())
    route_files = [f for f in files if f.startswith("route_")]
    assert route_files == ["route_3.txt", "route_4.txt"]
    missing = [f for f in files if f not in route_files and f"`{f}`" not in doc]
    assert not missing, f"files not described in {DOC.name}: {missing}"


def test_every_column_is_described(hvlm_dir: Path, doc: str) -> None:
    missing: list[str] = []
    for path in sorted(hvlm_dir.iterdir()):
        header = read_text(path).splitlines()[0]
        columns = header.split() if path.name.startswith("reference_") else header.split("\t")
        missing += [f"{path.name}:{c}" for c in columns if c.strip() and f"`{c.strip()}`" not in doc]
    assert not missing, f"columns not described in {DOC.name}: {missing}"


@pytest.mark.parametrize(
    "model",
    [fab.ToolFamily, fab.Step, fab.Part, fab.PeriodicRelease, fab.LotRelease, fab.WipLot, fab.Breakdown,
     fab.PreventiveMaintenance, fab.SetupChange, fab.SetupGroup, fab.Transport, fab.LotTypeReference,
     fab.ToolGroupReference],
)  # fmt: skip
def test_every_model_field_is_named(model: type, doc: str) -> None:
    fields = [f.name for f in dataclasses.fields(model) if not f.name.startswith("_")]
    missing = [name for name in fields if f"`{name}" not in doc and f"{name}`" not in doc]
    assert not missing, f"{model.__name__} fields not named in {DOC.name}: {missing}"
