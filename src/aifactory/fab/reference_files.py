"""``reference_lots.txt`` and ``reference_toolgroups.txt``: the reference run's KPIs (space separated)."""

from __future__ import annotations

from types import MappingProxyType

from aifactory.fab.dataset import LotTypeReference, Reference, ToolGroupReference
from aifactory.fab.table import Row, Table


def read_reference(lots: Table | None, toolgroups: Table | None) -> Reference:
    lot_refs: dict[str, LotTypeReference] = {}
    if lots is not None:
        lots.require("name", "th", "act", "on_time")
        for row in lots:
            name = row.text("name")
            lot_refs[name] = LotTypeReference(
                lot_type=name,
                throughput=row.non_negative("th"),
                cycle_time_days=row.non_negative("act"),
                on_time_pct=_pct(row, "on_time"),
            )
    group_refs: dict[str, ToolGroupReference] = {}
    if toolgroups is not None:
        toolgroups.require("name", "avail", "util", "br", "pm", "setup")
        for row in toolgroups:
            name = row.text("name")
            group_refs[name] = ToolGroupReference(
                name=name,
                avail=_pct(row, "avail"),
                util=_pct(row, "util"),
                br=_pct(row, "br"),
                pm=_pct(row, "pm"),
                setup=_pct(row, "setup"),
            )
    return Reference(MappingProxyType(lot_refs), MappingProxyType(group_refs))


def _pct(row: Row, name: str) -> float:
    value = row.number(name)
    if not 0 <= value <= 100:
        raise row.error(f"{name} {value:g} is not a percentage between 0 and 100", name)
    return value
