"""``tool.txt.1l`` (or ``tool.txt``): the tool families, their tool counts and dispatching."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from aifactory.fab.dataset import BatchUnit, Station, ToolFamily
from aifactory.fab.table import Row, Table

TOOL_FILES = ("tool.txt.1l", "tool.txt")
"""The one-line-per-family variant first, then AutoSched's original (ranks on continuation lines)."""

_BATCH_UNITS = {
    "piece": BatchUnit.WAFER,
    "pieces": BatchUnit.WAFER,
    "lot": BatchUnit.LOT,
    "lots": BatchUnit.LOT,
}


@dataclass(slots=True)
class _Draft:
    """A family while its rows are being read."""

    first: Row
    ranks: list[str]
    stations: list[Station] = field(default_factory=list)


def read_tool_families(table: Table, setup_groups: Collection[str] = ()) -> dict[str, ToolFamily]:
    """Tool families by ``STNFAM`` in file order (their calendars are attached later).

    A row with an empty ``STNFAM`` continues the previous family's ``FWLRANK`` list; a family may
    span several rows with different ``STN`` stations, whose ``STNQTY`` add up. ``SETUPGRP`` must
    name one of ``setup_groups`` (the groups of ``setupgrp.txt``).
    """
    table.require("STNFAM", "STNQTY", "STNGRP", "STNFAMLOC", "RULE")
    drafts: dict[str, _Draft] = {}
    last: _Draft | None = None
    for row in table:
        name = row.opt("STNFAM")
        if name is None:
            if last is None:
                raise row.error("STNFAM is empty on the first row", "STNFAM")
            last.ranks.extend(_ranks(row))
            continue
        draft = drafts.get(name)
        if draft is None:
            draft = drafts[name] = _Draft(row, _ranks(row))
        station = Station(row.opt("STN") or name, row.count("STNQTY", minimum=1))
        if any(s.name == station.name for s in draft.stations):
            raise row.error(f"STN '{station.name}' appears twice in tool family {name}", "STN")
        draft.stations.append(station)
        last = draft
    return {name: _family(name, draft, setup_groups) for name, draft in drafts.items()}


def _ranks(row: Row) -> list[str]:
    value = row.opt("FWLRANK")
    return [rank.strip() for rank in value.split(";") if rank.strip()] if value else []


def _family(name: str, draft: _Draft, setup_groups: Collection[str]) -> ToolFamily:
    row = draft.first
    setup_group = row.opt("SETUPGRP")
    if setup_group is not None and setup_group not in setup_groups:
        raise row.error(f"SETUPGRP '{setup_group}' is not a group of setupgrp.txt", "SETUPGRP")
    criterion = row.opt("BATCHCRITF")
    unit_text = row.opt("BATCHPER")
    batch_unit: BatchUnit | None = None
    if unit_text is not None:
        batch_unit = _BATCH_UNITS.get(unit_text.lower())
        if batch_unit is None:
            raise row.error(f"BATCHPER '{unit_text}' must be piece or lot", "BATCHPER")
    elif criterion is not None:
        batch_unit = BatchUnit.WAFER
    return ToolFamily(
        name=name,
        stations=tuple(draft.stations),
        count=sum(s.count for s in draft.stations),
        area=row.text("STNGRP"),
        location=row.text("STNFAMLOC"),
        rule=row.text("RULE"),
        ranks=tuple(draft.ranks),
        wake_rank=row.opt("WAKERESRANK"),
        batch_criterion=criterion,
        batch_unit=batch_unit,
        load_time=_handling_time(row, "LTIME", "LTUNITS"),
        unload_time=_handling_time(row, "ULTIME", "ULTUNITS"),
        capacity=row.opt_count("STNCAP", minimum=1) or 1,
        setup_group=setup_group,
        action_list=row.opt("STNFAMSTEP_ACTLIST") or "",
        pre_rule=row.flag("PRERULERWL"),
    )


def _handling_time(row: Row, column: str, unit_column: str) -> float:
    return row.opt_time(column, unit_column) or 0.0
