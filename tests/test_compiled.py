"""The compiled plant engine is used only when it was built from the sources as they are, and gives the
same numbers as the sources."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aifactory import compiled

MODULES = ("pkg.a", "pkg.b")


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "pkg").mkdir()
    for m in MODULES:
        compiled.source_path(m, tmp_path).write_text(f"X = {m!r}\n", encoding="utf-8")
    record = tmp_path / "record.json"
    return tmp_path, record


def _build(root: Path, record: Path) -> None:
    for m in MODULES:
        src = compiled.source_path(m, root)
        src.with_name(src.stem + compiled.importlib.machinery.EXTENSION_SUFFIXES[0]).write_bytes(b"")
    record.write_text(json.dumps(compiled.digests(MODULES, root)), encoding="utf-8")


def test_a_build_of_the_sources_as_they_are_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(compiled.PURE_ENV, raising=False)
    root, record = _tree(tmp_path)
    assert compiled.freshness(MODULES, root, record) == "not compiled"
    _build(root, record)
    assert compiled.freshness(MODULES, root, record) == "compiled"


def test_a_changed_source_makes_the_build_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(compiled.PURE_ENV, raising=False)
    root, record = _tree(tmp_path)
    _build(root, record)
    compiled.source_path("pkg.b", root).write_text("X = 'changed'\n", encoding="utf-8")
    assert compiled.freshness(MODULES, root, record) == "stale"
    record.unlink()
    assert compiled.freshness(MODULES, root, record) == "stale"


def test_the_sources_can_be_forced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, record = _tree(tmp_path)
    _build(root, record)
    monkeypatch.setenv(compiled.PURE_ENV, "1")
    assert compiled.freshness(MODULES, root, record) == "forced"


def test_when_the_sources_are_to_be_used_they_are_imported(tmp_path: Path) -> None:
    """``import aifactory`` decides (``use_fresh_modules``); with the sources forced — the path a stale
    build also takes — every compiled module comes from its ``.py`` file, and other modules (imported
    after that decision: ``colorsys`` from the standard library) as usual."""
    probe = (
        "import json, sys, aifactory.compiled as c, aifactory.plant.engine, colorsys;"
        "print(json.dumps([c.engine_build(), colorsys.__file__]"
        " + [sys.modules[m].__file__ for m in c.COMPILED_MODULES]))"
    )
    env = {**os.environ, compiled.PURE_ENV: "1"}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
    )
    build, colorsys_file, *files = json.loads(done.stdout)
    assert build == f"pure Python ({compiled.PURE_ENV}=1)"
    assert files == [str(compiled.source_path(m)) for m in compiled.COMPILED_MODULES]
    assert Path(colorsys_file).name == "colorsys.py" and not Path(colorsys_file).is_relative_to(compiled.SRC)


def _kpis(env: dict[str, str], out: Path) -> dict[str, object]:
    subprocess.run(
        [sys.executable, "-m", "aifactory", "plant", "simulate", "foxconn-houston", "--days", "20",
         "--warmup-days", "5", "--out", str(out), "--no-html", "--no-records", "-q"],
        env=env, check=True,
    )  # fmt: skip
    doc = json.loads((out / "kpis.json").read_text(encoding="utf-8"))
    doc.pop("wall_seconds")
    return doc


def test_the_compiled_engine_gives_the_numbers_of_the_sources(tmp_path: Path) -> None:
    if compiled.freshness() != "compiled":
        pytest.skip(f"the plant engine is not compiled here ({compiled.engine_build()})")
    env = {k: v for k, v in os.environ.items() if k != compiled.PURE_ENV}
    fast = _kpis(env, tmp_path / "compiled")
    pure = _kpis(env | {compiled.PURE_ENV: "1"}, tmp_path / "pure")
    assert fast == pure
