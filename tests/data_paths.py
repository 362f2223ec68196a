"""Where the shared data sets are, for tests that need them (they skip, saying why, without them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def philly_path() -> Path:
    """The Philly trace in ``AIFACTORY_DATA_DIR`` (the Makefile points it at ../shared/data), or skip."""
    root = os.environ.get("AIFACTORY_DATA_DIR")
    if not root:
        pytest.skip(
            "AIFACTORY_DATA_DIR is not set (make sets it; by hand: AIFACTORY_DATA_DIR=../shared/data)"
        )
    path = Path(root) / "traces" / "philly.csv"
    if not path.is_file():
        pytest.skip(f"Philly trace not found at {path}")
    return path
