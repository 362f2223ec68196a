"""The structure rules the lint step enforces, checked to bite: a wall-clock or file call in a pure-core
module is a lint error, the same code in a shell is not; no module imports another in a cycle."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = """\
import time
from datetime import datetime
from pathlib import Path

started = time.perf_counter()
today = datetime.now()
text = open("data.csv").read()
where = Path("data.csv")
"""
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")


def _lint(as_file: str) -> set[str]:
    """The rule codes ruff reports for the probe as if it were ``as_file``."""
    assert RUFF is not None
    done = subprocess.run(
        [RUFF, "check", "--quiet", "--output-format", "concise", "--stdin-filename", as_file, "-"],
        input=PROBE, capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    return {line.split()[1] for line in done.stdout.splitlines() if line.strip()}


@pytest.mark.skipif(RUFF is None, reason="ruff is not installed")
@pytest.mark.parametrize(
    "module",
    ["cluster/probe.py", "scheduler/probe.py", "fab/probe.py", "plant/probe.py", "sim/probe.py",
     "market/probe.py", "supply/probe.py", "replay/runner.py", "scenario/model.py"],
)  # fmt: skip
def test_the_pure_core_may_not_read_the_clock_or_files(module: str) -> None:
    codes = _lint(f"src/aifactory/{module}")
    assert {"TID251", "PTH123"} <= codes


@pytest.mark.skipif(RUFF is None, reason="ruff is not installed")
@pytest.mark.parametrize(
    "module", ["cli/probe.py", "service/probe.py", "report/probe.py", "replay/trace_read.py", "fab/reader.py"]
)
def test_shells_and_named_loaders_may(module: str) -> None:
    assert not {"TID251", "PTH123"} & _lint(f"src/aifactory/{module}")


def test_no_import_cycles() -> None:
    """Tarjan's strongly connected components over the package's import graph (imports under
    ``TYPE_CHECKING`` excluded, as the import-linter contracts do): every component is one module."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("aifactory", exclude_type_checking_imports=True, cache_dir=None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(start: str) -> None:  # iterative, so deep import chains do not hit the recursion limit
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    assert cycles == []


def test_routes_have_no_dialect_branches_or_row_locks() -> None:
    """Queries that differ by database, and row locks, live in the service's store layer only."""
    routes = ROOT / "src" / "aifactory" / "service" / "api"
    found = [
        f"{path.name}:{n}"
        for path in sorted(routes.glob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "dialect" in line or "with_for_update" in line
    ]
    assert found == []
