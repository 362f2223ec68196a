"""Every ``aifactory`` command that reads input, against a table of bad inputs: each must exit 2 with
exactly one non-empty line on stderr and no traceback (exit 1 is for internal errors only).

The commands come from ``aifactory --help`` and each group's ``--help``; the inputs are files (missing, a
folder, empty, binary, malformed, nested too deeply, an alias bomb, NaN or infinity in a numeric field),
``--set`` values and option values (a negative seed, NaN, infinity, a huge number, an unknown name).
Most cases run in-process (:mod:`cli_invoke`); a handful run as real subprocesses. The client commands
(``jobs``, ``alloc``, ``market``) are given only arguments they check before calling a server; checks
only the server makes (``--gpus 0``, ``--kind bogus``) are left to ``tests/service``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from aifactory.plant.loading import bundled_plant_text
from aifactory.scenario.loading import bundled_text
from cli_invoke import invoke
from fab.fab_files import BASE_FILES, write_files

TRACE_HEADER = "job_id,submit_time,num_gpus,duration,tenant\n"
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)  # nine levels of nine aliases: 387 million strings once expanded
HUGE = "99999999999999999999"


def one_line(stderr: str) -> str:
    """The single non-empty line of ``stderr`` (no traceback)."""
    assert "Traceback" not in stderr
    lines = stderr.strip("\n").splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].strip()
    return lines[0]


def _set(data: dict[str, object], path: str, value: object) -> dict[str, object]:
    node: dict[str, object] = data
    *parents, last = path.split(".")
    for key in parents:
        child = node[key]
        assert isinstance(child, dict)
        node = child
    node[last] = value
    return data


def _scenario_with(path: str, value: object) -> str:
    return yaml.safe_dump(_set(yaml.safe_load(bundled_text("serial-line")), path, value))


def _plant_with(path: str, value: object) -> str:
    return yaml.safe_dump(_set(yaml.safe_load(bundled_plant_text("foxconn-houston")), path, value))


def _tsv_with(text: str, column: str, value: str) -> str:
    """A tab-separated file with ``column`` of its first data row replaced by ``value``."""
    lines = text.split("\n")
    header = lines[0].split("\t")
    cells = lines[1].split("\t")
    cells[header.index(column)] = value
    lines[1] = "\t".join(cells)
    return "\n".join(lines)


# name → file content (None: not written; "/": a folder), for YAML inputs of any kind
YAML_FILES: dict[str, str | bytes | None] = {
    "missing.yaml": None,
    "folder.yaml": "/",
    "empty.yaml": "",
    "binary.yaml": bytes(range(256)) * 4,
    "malformed.yaml": "format: aifactory/v1\nname: [unclosed\n",
    "deep-list.yaml": "[" * 1_000_000,
    "deep-mapping.yaml": "".join("  " * i + f"k{i}:\n" for i in range(500)),
    "alias-bomb.yaml": BOMB,
    "self-alias.yaml": "a: &a [*a]\n",
}
SCENARIO_FILES: dict[str, str] = {
    "capacity-nan.yaml": _scenario_with("stages.fab.capacity", float("nan")),
    "capacity-inf.yaml": _scenario_with("stages.fab.capacity", float("inf")),
    "capacity-1e400.yaml": _scenario_with("stages.fab.capacity", "1e400"),
    "sigma-nan.yaml": _scenario_with(
        "stages.fab.cycle_time_days", {"dist": "lognormal", "median": 90, "sigma": float("nan")}
    ),
    "sigma-inf.yaml": _scenario_with(
        "stages.fab.cycle_time_days", {"dist": "lognormal", "median": 90, "sigma": float("inf")}
    ),
}
PLANT_FILES: dict[str, str] = {
    "servers-nan.yaml": _plant_with("stations.kitting.servers", float("nan")),
    "servers-inf.yaml": _plant_with("stations.kitting.servers", float("inf")),
}
TRACES: dict[str, str | bytes | None] = {
    "missing.csv": None,
    "folder.csv": "/",
    "empty.csv": "",
    "binary.csv": bytes(range(256)) * 4,
    "header-only.csv": TRACE_HEADER,
    "gpus-nan.csv": TRACE_HEADER + "j1,0,nan,10,a\n",
    "submit-inf.csv": TRACE_HEADER + "j1,inf,4,10,a\n",
    "duration-1e400.csv": TRACE_HEADER + "j1,0,4,1e400,a\nj2,1,4,-Infinity,a\n",
    "binary.parquet": b"PAR1" + bytes(range(256)) * 4,
}
FAB_CHANGES: dict[str, tuple[str, str, str] | None] = {
    "fab-ptime-nan": ("route_A.txt", "PTIME", "nan"),
    "fab-ptime-inf": ("route_A.txt", "PTIME", "inf"),
    "fab-pieces-1e400": ("order.txt", "PIECES", "1e400"),
    "fab-quantity-nan": ("tool.txt.1l", "STNQTY", "nan"),
    "fab-empty-folder": None,
}


@pytest.fixture(scope="module")
def where(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], str]:
    """``where(name)``: the path of a bad input written once for the module (or a fresh output folder)."""
    root = tmp_path_factory.mktemp("bad-inputs")
    for name, content in {**YAML_FILES, **SCENARIO_FILES, **PLANT_FILES, **TRACES}.items():
        path = root / name
        if content == "/":
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            path.write_text(content, encoding="utf-8")
    (root / "ok.csv").write_text(TRACE_HEADER + "j1,0,4,10,a\n", encoding="utf-8")
    nan = float("nan")
    pq.write_table(
        pa.table({"job_id": ["j1", "j2"], "submit_time": [0.0, nan], "num_gpus": [nan, 4.0],
                  "duration": [10.0, 10.0], "tenant": ["a", "a"]}),
        root / "nan.parquet",
    )  # fmt: skip
    write_files(root / "fab-ok", BASE_FILES)
    for name, change in FAB_CHANGES.items():
        file, column, value = change or ("", "", "")
        write_files(
            root / name, {**BASE_FILES, file: _tsv_with(BASE_FILES[file], column, value)} if file else {}
        )
    write_files(root / "fab-binary", BASE_FILES)
    (root / "fab-binary" / "route_A.txt").write_bytes(bytes(range(256)) * 4)
    outputs = iter(range(1_000_000))
    return lambda name: str(root / f"out-{next(outputs)}") if name == "{out}" else str(root / name)


def run_case(capsys: pytest.CaptureFixture[str], where: Callable[[str], str], args: list[str]) -> str:
    """Run ``args`` in-process (``{out}`` → a fresh folder, ``@name`` → that bad input); the error line."""
    argv = [where(a[1:]) if a.startswith("@") else where(a) if a == "{out}" else a for a in args]
    code, _, stderr = invoke(capsys, *argv)
    assert code == 2, stderr
    return one_line(stderr)


def _filled(template: list[str], value: str) -> list[str]:
    return [a.replace("{in}", value) for a in template]


# ---------------------------------------------------------------------------------- YAML files

SCENARIO_COMMANDS = {
    "scenario validate": ["scenario", "validate", "{in}"],
    "scenario show": ["scenario", "show", "{in}"],
    "supply simulate": ["supply", "simulate", "{in}", "--runs", "4", "--out", "{out}"],
    "run": ["run", "{in}", "--runs", "4", "--out", "{out}"],
    "factory simulate": ["factory", "simulate", "{in}", "--runs", "1", "--days", "1", "--out", "{out}"],
    "replay --scenario": ["replay", "@ok.csv", "--scenario", "{in}", "--factory", "taiwan-ai-factory",
                          "--out", "{out}"],
    "plant calibrate --scenario": ["plant", "calibrate", "foxconn-houston", "--scenario", "{in}", "--days",
                                   "1", "--out", "{out}"],
    "fab calibrate --scenario": ["fab", "calibrate", "@fab-ok", "--scenario", "{in}", "--days", "1",
                                 "--out", "{out}"],
}  # fmt: skip
PLANT_COMMANDS = {
    "plant validate": ["plant", "validate", "{in}"],
    "plant show": ["plant", "show", "{in}"],
    "plant simulate": ["plant", "simulate", "{in}", "--days", "1", "--out", "{out}"],
    "plant calibrate": ["plant", "calibrate", "{in}", "--days", "1", "--out", "{out}"],
    "run --plant": ["run", "serial-line", "--plant", "integrate={in}", "--runs", "4", "--out", "{out}"],
}
# what the error line must say, by input
YAML_WORDS = {
    "missing.yaml": "no such file",
    "folder.yaml": "is a folder, not a file",
    "empty.yaml": "must be a YAML mapping",
    "binary.yaml": "not UTF-8 text",
    "malformed.yaml": "malformed YAML",
    "deep-list.yaml": "nested deeper than 64 levels",
    "deep-mapping.yaml": "nested deeper than 64 levels",
    "alias-bomb.yaml": "more than 1,000,000 values",
    "self-alias.yaml": "an alias refers to a collection that holds it",
    "capacity-nan.yaml": "stages.fab.capacity: Input should be a finite number",
    "capacity-inf.yaml": "stages.fab.capacity: Input should be a finite number",
    "capacity-1e400.yaml": "stages.fab.capacity: Input should be a finite number",
    "sigma-nan.yaml": "stages.fab.cycle_time_days.sigma: Input should be a finite number",
    "sigma-inf.yaml": "stages.fab.cycle_time_days.sigma: Input should be a finite number",
    "servers-nan.yaml": "stations.kitting.servers: Input should be a finite number",
    "servers-inf.yaml": "stations.kitting.servers: Input should be a finite number",
}


@pytest.mark.parametrize("name", [*YAML_FILES, *SCENARIO_FILES])
@pytest.mark.parametrize("command", SCENARIO_COMMANDS)
def test_bad_scenario_files(
    capsys: pytest.CaptureFixture[str], where: Callable[[str], str], command: str, name: str
) -> None:
    line = run_case(capsys, where, _filled(SCENARIO_COMMANDS[command], where(name)))
    assert line.startswith(f"error: {where(name)}") and YAML_WORDS[name] in line


@pytest.mark.parametrize("name", [*YAML_FILES, *PLANT_FILES])
@pytest.mark.parametrize("command", PLANT_COMMANDS)
def test_bad_plant_files(
    capsys: pytest.CaptureFixture[str], where: Callable[[str], str], command: str, name: str
) -> None:
    line = run_case(capsys, where, _filled(PLANT_COMMANDS[command], where(name)))
    assert line.startswith(f"error: {where(name)}") and YAML_WORDS[name] in line


# ------------------------------------------------------------------------------------- --set

SCENARIO_SETS = {
    "stages.fab-tw.capacity=.nan": "stages.fab-tw.capacity: Input should be a finite number",
    "stages.fab-tw.capacity=inf": "stages.fab-tw.capacity: Input should be a finite number",
    "stages.fab-tw.capacity=1e400": "stages.fab-tw.capacity: Input should be a finite number",
    "stages.fab-tw.capacity=-.inf": "stages.fab-tw.capacity: Input should be a finite number",
    "stages.fab-tw.cycle_time_days={dist: lognormal, median: 9, sigma: .nan}": "sigma: Input should be",
    "stages.fab-tw.cycle_time_days={dist: lognormal, median: 9, sigma: .inf}": "sigma: Input should be",
    "stages.fab-tw.capacity=" + "[" * 100_000: "VALUE: nested deeper than 64 levels",
    "stages.fab-tw.capacity=&a [*a]": "VALUE: an alias refers to a collection that holds it",
    "horizon_days=" + HUGE: "horizon_days: Input should be less than or equal to",
    "stages.nosuch.capacity=1": "stages.nosuch: no such field",
    "no-equals-sign": "expected PATH=VALUE",
}
SET_COMMANDS = {
    "scenario validate": ["scenario", "validate", "nvidia-2025"],
    "scenario show": ["scenario", "show", "nvidia-2025"],
    "supply simulate": ["supply", "simulate", "nvidia-2025", "--runs", "4", "--out", "{out}"],
    "run": ["run", "nvidia-2025", "--runs", "4", "--out", "{out}"],
    "factory simulate": ["factory", "simulate", "nvidia-2025", "--runs", "1", "--days", "1",
                         "--out", "{out}"],
    "replay --scenario": ["replay", "@ok.csv", "--scenario", "nvidia-2025", "--factory", "taiwan-ai-factory",
                          "--out", "{out}"],
}  # fmt: skip
PLANT_SETS = {
    "stations.kitting.servers=.nan": "stations.kitting.servers: Input should be a finite number",
    "stations.kitting.servers=inf": "stations.kitting.servers: Input should be a valid integer",
    "stations.kitting.servers=1e400": "stations.kitting.servers: Input should be a valid integer",
    "stations.kitting.servers=-1": "stations.kitting.servers: ",
    "stations.kitting.servers=" + "{a: " * 1000: "VALUE: nested deeper than 64 levels",
}
PLANT_SET_COMMANDS = {
    "plant validate": ["plant", "validate", "foxconn-houston"],
    "plant show": ["plant", "show", "foxconn-houston"],
    "plant simulate": ["plant", "simulate", "foxconn-houston", "--days", "1", "--out", "{out}"],
    "plant calibrate": ["plant", "calibrate", "foxconn-houston", "--days", "1", "--out", "{out}"],
}


@pytest.mark.parametrize("assignment", SCENARIO_SETS, ids=lambda a: a[:40])
@pytest.mark.parametrize("command", SET_COMMANDS)
def test_bad_scenario_overrides(
    capsys: pytest.CaptureFixture[str], where: Callable[[str], str], command: str, assignment: str
) -> None:
    line = run_case(capsys, where, [*SET_COMMANDS[command], "--set", assignment])
    assert line.startswith("error: nvidia-2025: ") and SCENARIO_SETS[assignment] in line


@pytest.mark.parametrize("assignment", PLANT_SETS, ids=lambda a: a[:40])
@pytest.mark.parametrize("command", PLANT_SET_COMMANDS)
def test_bad_plant_overrides(
    capsys: pytest.CaptureFixture[str], where: Callable[[str], str], command: str, assignment: str
) -> None:
    line = run_case(capsys, where, [*PLANT_SET_COMMANDS[command], "--set", assignment])
    assert PLANT_SETS[assignment] in line


# ---------------------------------------------------------------------------- traces and fab data

TRACE_WORDS = {
    "missing.csv": "no such file",
    "folder.csv": "not a file",
    "empty.csv": "empty file",
    "binary.csv": "UTF-8",
    "header-only.csv": "no job to replay (the file has no data rows)",
    "gpus-nan.csv": "skipped (1 in all; first: row 1 (j1): num_gpus: not a finite number: 'nan')",
    "submit-inf.csv": "first: row 1 (j1): submit_time: not a finite number: 'inf'",
    "duration-1e400.csv": "2 in all; first: row 1 (j1): duration: not a finite number: '1e400'",
    "binary.parquet": "Parquet",
    "nan.parquet": "first: row 1 (j1): num_gpus: not a finite number: 'nan'",
}


@pytest.mark.parametrize("name", TRACE_WORDS)
def test_bad_traces(capsys: pytest.CaptureFixture[str], where: Callable[[str], str], name: str) -> None:
    line = run_case(capsys, where, ["replay", f"@{name}", "--racks", "1", "--out", "{out}", "--quiet"])
    assert TRACE_WORDS[name] in line


FAB_WORDS = {
    "fab-ptime-nan": "route_A.txt line 2: PTIME 'nan' is not a finite number",
    "fab-ptime-inf": "route_A.txt line 2: PTIME 'inf' is not a finite number",
    "fab-pieces-1e400": "order.txt line 2: PIECES '1e400' is not a finite number",
    "fab-quantity-nan": "tool.txt.1l line 2: STNQTY 'nan' is not a finite number",
    "fab-empty-folder": "required file is missing",
    "fab-binary": "route_A.txt line 1: column ROUTE is missing",
    "no-such-folder": "not a folder",
    "ok.csv": "not a folder",
}


@pytest.mark.parametrize("name", FAB_WORDS)
@pytest.mark.parametrize("command", ["simulate", "validate", "calibrate"])
def test_bad_fab_data_sets(
    capsys: pytest.CaptureFixture[str], where: Callable[[str], str], command: str, name: str
) -> None:
    line = run_case(capsys, where, ["fab", command, f"@{name}", "--days", "1", "--out", "{out}"])
    assert FAB_WORDS[name] in line


# ------------------------------------------------------------------------------------ options

SEEDED = {
    "run": ["run", "serial-line", "--runs", "4", "--out", "{out}"],
    "supply simulate": ["supply", "simulate", "serial-line", "--runs", "4", "--out", "{out}"],
    "replay": ["replay", "@ok.csv", "--racks", "1", "--out", "{out}"],
    "plant simulate": ["plant", "simulate", "foxconn-houston", "--days", "1", "--out", "{out}"],
    "plant calibrate": ["plant", "calibrate", "foxconn-houston", "--days", "1", "--out", "{out}"],
    "fab simulate": ["fab", "simulate", "@fab-ok", "--days", "1", "--out", "{out}"],
    "fab validate": ["fab", "validate", "@fab-ok", "--days", "1", "--out", "{out}"],
    "fab calibrate": ["fab", "calibrate", "@fab-ok", "--days", "1", "--out", "{out}"],
}
OPTIONS: list[tuple[str, list[str], str]] = [
    *[(f"{c} --seed -1", [*args, "--seed", "-1"], "--seed") for c, args in SEEDED.items()],
    *[
        (f"{c} --workers huge", [*args, "--workers", HUGE], "--workers")
        for c, args in SEEDED.items()
        if c != "replay"
    ],
    *[
        (f"{c} --days {v}", [*SEEDED[c], "--days", v], "--days")
        for c in ("plant simulate", "plant calibrate", "fab simulate", "fab validate", "fab calibrate")
        for v in ("nan", "inf", "-1", "1e400")
    ],
    *[
        (f"{c} --warmup-days nan", [*SEEDED[c], "--warmup-days", "nan"], "--warmup-days")
        for c in ("plant simulate", "fab simulate")
    ],
    ("run --runs huge", [*SEEDED["run"], "--runs", HUGE], "--runs"),
    ("run --factory-days inf", [*SEEDED["run"], "--factory-days", "inf"], "--factory-days"),
    ("run --plant-days nan", [*SEEDED["run"], "--plant-days", "nan"], "--plant-days"),
    ("run --plant-days inf", [*SEEDED["run"], "--plant-days", "inf"], "--plant-days"),
    ("run --plant no-equals", [*SEEDED["run"], "--plant", "integrate"], "--plant"),
    ("run --plant unknown stage", [*SEEDED["run"], "--plant", "nosuch=foxconn-houston"], "nosuch"),
    ("supply simulate --runs huge", [*SEEDED["supply simulate"], "--runs", HUGE], "--runs"),
    ("supply simulate --runs -1", [*SEEDED["supply simulate"], "--runs", "-1"], "--runs"),
    ("supply simulate --bucket-days huge", [*SEEDED["supply simulate"], "--bucket-days", HUGE], "--bucket"),
    *[
        (f"replay {o} {v}", [*SEEDED["replay"], o, v], o)
        for o in (
            "--time-scale",
            "--scale-gpus",
            "--starvation-hours",
            "--tray-mtbf-hours",
            "--tray-repair-hours",
            "--checkpoint-minutes",
        )
        for v in ("nan", "inf")
    ],
    ("replay --racks huge", [*SEEDED["replay"], "--racks", HUGE], "--racks"),
    ("replay --racks -1", [*SEEDED["replay"], "--racks", "-1"], "--racks"),
    ("replay --shares nan", [*SEEDED["replay"], "--shares", "a=nan"], "--shares"),
    ("replay --budgets inf", [*SEEDED["replay"], "--budgets", "a=inf"], "--budgets"),
    ("replay --policy unknown", [*SEEDED["replay"], "--policy", "nosuch"], "--policy"),
    ("replay --format unknown", [*SEEDED["replay"], "--format", "nosuch"], "nosuch"),
    (
        "replay --factory unknown",
        ["replay", "@ok.csv", "--scenario", "nvidia-2025", "--factory", "nosuch", "--out", "{out}"],
        "nosuch",
    ),
    ("replay no trace", ["replay", "--out", "{out}"], "TRACE"),
    ("fab simulate --rule unknown", [*SEEDED["fab simulate"], "--rule", "nosuch"], "nosuch"),
    ("fab simulate --replications huge", [*SEEDED["fab simulate"], "--replications", HUGE], "--replications"),
    ("fab calibrate --dist unknown", [*SEEDED["fab calibrate"], "--dist", "nosuch"], "nosuch"),
    ("fab calibrate --spread unknown", [*SEEDED["fab calibrate"], "--spread", "nosuch"], "nosuch"),
    (
        "fab calibrate --stage unknown",
        [*SEEDED["fab calibrate"], "--scenario", "serial-line", "--stage", "nosuch"],
        "nosuch",
    ),
    ("plant calibrate --dist unknown", [*SEEDED["plant calibrate"], "--dist", "nosuch"], "nosuch"),
    (
        "plant calibrate --capacity-mode unknown",
        [*SEEDED["plant calibrate"], "--capacity-mode", "nosuch"],
        "nosuch",
    ),
    (
        "plant calibrate --stage unknown",
        [*SEEDED["plant calibrate"], "--scenario", "serial-line", "--stage", "nosuch"],
        "nosuch",
    ),
    (
        "plant simulate --replications huge",
        [*SEEDED["plant simulate"], "--replications", HUGE],
        "--replications",
    ),
    ("run --plant-replications huge", [*SEEDED["run"], "--plant-replications", HUGE], "--plant-replications"),
    ("plant calibrate --wip-limit huge", [*SEEDED["plant calibrate"], "--wip-limit", HUGE], "--wip-limit"),
    ("replay --rack-gpus huge", [*SEEDED["replay"], "--rack-gpus", HUGE], "rack"),
    ("replay --schedulable-trays huge", [*SEEDED["replay"], "--schedulable-trays", HUGE], "trays"),
    ("run --out under a file", ["run", "serial-line", "--out", "@ok.csv/out"], "is not a folder"),
]


@pytest.mark.parametrize(("args", "words"), [(a, w) for _, a, w in OPTIONS], ids=[i for i, _, _ in OPTIONS])
def test_bad_options(
    capsys: pytest.CaptureFixture[str], where: Callable[[str], str], args: list[str], words: str
) -> None:
    assert words in run_case(capsys, where, args)


# --------------------------------------------------------------------- service client and database

URL = ["--url", "http://127.0.0.1:9", "--token", "aif_not-a-token"]  # nothing listens: never reached
CLIENT: list[tuple[list[str], str]] = [
    (["alloc", "request", "--gpu-hours", "nan", "--start", "now", "--end", "+1d", *URL], "--gpu-hours"),
    (["alloc", "request", "--gpu-hours", "inf", "--start", "now", "--end", "+1d", *URL], "--gpu-hours"),
    (["alloc", "request", "--gpu-hours", "5", "--start", "now", "--end", f"+{HUGE}d", *URL], "--end"),
    (["alloc", "request", "--gpu-hours", "5", "--start", "soon", "--end", "+1d", *URL], "--start"),
    (["alloc", "request", "--gpu-hours", "5", "--start", "now", *URL], "--end"),
    (["alloc", "review", "1", "amend", "--gpu-hours", "nan", *URL], "--gpu-hours"),
    (["alloc", "review", "1", "maybe", *URL], "decision"),
    (["alloc", "show", "one", *URL], "allocation_id"),
    (["market", "offers", "--max-price", "nan", *URL], "--max-price"),
    (["market", "offers", "--max-price", "-inf", *URL], "--max-price"),
    (["market", "book", "1", "--units", "-1", *URL], "--units"),
    (["market", "book", "1", "--end", f"+{HUGE}d", *URL], "--end"),
    (["market", "book", "1", "--start", "soon", *URL], "--start"),
    (["market", "cancel", "one", *URL], "reservation_id"),
    (["jobs", "submit", "--time", "soon", *URL, "--", "echo"], "--time"),
    (["jobs", "submit", "--duration", "nan", "--executor", "simulated", *URL, "--", "echo"], "--duration"),
    (["jobs", "submit", "--priority", "nan", *URL, "--", "echo"], "--priority"),
    (["jobs", "submit", *URL], "command"),
    (["jobs", "list", "--limit", "-1", *URL], "--limit"),
    (["jobs", "logs", "j-1", "--tail", "-1", *URL], "--tail"),
    (["jobs", "logs", "j-1", "--interval", "nan", *URL], "--interval"),
    (["jobs", "list", "--url", "ftp://x", "--token", "aif_x"], "--url"),
    (["db", "upgrade", "--database-url", "bogus://x"], "--database-url"),
    (["db", "upgrade", "--database-url", "not a url"], "--database-url"),
    (["db", "upgrade", "--database-url", "sqlite:////no/such/folder/x.db"], "--database-url"),
    (["bootstrap", "--database-url", "bogus://x"], "--database-url"),
    (["worker", "--once", "--database-url", "bogus://x"], "--database-url"),
    (["worker", "--once", "--interval", "nan", "--database-url", "bogus://x"], "--interval"),
    (["serve", "--database-url", "bogus://x"], "--database-url"),
    (["serve", "--port", "70000"], "--port"),
]


@pytest.mark.parametrize(
    ("args", "words"), CLIENT, ids=lambda v: " ".join(v[:4]) if isinstance(v, list) else ""
)
def test_bad_client_and_database_arguments(
    capsys: pytest.CaptureFixture[str],
    where: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    words: str,
) -> None:
    for name in ("AIFACTORY_URL", "AIFACTORY_TOKEN", "AIFACTORY_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert words in run_case(capsys, where, args)


def test_a_binary_file_is_not_a_database(
    capsys: pytest.CaptureFixture[str], where: Callable[[str], str]
) -> None:
    line = run_case(capsys, where, ["db", "upgrade", "--database-url", f"sqlite:///{where('binary.yaml')}"])
    assert "file is not a database" in line


# ------------------------------------------------------------------------------- subprocesses

SUBPROCESS = {
    "deep list": ["scenario", "validate", "@deep-list.yaml"],
    "alias bomb": ["plant", "validate", "@alias-bomb.yaml"],
    "trace of NaN": ["replay", "@gpus-nan.csv", "--racks", "1", "--out", "{out}"],
    "fab NaN": ["fab", "simulate", "@fab-ptime-nan", "--days", "1", "--out", "{out}"],
    "client NaN": ["market", "offers", "--max-price", "nan", *URL],
    "bad database URL": ["db", "upgrade", "--database-url", "bogus://x"],
    "huge --runs": ["supply", "simulate", "serial-line", "--runs", HUGE],
}


@pytest.mark.parametrize("case", SUBPROCESS)
def test_as_subprocesses(where: Callable[[str], str], case: str) -> None:
    argv = [where(a[1:]) if a.startswith("@") else where(a) if a == "{out}" else a for a in SUBPROCESS[case]]
    env = {k: v for k, v in os.environ.items() if k not in ("AIFACTORY_DEBUG", "FORCE_COLOR")}
    env["COLUMNS"] = "60"  # a narrow terminal must not wrap the one-line message
    proc = subprocess.run(
        [sys.executable, "-m", "aifactory", *argv],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert one_line(proc.stderr).startswith("error: ")
