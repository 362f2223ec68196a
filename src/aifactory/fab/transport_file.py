"""``fromto.txt``: transport times between tool locations."""

from __future__ import annotations

from aifactory.fab.dataset import Transport
from aifactory.fab.table import Table


def read_transports(table: Table) -> list[Transport]:
    table.require("FROMLOC", "TOLOC", "DTIME", "DUNITS")
    transports: list[Transport] = []
    seen: set[tuple[str, str]] = set()
    for row in table:
        key = (row.text("FROMLOC"), row.text("TOLOC"))
        if key in seen:
            raise row.error(f"TOLOC '{key[1]}': the pair from {key[0]} appears twice", "TOLOC")
        seen.add(key)
        time = row.distribution("DDIST", "DTIME", "DTIME2", row.unit_factor("DUNITS"))
        transports.append(Transport(key[0], key[1], time))
    return transports
