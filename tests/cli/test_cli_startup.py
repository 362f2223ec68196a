"""The CLI starts without loading what only some commands need: the entry point's import graph is
guarded, so a module-level import of a heavy library in a command module fails here, not in a user's
wait (``aifactory --help`` went from 0.61–0.68 s to 0.21 s when numpy and the scenario loader left it)."""

from __future__ import annotations

import json
import subprocess
import sys

LOADED_ONLY_WHEN_USED = (
    "fastapi", "sqlalchemy", "uvicorn", "httpx", "ray", "scipy", "numba", "plotly", "pyarrow", "optuna",
    "paho", "http.server", "simpy", "numpy", "pydantic", "yaml", "aifactory.scenario.loading",
)  # fmt: skip


def test_the_entry_point_imports_no_heavy_library() -> None:
    code = (
        "import json, sys; import aifactory.cli.main; "
        f"print(json.dumps([m for m in {list(LOADED_ONLY_WHEN_USED)!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(result.stdout) == []
