"""Fixtures for the SMT2020 reader: the HVLM data set and tiny hand-made data sets in ``tmp_path``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fab_files import BASE_FILES, REPO, Files, MakeDataset, write_files


def _data_root() -> Path | None:
    """``AIFACTORY_DATA_DIR``, else ``../shared/data`` beside the repository (the Makefile's default)."""
    root = os.environ.get("AIFACTORY_DATA_DIR")
    if root:
        return Path(root)
    default = REPO.parent / "shared" / "data"
    return default if default.is_dir() else None


@pytest.fixture(scope="session")
def hvlm_dir() -> Path:
    root = _data_root()
    if root is None:
        pytest.skip("AIFACTORY_DATA_DIR is not set and ../shared/data does not exist")
    path = root / "smt2020" / "HVLM"
    if not path.is_dir():
        pytest.skip(f"SMT2020 HVLM data set not found at {path}")
    return path


@pytest.fixture
def make_dataset(tmp_path: Path) -> MakeDataset:
    """``make_dataset({file: text or None})``: the tiny data set with files replaced (None = left out)."""

    def make(overrides: Files | None = None, name: str = "TINY") -> Path:
        files: dict[str, str | None] = {**BASE_FILES, **(overrides or {})}
        return write_files(tmp_path / name, files)

    return make
