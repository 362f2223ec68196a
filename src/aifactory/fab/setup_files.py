"""``setup.txt`` (setup change times) and ``setupgrp.txt`` (minimum runs per setup group)."""

from __future__ import annotations

from types import MappingProxyType

from aifactory.fab.dataset import SetupChange, SetupGroup
from aifactory.fab.table import Table


def read_setup_changes(table: Table) -> list[SetupChange]:
    """Setup changes in file order; an empty ``CURSETUP`` means from any setup."""
    table.require("CURSETUP", "NEWSETUP", "STIME", "STUNITS")
    changes: list[SetupChange] = []
    seen: set[tuple[str | None, str]] = set()
    for row in table:
        key = (row.opt("CURSETUP"), row.text("NEWSETUP"))
        if key in seen:
            source = key[0] or "any setup"
            raise row.error(f"NEWSETUP '{key[1]}': the change from {source} appears twice", "NEWSETUP")
        seen.add(key)
        time = row.distribution("SDIST", "STIME", "STIME2", row.unit_factor("STUNITS"))
        changes.append(SetupChange(key[0], key[1], time))
    return changes


def read_setup_groups(table: Table) -> dict[str, SetupGroup]:
    """Setup groups by name; a row with an empty ``SETUPGRP`` belongs to the group above it."""
    table.require("SETUPGRP", "SETUP", "MINRUN")
    members: dict[str, dict[str, int]] = {}
    current: str | None = None
    for row in table:
        name = row.opt("SETUPGRP")
        if name is not None:
            if name in members:
                raise row.error(f"SETUPGRP '{name}' appears twice", "SETUPGRP")
            members[name] = {}
            current = name
        if current is None:
            raise row.error("SETUPGRP is empty on the first row", "SETUPGRP")
        setup = row.text("SETUP")
        if setup in members[current]:
            raise row.error(f"SETUP '{setup}' appears twice in setup group {current}", "SETUP")
        members[current][setup] = row.count("MINRUN", minimum=1)
    return {name: SetupGroup(name, MappingProxyType(runs)) for name, runs in members.items()}
