"""Running the ``aifactory`` command in-process from tests."""

from __future__ import annotations

import re

import pytest

from aifactory.cli.main import run_cli

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr) with colour codes removed."""
    capsys.readouterr()
    try:
        run_cli(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, ANSI.sub("", out), ANSI.sub("", err)
