"""``read_dataset``: one directory in the SMT2020 / AutoSched AP text format → a :class:`Dataset`.

Required: the tool file (``tool.txt.1l`` or ``tool.txt``), ``part.txt``, the route files it names and
the order file(s). Optional: ``WIP.txt``, ``downcal.txt``, ``pmcal.txt``, ``attach.txt``,
``setup.txt``, ``setupgrp.txt``, ``fromto.txt``, ``reference_lots.txt``, ``reference_toolgroups.txt``.
Bad input raises :class:`FabDataError` naming the file, line and field.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType

from aifactory.fab.calendar_files import (
    DownCalendar,
    PmCalendar,
    attach_calendars,
    read_down_calendars,
    read_pm_calendars,
)
from aifactory.fab.dataset import Dataset, Release, ToolFamily
from aifactory.fab.errors import FabDataError
from aifactory.fab.order_file import (
    RELEASE_COLUMNS,
    earliest_start,
    periodic_lot_types,
    read_releases,
    read_wip,
)
from aifactory.fab.part_file import read_parts
from aifactory.fab.reference_files import read_reference
from aifactory.fab.setup_files import read_setup_changes, read_setup_groups
from aifactory.fab.table import Table, read_text
from aifactory.fab.tool_file import TOOL_FILES, read_tool_families
from aifactory.fab.transport_file import read_transports

ORDER_FILE = "order.txt"
WIP_FILE = "WIP.txt"
_DATE_ORIGIN = datetime(1, 1, 1)


class _Directory:
    """Reads the tables of one data-set directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def exists(self, file: str) -> bool:
        return (self.path / file).is_file()

    def optional(self, file: str, *, separator: str | None = "\t") -> Table | None:
        if not self.exists(file):
            return None
        try:
            text = read_text(self.path / file)
        except OSError as exc:
            raise FabDataError(file, None, f"cannot be read ({exc.strerror})") from None
        return Table.parse(file, text, separator=separator)

    def required(self, file: str) -> Table:
        table = self.optional(file)
        if table is None:
            raise FabDataError(file, None, f"required file is missing in {self.path}")
        return table


def read_dataset(path: str | Path, *, order_files: Sequence[str] = (ORDER_FILE,)) -> Dataset:
    """Read the data set in directory ``path``.

    ``order_files`` names the release files to read (all in the order form of ``order.txt``), e.g.
    ``("order_high_SL_92PCTL.txt",)`` for the list-form releases of the LV/HM data sets.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise FabDataError(str(path), None, "is not a directory")
    files = _Directory(directory)

    tool_file = next((name for name in TOOL_FILES if files.exists(name)), TOOL_FILES[0])
    tool_table = files.required(tool_file)
    setup_group_table = files.optional("setupgrp.txt")
    setup_groups = read_setup_groups(setup_group_table) if setup_group_table is not None else {}
    families = read_tool_families(tool_table, setup_groups)

    parts, routes = read_parts(files.required("part.txt"), files.optional, families, tool_file)
    families = _with_calendars(files, families)

    setup_table = files.optional("setup.txt")
    setup_changes = read_setup_changes(setup_table) if setup_table is not None else []
    fromto = files.optional("fromto.txt")
    transports = read_transports(fromto) if fromto is not None else []

    order_tables = [files.required(name) for name in order_files]
    for table in order_tables:
        table.require(*RELEASE_COLUMNS)
    wip_table = files.optional(WIP_FILE)
    start_tables = [*order_tables, *([wip_table] if wip_table is not None else [])]
    epoch = earliest_start(start_tables)
    if epoch is None:
        raise FabDataError(order_files[0] if order_files else WIP_FILE, None, "no lot to release (no START)")
    lot_types = periodic_lot_types(order_tables)
    releases: list[Release] = []
    for table in order_tables:
        releases.extend(read_releases(table, parts, epoch, lot_types))
    wip = read_wip(wip_table, parts, routes, epoch, lot_types) if wip_table is not None else []

    lot_refs = files.optional("reference_lots.txt", separator=None)
    group_refs = files.optional("reference_toolgroups.txt", separator=None)
    reference = None if lot_refs is None and group_refs is None else read_reference(lot_refs, group_refs)

    return Dataset(
        name=directory.resolve().name,
        epoch=_DATE_ORIGIN + timedelta(seconds=epoch),
        tool_families=MappingProxyType(families),
        parts=MappingProxyType(parts),
        routes=MappingProxyType(routes),
        releases=tuple(releases),
        wip=tuple(wip),
        setup_changes=tuple(setup_changes),
        setup_groups=MappingProxyType(setup_groups),
        transports=tuple(transports),
        reference=reference,
    )


def _with_calendars(files: _Directory, families: dict[str, ToolFamily]) -> dict[str, ToolFamily]:
    """The families with their breakdowns and PMs; calendars no ``attach.txt`` row uses do nothing."""
    down_table = files.optional("downcal.txt")
    pm_table = files.optional("pmcal.txt")
    downs: dict[str, DownCalendar] = read_down_calendars(down_table) if down_table is not None else {}
    pms: dict[str, PmCalendar] = read_pm_calendars(pm_table) if pm_table is not None else {}
    attach = files.optional("attach.txt")
    return families if attach is None else attach_calendars(attach, families, downs, pms)
