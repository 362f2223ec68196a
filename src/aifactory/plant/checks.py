"""Rules of a plant that span several fields; each error names the field path and the reason.

``plant_errors`` lists what makes a plant impossible to simulate as written (a route through an unknown
station, a pool that does not exist, a batch larger than its buffer, a rework loop with no way out);
``plant_warnings`` lists what is legal but probably not meant (a station nobody visits, a material never
delivered, an operator pool of nobody).
"""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Iterable, Iterator

from aifactory.plant.design_model import design_errors
from aifactory.plant.distributions import Duration, lowest, mean_of
from aifactory.plant.floor import floor_plan, node_positions
from aifactory.plant.model import Plant, Station


def _unknown(kind: str, name: str, known: Iterable[str]) -> str:
    names = list(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    listed = ", ".join(names) if names else "none"
    return f"no such {kind} {name!r}{hint}; {kind}s: {listed}"


def _durations(p: Plant) -> Iterator[tuple[str, Duration, bool]]:
    """Every duration of the plant: (field path, value, whether it must be > 0 on average)."""
    if p.release.interarrival_hours is not None:
        yield "release.interarrival_hours", p.release.interarrival_hours, True
    for name, st in p.stations.items():
        yield f"stations.{name}.time_hours", st.time_hours, False
        if st.mttr_hours is not None:
            yield f"stations.{name}.mttr_hours", st.mttr_hours, False
        if st.maintenance is not None:
            yield f"stations.{name}.maintenance.duration_hours", st.maintenance.duration_hours, False
    for name, m in p.materials.items():
        if m.deliveries is not None:
            yield f"materials.{name}.deliveries.every_hours", m.deliveries.every_hours, True
            yield f"materials.{name}.deliveries.quantity", m.deliveries.quantity, False


def visited_stations(p: Plant) -> set[str]:
    """Stations some unit can visit: on a route of a made item, or a rework station of one of those."""
    seen: set[str] = set()
    for item in p.made_items():
        try:
            seen.update(p.route_of(item))
        except KeyError:
            continue
    frontier = list(seen)
    while frontier:
        st = p.stations.get(frontier.pop())
        if st is not None and st.rework and st.rework not in seen and st.yield_ < 1:
            seen.add(st.rework)
            frontier.append(st.rework)
    return seen


def plant_errors(p: Plant) -> list[str]:
    """What makes ``p`` impossible to simulate, one message per problem (field path first)."""
    errors: list[str] = []
    stations = p.stations
    errors += _duration_errors(p)
    errors += _station_errors(p)
    errors += _route_errors(p)
    if errors:
        return errors  # the later checks assume names resolve
    errors += _parts_errors(p)
    errors += _floor_errors(p)
    errors += design_errors(p)
    visited = visited_stations(p)
    for name, st in stations.items():
        where = f"stations.{name}"
        if st.buffer == 0 and name in visited:
            errors.append(
                f"{where}.buffer: 0 places, and units must pass {name}: none could ever enter "
                "(a unit enters a station through its buffer; leave buffer out for no limit)"
            )
        if st.buffer is not None and st.batch > st.buffer and name in visited:
            errors.append(
                f"{where}.batch: {st.batch} is larger than its buffer of {st.buffer}: a batch forms in "
                "the buffer"
            )
        if st.yield_ == 0 and st.rework is not None and st.retries is None:
            errors.append(
                f"{where}.yield: a cycle with no exit: every unit fails here and goes to rework "
                f"{st.rework!r} and back, with no retry limit (set retries, or a yield above 0)"
            )
    return errors


def _duration_errors(p: Plant) -> list[str]:
    errors = []
    for path, value, positive in _durations(p):
        if lowest(value) < 0:
            what = "a negative time" if isinstance(value, int | float) else "negative values"
            errors.append(f"{path}: {what} ({_show(value)}); durations must be >= 0 (set low: 0)")
        elif positive and mean_of(value) <= 0:
            errors.append(f"{path}: must be > 0 on average (0 would release without end)")
    return errors


def _show(value: Duration) -> str:
    if isinstance(value, int | float):
        return f"{value:g}"
    return ", ".join(f"{k}: {v:g}" for k, v in value.model_dump().items() if isinstance(v, int | float))


def _station_errors(p: Plant) -> list[str]:
    errors = []
    pools, fleets = p.operators, p.robots
    workers = {n for n, f in fleets.items() if f.kind != "amr"}
    for name, st in p.stations.items():
        where = f"stations.{name}"
        if st.rework is not None and st.rework not in p.stations:
            errors.append(f"{where}.rework: {_unknown('station', st.rework, p.stations)}")
        for pool_name in st.operators:
            if pool_name not in pools:
                errors.append(f"{where}.operator: {_unknown('operator pool', pool_name, pools)}")
        for fleet_name in st.robots:
            if fleet_name not in fleets:
                errors.append(f"{where}.robot: {_unknown('robot fleet', fleet_name, fleets)}")
            elif fleets[fleet_name].kind == "amr":
                errors.append(
                    f"{where}.robot: {fleet_name!r} is an AMR fleet (it moves units); a station's robot is "
                    f"an arm or humanoid fleet: {', '.join(sorted(workers)) or 'none'}"
                )
        if st.robot_mode == "assist" and st.robots and not _crew_pools(p, name, st):
            errors.append(f"{where}.robot_mode: assist needs an operator to assist (set operator)")
    for pool_name, pool in pools.items():
        for i, station in enumerate(pool.skills):
            if station not in p.stations:
                errors.append(f"operators.{pool_name}.skills.{i}: {_unknown('station', station, p.stations)}")
    for fleet_name, fleet in fleets.items():
        for i, station in enumerate(fleet.stations):
            if station not in p.stations:
                errors.append(f"robots.{fleet_name}.stations.{i}: {_unknown('station', station, p.stations)}")
    return errors


def _crew_pools(p: Plant, name: str, st: Station) -> list[str]:
    """Operator pools that can run station ``name``: those it names, then those with it as a skill."""
    named = list(st.operators)
    return named + [pool for pool, o in p.operators.items() if name in o.skills and pool not in named]


def crew_pools(p: Plant, name: str) -> list[str]:
    return _crew_pools(p, name, p.stations[name])


def crew_fleets(p: Plant, name: str) -> list[str]:
    """Arm/humanoid fleets that can work at station ``name``."""
    named = list(p.stations[name].robots)
    return named + [f for f, r in p.robots.items() if name in r.stations and f not in named]


def _route_errors(p: Plant) -> list[str]:
    errors = []
    product = p.release.item
    if p.items and product not in p.items and p.route is None:
        errors.append(
            f"release.item: {product!r} is not among items ({', '.join(p.items)}); give its route there "
            "or in route"
        )
    if product in p.items and p.route is not None:
        errors.append(f"route: the route of {product!r} is items.{product}.route; give it once")
    if p.materials.keys() & (p.items.keys() | {product}):
        both = sorted(p.materials.keys() & (p.items.keys() | {product}))
        errors.append(f"materials.{both[0]}: also an item made in the plant; a name is one or the other")
    routes: list[tuple[str, list[str]]] = []
    if product not in p.items:
        routes.append(("route", p.route if p.route is not None else p.product_route()))
    routes += [(f"items.{name}.route", list(item.route)) for name, item in p.items.items()]
    for where, route in routes:
        if not route:
            errors.append(f"{where}: empty: every station is somebody's rework station; give a route")
        for i, station in enumerate(route):
            if station not in p.stations:
                errors.append(f"{where}.{i}: {_unknown('station', station, p.stations)}")
    for name, item in p.items.items():
        if item.kit_after is not None and item.kit_after not in item.route:
            errors.append(f"items.{name}.kit_after: {item.kit_after!r} is not on its route")
        if item.move_by is not None:
            fleet = p.robots.get(item.move_by)
            if fleet is None:
                errors.append(f"items.{name}.move_by: {_unknown('robot fleet', item.move_by, p.robots)}")
            elif fleet.kind != "amr":
                errors.append(f"items.{name}.move_by: {item.move_by!r} is a {fleet.kind} fleet, not AMRs")
    return errors


def _parts_errors(p: Plant) -> list[str]:
    errors = []
    made = set(p.made_items())
    for name in p.made_items():
        route = p.route_of(name)
        kit_after = p.items[name].kit_after if name in p.items else None
        for i, part in enumerate(p.bom(name)):
            where = f"items.{name}.parts.{i}"
            if part.item not in made and part.item not in p.materials:
                errors.append(
                    f"{where}.item: {_unknown('item or material', part.item, [*p.items, *p.materials])}"
                )
                continue
            if part.item == p.release.item:
                errors.append(f"{where}.item: {part.item!r} is the plant's product; it cannot be a part")
            at = part.at if part.at is not None else route[0]
            if at not in route:
                errors.append(f"{where}.at: {at!r} is not on the route of {name!r}")
                continue
            if part.item in made and kit_after is not None and route.index(at) <= route.index(kit_after):
                errors.append(
                    f"{where}.at: {part.item!r} is needed at {at!r}, but it is only made once the unit has "
                    f"passed {kit_after!r} (kit_after): it would wait for ever"
                )
    cycle = _bom_cycle(p)
    if cycle:
        errors.append(f"items.{cycle[0]}.parts: a unit is its own part: {' → '.join(cycle)}")
    return errors


def _bom_cycle(p: Plant) -> list[str]:
    made = set(p.made_items())
    graph = {n: [part.item for part in p.bom(n) if part.item in made] for n in made}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
            if nxt not in state:
                found = visit(nxt, [*path, nxt])
                if found:
                    return found
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return []


def _floor_errors(p: Plant) -> list[str]:
    errors = []
    nodes = node_positions(p)
    if p.layout is not None:
        for name, st in p.stations.items():
            if (
                name in p.layout.nodes
                and st.position is not None
                and tuple(st.position) != tuple(p.layout.nodes[name])
            ):
                errors.append(f"stations.{name}.position: differs from layout.nodes.{name}")
        for i, e in enumerate(p.layout.edges):
            for end, node in (("from", e.from_), ("to", e.to)):
                if node not in nodes:
                    errors.append(f"layout.edges.{i}.{end}: {_unknown('layout node', node, nodes)}")
    for fleet_name, fleet in p.robots.items():
        if fleet.kind != "amr":
            continue
        if fleet.home is not None and fleet.home not in nodes:
            errors.append(f"robots.{fleet_name}.home: {_unknown('layout node', fleet.home, nodes)}")
        if fleet.battery is not None:
            for i, node in enumerate(fleet.battery.chargers):
                if node not in nodes:
                    errors.append(
                        f"robots.{fleet_name}.battery.chargers.{i}: {_unknown('layout node', node, nodes)}"
                    )
    if errors:
        return errors
    plan = floor_plan(p)
    for name in p.made_items():
        mover = amr_fleet_of(p, name)
        if mover is None:
            continue
        if plan is None:
            errors.append(f"items.{name}.move_by: AMRs need a layout (station positions)")
            continue
        index = plan.index
        for a, b in moves_of(p, name):
            if a in index and b in index and not math.isfinite(plan.distance[index[a], index[b]]):
                errors.append(f"layout: no path from {a!r} to {b!r} for the AMRs moving {name!r}")
        battery = p.robots[mover].battery
        if battery is not None:
            home = p.robots[mover].home
            starts = [home] if home is not None else [n for n in p.route_of(name) if n in index][:1]
            for node in starts:
                if not any(math.isfinite(plan.distance[index[node], index[c]]) for c in battery.chargers):
                    errors.append(f"robots.{mover}.battery.chargers: none can be reached from {node!r}")
    return errors


def amr_fleet_of(p: Plant, item: str) -> str | None:
    """The AMR fleet that moves units of ``item``: its ``move_by``; for the product of a plant without
    ``items``, the plant's only AMR fleet when there is a floor (a layout, or stations with positions)."""
    if item in p.items:
        return p.items[item].move_by
    amrs = [n for n, f in p.robots.items() if f.kind == "amr"]
    on_floor = p.layout is not None or any(st.position is not None for st in p.stations.values())
    return amrs[0] if len(amrs) == 1 and on_floor else None


def moves_of(p: Plant, item: str) -> list[tuple[str, str]]:
    """Every move a unit of ``item`` can make: along its route, into rework and back."""
    route = p.route_of(item)
    pairs = set(itertools.pairwise(route))
    for first in route:
        station, st = first, p.stations[first]
        seen = {station}
        while st.rework is not None and st.yield_ < 1 and st.rework not in seen:
            pairs.add((station, st.rework))
            pairs.add((st.rework, station))
            seen.add(st.rework)
            station, st = st.rework, p.stations[st.rework]
    return sorted(pairs)


def plant_warnings(p: Plant) -> list[str]:
    """What is legal but probably not meant."""
    warnings = []
    visited = visited_stations(p)
    for name in p.stations:
        if name not in visited:
            warnings.append(f"stations.{name}: no unit visits it (not on a route, nobody's rework)")
    for name, st in p.stations.items():
        if name not in visited:
            continue
        pools = crew_pools(p, name)
        fleets = crew_fleets(p, name)
        needs = pools or fleets
        if (
            needs
            and not any(p.operators[x].count or any(s.count for s in p.operators[x].shifts) for x in pools)
            and not any(p.robots[f].count for f in fleets)
        ):
            warnings.append(
                f"stations.{name}: its operator pools and robot fleets have nobody: it never works"
            )
        if st.yield_ == 0 and st.rework is None:
            warnings.append(f"stations.{name}.yield: 0: every unit is scrapped here")
    used = {part.item for item in p.made_items() for part in p.bom(item)}
    for name, m in p.materials.items():
        if name not in used:
            warnings.append(f"materials.{name}: no item uses it")
        elif m.initial == 0 and m.deliveries is None:
            warnings.append(
                f"materials.{name}: never on hand (no initial stock, no deliveries): its users starve"
            )
    for name in p.items:
        if name != p.release.item and name not in used:
            warnings.append(f"items.{name}: no item uses it as a part: never made")
    for fleet_name, fleet in p.robots.items():
        if fleet.kind == "amr" and not any(amr_fleet_of(p, i) == fleet_name for i in p.made_items()):
            warnings.append(f"robots.{fleet_name}: no item moves by it (items.<item>.move_by): it stays idle")
    return warnings
