"""``order.txt`` (lot releases, periodic or list form) and ``WIP.txt`` (lots in the fab at time 0)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from aifactory.fab.dataset import LotRelease, Part, PeriodicRelease, Release, Route, WipLot
from aifactory.fab.table import Row, Table

_INIT_PREFIX = "Init_"
RELEASE_COLUMNS = ("LOT", "PART", "PRIOR", "PIECES", "START")
"""Columns every order file needs."""
_REPEAT_COLUMNS = ("RDIST", "RUNITS", "RPT#", "LOTSPERRPT")


def lot_type_of(lot: str, known: Collection[str] = ()) -> str:
    """The lot type a lot name stands for: without ``Init_`` and without a serial number.

    If the name, or the name without a trailing ``_<number>``, is one of the ``known`` lot types (the
    ``LOT`` names of periodic releases) that is the type. Otherwise the serial is a trailing
    ``_<number>`` after another ``_<number>`` (the part's): ``Init_HotLot_3_7`` → ``HotLot_3``,
    ``Lot_1_17`` → ``Lot_1``, while ``Lot_3`` stays ``Lot_3``.
    """
    name = lot.removeprefix(_INIT_PREFIX)
    if name in known:
        return name
    base, _, last = name.rpartition("_")
    if not (base and last.isdigit()):
        return name
    if base in known:
        return base
    middle = base.rpartition("_")[2]
    return base if middle.isdigit() else name


def periodic_lot_types(tables: Iterable[Table]) -> frozenset[str]:
    """The ``LOT`` names of the periodic rows (those with ``REPEAT``) of the order tables."""
    return frozenset(row.text("LOT") for table in tables for row in table if row.opt("REPEAT"))


def earliest_start(tables: Iterable[Table]) -> int | None:
    """The earliest ``START`` (seconds since 0001-01-01) in the given order/WIP tables."""
    starts = [row.date_seconds("START") for table in tables for row in table if row.opt("START")]
    return min(starts) if starts else None


def _minutes(seconds: int | None, epoch: int) -> float | None:
    return None if seconds is None else (seconds - epoch) / 60


def read_releases(
    table: Table, parts: Mapping[str, Part], epoch: int, lot_types: Collection[str] = ()
) -> list[Release]:
    """Releases in file order; a row with ``REPEAT`` is a periodic stream, one without a single lot.

    ``epoch`` is time 0 in seconds since 0001-01-01; times become minutes after it. ``lot_types``
    are the known lot types (see :func:`lot_type_of`).
    """
    table.require(*RELEASE_COLUMNS)
    releases: list[Release] = []
    for row in table:
        part = _part(row, parts)
        start_seconds = row.date_seconds("START")
        start = (start_seconds - epoch) / 60
        due_seconds = row.opt_date_seconds("DUE")
        if row.opt("REPEAT") is not None:
            releases.append(_periodic(row, part, start, _minutes(due_seconds, start_seconds)))
        else:
            extra = [c for c in row.filled(_REPEAT_COLUMNS) if c != "RDIST"]
            if extra:
                raise row.error(f"{extra[0]} is given without a REPEAT interval", extra[0])
            lot = row.text("LOT")
            releases.append(
                LotRelease(
                    lot=lot,
                    lot_type=lot_type_of(lot, lot_types),
                    part=part,
                    priority=_priority(row),
                    wafers=row.count("PIECES", minimum=1),
                    start=start,
                    due=_minutes(due_seconds, epoch),
                    order=row.opt("ORDER") or "",
                    hot=row.flag("HOTLOT"),
                )
            )
    return releases


def _periodic(row: Row, part: str, start: float, due_offset: float | None) -> PeriodicRelease:
    interval = row.distribution("RDIST", "REPEAT", None, row.unit_factor("RUNITS"))
    if interval.mean <= 0:
        raise row.error("REPEAT must be positive", "REPEAT")
    return PeriodicRelease(
        lot_type=row.text("LOT"),
        part=part,
        priority=_priority(row),
        wafers=row.count("PIECES", minimum=1),
        start=start,
        interval=interval,
        repeats=row.count("RPT#", minimum=1),
        lots_per_release=row.opt_count("LOTSPERRPT", minimum=1) or 1,
        due_offset=due_offset,
        order=row.opt("ORDER") or "",
        hot=row.flag("HOTLOT"),
    )


def read_wip(
    table: Table,
    parts: Mapping[str, Part],
    routes: Mapping[str, Route],
    epoch: int,
    lot_types: Collection[str] = (),
) -> list[WipLot]:
    """The initial WIP lots, each waiting for its ``CURSTEP``."""
    table.require("LOT", "PART", "PRIOR", "PIECES", "CURSTEP")
    lots: list[WipLot] = []
    for row in table:
        part = _part(row, parts)
        route = routes[parts[part].route]
        label = row.text("CURSTEP")
        try:
            step = route.step_index(label)
        except KeyError:
            raise row.error(f"CURSTEP '{label}' is not a step of route {route.name}", "CURSTEP") from None
        start = _minutes(row.opt_date_seconds("START"), epoch)
        lot = row.text("LOT")
        lots.append(
            WipLot(
                lot=lot,
                lot_type=lot_type_of(lot, lot_types),
                part=part,
                priority=_priority(row),
                wafers=row.count("PIECES", minimum=1),
                start=0.0 if start is None else start,
                step=step,
                due=_minutes(row.opt_date_seconds("DUE"), epoch),
                order=row.opt("ORDER") or "",
                hot=row.flag("HOTLOT"),
            )
        )
    return lots


def _part(row: Row, parts: Mapping[str, Part]) -> str:
    part = row.text("PART")
    if part not in parts:
        raise row.error(f"PART '{part}' is not in part.txt, so it has no route", "PART")
    return part


def _priority(row: Row) -> int:
    return row.count("PRIOR")
