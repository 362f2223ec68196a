"""Every example in docs/scenario.md, cli.md, scheduler.md, replay.md, planner.md and factory.md runs as
shown.

Conventions the docs follow (and this file enforces):

- A ```yaml block is a complete scenario: it must validate and simulate. A block whose first line is
  ``# fragment`` is a piece of one; it need only be YAML. A first line ``# file: NAME`` also writes the
  block to NAME in the working folder of that document's commands, so commands can refer to it.
- A ```csv block whose first line is ``# file: NAME`` is written to NAME the same way, without that
  line (a trace file for ``aifactory replay``). Other ```csv blocks are only shown.
- The ```python blocks of a document are one doctest session, run in order in the same working folder
  (names defined in one block carry over to the next): every ``>>>`` example must print what is shown,
  whitespace-normalised, ``...`` matching anything.
- In a ```console block every ``$ `` line is an ``aifactory`` command. A trailing ``# exits N`` says
  the command fails with exit code N. The lines after a command are its output: each one other than
  ``...`` must appear in what the command prints (whitespace-normalised, so terminal wrapping does not
  matter).
- Commands run in-process in a temporary folder with at most 64 Monte Carlo runs: a larger ``--runs``
  (and a simulating command without ``--runs``) runs with 16. ``aifactory run`` runs its AI factories
  for 2 runs of 14 days unless the command says otherwise (``--factory-runs``, ``--factory-days``).
"""

from __future__ import annotations

import doctest
import io
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from aifactory.cli.main import run_cli
from aifactory.scenario.loading import load_scenario
from aifactory.supply.montecarlo import run_monte_carlo

DOCS = Path(__file__).resolve().parents[2] / "docs"
DOC_NAMES = ("scenario.md", "cli.md", "scheduler.md", "replay.md", "planner.md", "factory.md")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
EXITS = re.compile(r"\s+#\s*exits\s+(\d+)\s*$")
FILE_LINE = re.compile(r"#\s*file:\s*(\S+)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
MAX_RUNS = 64
SMALL_RUNS = "16"
SIMULATING = (("run",), ("supply", "simulate"), ("plan",), ("compare",), ("factory", "simulate"))
FENCE_LANGUAGES = ("yaml", "console", "text", "json", "csv", "python")


@dataclass(frozen=True)
class Block:
    doc: str
    line: int  # line of the opening fence, 1-based
    lang: str
    text: str

    @property
    def first_line(self) -> str:
        return self.text.lstrip().split("\n", 1)[0].strip()

    @property
    def is_fragment(self) -> bool:
        return self.first_line == "# fragment"


@dataclass(frozen=True)
class Command:
    doc: str
    line: int
    text: str  # without the "$ " prompt and the "# exits N" comment
    exit_code: int
    output: tuple[str, ...]


def blocks(doc: str) -> list[Block]:
    text = (DOCS / doc).read_text(encoding="utf-8")
    return [
        Block(doc, text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2)) for m in FENCE.finditer(text)
    ]


def commands(block: Block) -> list[Command]:
    found: list[Command] = []
    lines = block.text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("$ "):
            continue
        output: list[str] = []
        for later in lines[i + 1 :]:
            if later.startswith("$ "):
                break
            if later.strip() and later.strip() != "...":
                output.append(later)
        cmd = line[2:]
        expected = EXITS.search(cmd)
        code = int(expected.group(1)) if expected else 0
        cmd = EXITS.sub("", cmd)
        found.append(Command(block.doc, block.line + 1 + i, cmd, code, tuple(output)))
    return found


def doc_files(doc: str) -> dict[str, str]:
    """The doc's YAML, CSV and JSON-lines blocks marked ``# file: NAME`` (a CSV or JSON-lines file
    without its marker line)."""
    out: dict[str, str] = {}
    for b in blocks(doc):
        if b.lang in ("yaml", "csv", "jsonl"):
            named = FILE_LINE.fullmatch(b.first_line)
            if named:
                text = b.text if b.lang == "yaml" else b.text.lstrip().split("\n", 1)[1]
                out[named.group(1)] = text
    return out


def write_doc_files(doc: str, folder: Path) -> None:
    for name, text in doc_files(doc).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


ALL_BLOCKS = [b for doc in DOC_NAMES for b in blocks(doc)]
YAML_BLOCKS = [b for b in ALL_BLOCKS if b.lang == "yaml"]
COMMANDS = [c for b in ALL_BLOCKS if b.lang == "console" for c in commands(b)]
PYTHON_DOCS = [doc for doc in DOC_NAMES if any(b.lang == "python" for b in blocks(doc))]


