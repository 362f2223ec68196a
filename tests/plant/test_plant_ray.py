"""Replications on a Ray cluster give exactly the serial numbers (``plant simulate --ray local``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from plant_builders import simulate_cli

pytestmark = pytest.mark.ray


def _without_wall(doc: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in doc.items() if k != "wall_seconds"}


def test_ray_gives_the_serial_numbers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    serial = simulate_cli(capsys, tmp_path, "foxconn-houston", days=20, warmup_days=5, replications=3,
                          out_name="serial")  # fmt: skip
    try:
        remote = simulate_cli(capsys, tmp_path, "foxconn-houston", days=20, warmup_days=5, replications=3,
                              extra=("--ray", "local"), out_name="ray")  # fmt: skip
    finally:
        ray.shutdown()
    assert _without_wall(remote) == _without_wall(serial)
