"""Every example in docs/plant.md runs as shown, and the document describes every field of the format.

The conventions are those of ``test_doc_examples.py``: a ```yaml block whose first line is
``# file: NAME`` is written to NAME and must be a valid plant; every ``$ aifactory`` line of a
```console block runs in-process in a temporary folder, and each line after it must appear in what it
prints (``...`` matches anything).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel
from test_doc_examples import Block, Command, blocks, commands, run_command

from aifactory.plant import design_model, model, resources
from aifactory.plant.loading import load_plant

DOC = "plant.md"
BLOCKS = blocks(DOC)
COMMANDS = [c for b in BLOCKS if b.lang == "console" for c in commands(b)]
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _id(x: Block | Command) -> str:
    return f"{x.doc}:{x.line}"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "yaml"], ids=_id)
def test_yaml_examples_are_valid_plants(block: Block, tmp_path: Path) -> None:
    data = yaml.safe_load(block.text)
    assert data["format"] == "aifactory/plant-v1"
    path = tmp_path / "plant.yaml"
    path.write_text(block.text, encoding="utf-8")
    load_plant(str(path))


@pytest.mark.parametrize("command", COMMANDS, ids=_id)
def test_console_example_runs(
    command: Command, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    run_command(command, tmp_path, monkeypatch, capsys)


@pytest.mark.parametrize(
    "cls",
    [model.Release, model.Station, model.Maintenance, model.Item, model.Part, model.Material, model.Delivery,
     model.Site, resources.OperatorPool, resources.Shift, resources.RobotFleet, resources.Battery,
     resources.Layout, resources.Edge, design_model.Design, design_model.Variable],
)  # fmt: skip
def test_every_field_is_described(cls: type[BaseModel]) -> None:
    text = (DOCS / DOC).read_text(encoding="utf-8")
    names = [f.alias or name for name, f in cls.model_fields.items()]
    missing = [n for n in names if f"`{n}" not in text and f"{n}`" not in text and f" {n}," not in text]
    assert not missing, f"{cls.__name__}: fields not described in docs/{DOC}: {missing}"
