"""``part.txt``: the products, each with its route file and route name."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aifactory.fab.dataset import Part, Route, ToolFamily
from aifactory.fab.route_file import read_routes
from aifactory.fab.table import Table


def read_parts(
    table: Table,
    load_table: Callable[[str], Table | None],
    families: Mapping[str, ToolFamily],
    tool_file: str,
) -> tuple[dict[str, Part], dict[str, Route]]:
    """Parts by ``PART`` and the routes they use by ``ROUTE``; each route file is read once.

    ``load_table(file)`` reads a route file, or returns ``None`` if it does not exist.
    """
    table.require("PART", "ROUTEFILE", "ROUTE")
    parts: dict[str, Part] = {}
    routes: dict[str, Route] = {}
    files: dict[str, dict[str, Route]] = {}
    for row in table:
        name = row.text("PART")
        if name in parts:
            raise row.error(f"PART '{name}' appears twice", "PART")
        file, route_name = row.text("ROUTEFILE"), row.text("ROUTE")
        if file not in files:
            route_table = load_table(file)
            if route_table is None:
                raise row.error(f"ROUTEFILE '{file}' does not exist", "ROUTEFILE")
            files[file] = read_routes(route_table, families, tool_file)
        route = files[file].get(route_name)
        if route is None:
            raise row.error(f"ROUTE '{route_name}' is not a route of {file}", "ROUTE")
        known = routes.setdefault(route_name, route)
        if known.file != file:
            raise row.error(f"ROUTE '{route_name}' is also defined in {known.file}", "ROUTE")
        parts[name] = Part(
            name=name,
            family=row.opt("PARTFAM") or name,
            group=row.opt("PARTGRP") or "",
            route=route_name,
            route_file=file,
        )
    return parts, routes