def _id(x: Block | Command) -> str:
    return f"{x.doc}:{x.line}"


def small_runs(args: list[str]) -> list[str]:
    """``args`` with at most MAX_RUNS runs; simulating commands get SMALL_RUNS when they name none."""
    out = list(args)
    named = False
    for i, arg in enumerate(out[:-1]):
        if arg in ("--runs", "-n"):
            named = True
            if int(out[i + 1]) > MAX_RUNS:
                out[i + 1] = SMALL_RUNS
    if not named and any(tuple(out[: len(p)]) == p for p in SIMULATING):
        out += ["--runs", SMALL_RUNS]
    if out[:1] == ["run"]:
        for option, value in (("--factory-runs", "2"), ("--factory-days", "14")):
            if option not in out:
                out += [option, value]
    return out


def normalise(text: str) -> str:
    return " ".join(ANSI.sub("", text).split())


# ------------------------------------------------------------------------------------------ the docs


def test_the_docs_have_examples() -> None:
    for doc in DOC_NAMES:
        langs = [b.lang for b in blocks(doc)]
        assert "console" in langs, doc
    assert any(not b.is_fragment for b in YAML_BLOCKS)
    assert COMMANDS


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=_id)
def test_blocks_follow_the_conventions(block: Block) -> None:
    assert block.lang in FENCE_LANGUAGES, f"fence language {block.lang!r}"
    if block.lang == "console":
        for line in block.text.splitlines():
            if line.startswith("$ "):
                assert line.startswith("$ aifactory "), f"only aifactory commands run: {line}"
    if block.lang == "python":
        assert ">>> " in block.text, "a python block is a doctest: it needs >>> examples"


# ----------------------------------------------------------------------------------------- scenarios


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=_id)
def test_yaml_example_is_a_valid_scenario(block: Block, tmp_path: Path) -> None:
    if block.is_fragment:
        assert isinstance(yaml.safe_load(block.text), dict), "a fragment must still be a YAML mapping"
        return
    path = tmp_path / "example.yaml"
    path.write_text(block.text, encoding="utf-8")
    scenario = load_scenario(str(path))
    mc = run_monte_carlo(scenario, runs=8, seed=0)
    summary = mc.summary()
    assert summary["runs"] == 8
    assert set(summary["stages"]) == set(scenario.stages)


# ------------------------------------------------------------------------------------------ commands


def run_command(
    command: Command,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *,
    limit_runs: bool = True,
) -> None:
    """Run one documented command in ``tmp_path`` (with its document's files) and check it exits and
    prints as shown."""
    write_doc_files(command.doc, tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AIFACTORY_DEBUG", raising=False)
    argv = shlex.split(command.text)
    assert argv[0] == "aifactory"
    monkeypatch.setattr(sys, "argv", argv)  # the program name in usage messages
    # ... as click finds it: under `python -m pytest` it would be "python -m pytest.aifactory" (click
    # reads __main__.__package__), not "aifactory" as from the installed command.
    monkeypatch.setattr(sys.modules["__main__"], "__package__", None, raising=False)
    capsys.readouterr()
    try:
        run_cli(small_runs(argv[1:]) if limit_runs else argv[1:])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    printed = normalise(out + "\n" + err)
    assert code == command.exit_code, f"{command.text}\nexit {code}\n{out}{err}"
    for line in command.output:
        assert normalise(line) in printed, f"{command.text}\nexpected: {line}\nprinted: {out}{err}"


@pytest.mark.parametrize("command", COMMANDS, ids=_id)
def test_console_example_runs(
    command: Command, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_command(command, tmp_path, monkeypatch, capsys)


# ------------------------------------------------------------------------------------------- doctests


@pytest.mark.parametrize("doc", PYTHON_DOCS)
def test_python_examples_print_what_is_shown(
    doc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_doc_files(doc, tmp_path)
    monkeypatch.chdir(tmp_path)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    globs: dict[str, object] = {"__name__": f"docs.{doc}"}
    report = io.StringIO()
    for block in (b for b in blocks(doc) if b.lang == "python"):
        test = parser.get_doctest(block.text, globs, f"{doc}:{block.line}", str(DOCS / doc), block.line)
        runner.run(test, out=report.write, clear_globs=False)
        globs = test.globs  # the next block goes on from here (DocTest works on a copy)
    results = runner.summarize(verbose=False)
    assert results.attempted > 0, doc
    assert results.failed == 0, report.getvalue()
