"""The plant engine, compiled: used when it was built from the sources as they are, else the sources.

The discrete-event core of the plant twin (the event kernel, the engine, its state, releases, outages
and transport) is plain typed
Python. ``make install`` also compiles those modules with mypyc (``python -m aifactory.compiled``): the
same code, the same results, about 1.5 times as fast. The compiled modules sit beside their sources;
a record of the sources they were built from is written with them. At start-up
:func:`use_fresh_modules` compares that record with the sources and, if a source changed since (or
``AIFACTORY_PURE_PYTHON=1`` is set), has Python import the sources instead — a stale build can never
run. :func:`engine_build` says which is in use.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

COMPILED_MODULES = (
    "aifactory.sim.kernel",
    "aifactory.plant.runtime",
    "aifactory.plant.engine",
    "aifactory.plant.release",
    "aifactory.plant.outages",
    "aifactory.plant.transport",
)
PURE_ENV = "AIFACTORY_PURE_PYTHON"
SRC = Path(__file__).resolve().parent.parent
RECORD = Path(__file__).resolve().with_name("_compiled_sources.json")

_state = {"build": "pure Python (not compiled)"}


def source_path(module: str, root: Path = SRC) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def compiled_path(module: str, root: Path = SRC) -> Path | None:
    """The extension module built for ``module``, if there is one."""
    folder = source_path(module, root).parent
    stem = module.rsplit(".", 1)[1]
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.exists():
            return candidate
    return None


def digests(modules: Sequence[str] = COMPILED_MODULES, root: Path = SRC) -> dict[str, str]:
    """The sha256 of each module's source."""
    return {m: hashlib.sha256(source_path(m, root).read_bytes()).hexdigest() for m in modules}


def freshness(modules: Sequence[str] = COMPILED_MODULES, root: Path = SRC, record: Path = RECORD) -> str:
    """``compiled``, or why the sources are to be used: ``not compiled``, ``stale`` or ``forced``."""
    if os.environ.get(PURE_ENV) == "1":
        return "forced"
    if any(compiled_path(m, root) is None for m in modules):
        return "not compiled"
    try:
        built = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "stale"
    return "compiled" if built == digests(modules, root) else "stale"


class _Sources(importlib.abc.MetaPathFinder):
    """Imports the compiled modules from their sources."""

    def __init__(self, modules: Sequence[str], root: Path) -> None:
        self.modules = set(modules)
        self.root = root

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.modules:
            return None
        return importlib.util.spec_from_file_location(fullname, source_path(fullname, self.root))


def use_fresh_modules() -> str:
    """Decide between the compiled modules and their sources (before either is imported)."""
    state = freshness()
    if state == "compiled":
        _state["build"] = "compiled (mypyc)"
    elif state == "not compiled":
        _state["build"] = "pure Python (not compiled)"
    else:
        sys.meta_path.insert(0, _Sources(COMPILED_MODULES, SRC))
        why = f"{PURE_ENV}=1" if state == "forced" else "the compiled build is stale"
        _state["build"] = f"pure Python ({why})"
    return _state["build"]


def engine_build() -> str:
    """Which plant engine runs: compiled, or pure Python and why."""
    return _state["build"]


def build(root: Path = SRC) -> int:
    """Compile the modules with mypyc in place and record their sources; the exit code."""
    import shutil
    import subprocess

    files = [str(source_path(m, root).relative_to(root)) for m in COMPILED_MODULES]
    env = dict(os.environ, MYPYC_OPT_LEVEL=os.environ.get("MYPYC_OPT_LEVEL", "3"))
    done = subprocess.run([sys.executable, "-m", "mypyc", *files], cwd=root, env=env, check=False)
    shutil.rmtree(root / "build", ignore_errors=True)  # mypyc's C sources and objects
    if done.returncode != 0:
        return done.returncode
    RECORD.write_text(json.dumps(digests(COMPILED_MODULES, root), indent=2) + "\n", encoding="utf-8")
    return 0


def clean(root: Path = SRC) -> None:
    """Remove the compiled modules (the sources are used from then on)."""
    for m in COMPILED_MODULES:
        path = compiled_path(m, root)
        if path is not None:
            path.unlink()
    for shared in root.glob("*__mypyc*"):
        shared.unlink()
    RECORD.unlink(missing_ok=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["clean"]:
        clean()
        sys.exit(0)
    sys.exit(build())
