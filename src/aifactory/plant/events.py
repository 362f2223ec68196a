"""Shop-floor events: the documented JSON-lines format, written from the twin's runs and read back into the
state of the floor at a time, with every malformed or impossible event counted and refused with a reason.

One event per line, ``t`` in hours from the plant's hour 0::

    {"t": 12.5, "kind": "released", "unit": 7, "item": "rack"}
    {"t": 12.5, "kind": "moved", "unit": 7, "station": "kitting"}
    {"t": 13.0, "kind": "started", "unit": 7, "station": "kitting", "server": 2}
    {"t": 13.8, "kind": "finished", "unit": 7, "station": "kitting"}
    {"t": 40.1, "kind": "failed", "unit": 7, "station": "l10-test"}      # failed the test: to rework
    {"t": 41.0, "kind": "scrapped", "unit": 9, "station": "l10-test"}
    {"t": 50.0, "kind": "station_down", "station": "l11-test", "server": 0}
    {"t": 56.0, "kind": "station_up", "station": "l11-test", "server": 0}
    {"t": 6.0, "kind": "clock_in", "pool": "integrators", "count": 27}
    {"t": 14.0, "kind": "clock_out", "pool": "integrators", "count": 27}
    {"t": 72.0, "kind": "delivered", "item": "power-shelf", "count": 200}

A unit is ``released``, ``moved`` to a station (it waits there), ``started`` on one of its servers, and
``finished`` (passed), ``failed`` (to rework) or ``scrapped`` there; finishing the last station of its
route, it leaves the plant (a sub-assembly goes to stock). A ``released`` event may name the customer
``order`` the unit belongs to. ``delivered`` adds to a bought material's stock; a unit starting where
its bill of materials takes parts takes them from stock. Pure: no I/O; the CLI reads and writes the files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aifactory.plant.calendar import WEEK_HOURS, weekly_duty
from aifactory.plant.joined import Joined
from aifactory.plant.log import FAILED, FINISHED, OUTAGE_FAILURE, SCRAPPED
from aifactory.plant.model import Plant
from aifactory.plant.result import PlantRun

Kind = Literal[
    "released", "moved", "started", "finished", "failed", "scrapped",
    "station_down", "station_up", "clock_in", "clock_out", "delivered",
]  # fmt: skip
UNIT_KINDS = {"released", "moved", "started", "finished", "failed", "scrapped"}


class Event(BaseModel):
    """One shop-floor event."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    t: float = Field(ge=0, le=1e7, description="Hours from the plant's hour 0.")
    kind: Kind
    unit: int | None = Field(default=None, ge=0)
    item: str | None = None
    station: str | None = None
    server: int | None = Field(default=None, ge=0)
    pool: str | None = None
    count: int | None = Field(default=None, ge=0)
    cause: Literal["failure", "maintenance"] | None = None
    order: str | None = Field(default=None, max_length=200)


# ------------------------------------------------------------------------------------ writing


def events_of(run: PlantRun, joined: Joined | None = None, order_hours: float = 24.0) -> list[dict[str, Any]]:
    """The events of a run of the twin, in time order (what a shop floor would have reported). Units of
    the product released in one ``order_hours`` window make one order (``d0``, ``d1``, … by the day)."""
    j = joined if joined is not None else Joined(run)
    index = run.index
    items, stations = index.items, index.stations
    first_server = {
        int(s): int(np.flatnonzero(index.server_station == s)[0]) for s in set(index.server_station)
    }
    # at one instant: shifts change, units are released, end at one station, arrive at the next, start
    out: list[tuple[float, int, dict[str, Any]]] = []

    def add(t: float, order: int, event: dict[str, Any]) -> None:
        if math.isfinite(t):
            out.append((float(t), order, {"t": round(float(t), 6), **event}))

    for unit in range(len(j.unit_item)):
        item = int(j.unit_item[unit])
        released: dict[str, Any] = {"kind": "released", "unit": unit, "item": items[item]}
        if item == 0 and math.isfinite(j.unit_release[unit]):
            released["order"] = f"d{int(j.unit_release[unit] // order_hours)}"
        add(j.unit_release[unit], 0, released)
    ended = {FAILED: "failed", SCRAPPED: "scrapped", FINISHED: "finished"}
    for v in range(len(j.v_unit)):
        unit, st = int(j.v_unit[v]), int(j.v_station[v])
        name = stations[st]
        add(j.v_arrived[v], 2, {"kind": "moved", "unit": unit, "station": name})
        job = int(j.v_job[v])
        if job < 0:
            continue
        server = int(j.job_server[job]) - first_server[st]
        add(j.v_start[v], 3, {"kind": "started", "unit": unit, "station": name, "server": server})
        outcome = int(j.v_outcome[v])
        if outcome >= 0:
            add(j.v_end[v], 1, {"kind": ended.get(outcome, "finished"), "unit": unit, "station": name})
    for o in range(len(j.o_server)):
        st = int(j.o_station[o])
        server = int(j.o_server[o]) - first_server[st]
        cause = "failure" if j.o_kind[o] == OUTAGE_FAILURE else "maintenance"
        where = {"station": stations[st], "server": server, "cause": cause}
        add(j.o_from[o], 4, {"kind": "station_down", **where})
        add(j.o_to[o], 4, {"kind": "station_up", **where})
    for m, t, quantity in _deliveries(run):
        add(t, 0, {"kind": "delivered", "item": m, "count": quantity})
    for name in run.plant.operators:
        for t, delta in _duty_changes(run.plant, name, run.hours):
            add(t, -1, {"kind": "clock_in" if delta > 0 else "clock_out", "pool": name, "count": abs(delta)})
    out.sort(key=lambda e: (e[0], e[1]))
    return [e for _, _, e in out]


def _deliveries(run: PlantRun) -> Iterator[tuple[str, float, int]]:
    """(material, hour, quantity) of every delivery: the rises of its stock level."""
    materials = list(run.plant.materials)
    stock = run.records.stock
    for idx, name in enumerate(materials):
        rows = stock[stock[:, 0] == idx]
        levels = np.concatenate([[run.plant.materials[name].initial], rows[:, 2]])
        rises = np.flatnonzero(np.diff(levels) > 0)
        for r in rises:
            yield name, float(rows[r, 1]), int(levels[r + 1] - levels[r])


def _duty_changes(plant: Plant, pool: str, hours: float) -> Iterator[tuple[float, int]]:
    steps = weekly_duty(plant.operators[pool], plant.weekday0())
    if steps is None:
        yield 0.0, plant.operators[pool].count
        return
    level, week = 0, 0
    while week * WEEK_HOURS < hours:
        for hour, on_duty in steps:
            t = week * WEEK_HOURS + hour
            if t >= hours:
                return
            if on_duty != level:
                yield t, on_duty - level
                level = on_duty
        week += 1


def to_lines(events: Iterable[dict[str, Any]]) -> Iterator[str]:
    for e in events:
        yield json.dumps(e, separators=(",", ":")) + "\n"


# ------------------------------------------------------------------------------------ reading


@dataclass
class Unit:
    item: str
    station: str | None = None
    status: Literal["released", "waiting", "in process", "left", "scrapped"] = "released"
    """``left``: finished its route (the product shipped, a sub-assembly to stock)."""
    server: int | None = None
    """The server it is on (in process, or processed and not yet moved on)."""
    since: float = 0.0
    route_done: int = 0
    """Stations of its route passed."""
    released: float = 0.0
    order: str | None = None
    next: str | None = None
    """Processed and not yet moved: the station it goes to next (None: it waits where it is)."""
    returns: list[str] = field(default_factory=list)
    """Stations it goes back to after rework (a stack)."""
    fails: dict[str, int] = field(default_factory=dict)
    rework: bool = False
    """Failed a station and not yet passed it again (takes no new parts)."""
    rework_in: bool = False
    """Arrived where it waits or is processed in rework."""


@dataclass
class FloorState:
    """What the events up to ``now`` say is on the floor, and the events refused on the way."""

    now: float
    units: dict[int, Unit] = field(default_factory=dict)
    down: dict[str, set[int]] = field(default_factory=dict)
    down_since: dict[tuple[str, int], tuple[float, str]] = field(default_factory=dict)
    """(station, server) → (since, cause: failure or maintenance) of the servers down."""
    on_duty: dict[str, int] = field(default_factory=dict)
    stock: dict[str, int] = field(default_factory=dict)
    """On hand: bought materials (initial + delivered − taken) and finished sub-assemblies."""
    released: dict[str, int] = field(default_factory=dict)
    """Units released so far, by item."""
    accepted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    """(line number, reason) of every event refused."""
    last_t: float = 0.0

    def snapshot(self) -> FloorState:
        """A copy of what a forecast starts from: the open units (not those that have ended), the
        servers down, who is on duty and the stock (the counts of refused events are not copied)."""
        units = {
            k: replace(u, returns=list(u.returns), fails=dict(u.fails))
            for k, u in self.units.items()
            if u.status not in ("left", "scrapped")
        }
        return FloorState(
            now=self.now,
            units=units,
            down={k: set(v) for k, v in self.down.items()},
            down_since=dict(self.down_since),
            on_duty=dict(self.on_duty),
            stock=dict(self.stock),
            released=dict(self.released),
            accepted=self.accepted,
            last_t=self.last_t,
        )

    def summary(self, plant: Plant) -> dict[str, Any]:
        stations: dict[str, dict[str, Any]] = {
            name: {
                "waiting": 0,
                "in_process": 0,
                "servers": st.servers,
                "down": sorted(self.down.get(name, ())),
            }
            for name, st in plant.stations.items()
        }
        counts: dict[str, dict[str, int]] = {}
        for u in self.units.values():
            c = counts.setdefault(u.item, {"released": 0, "in_plant": 0, "finished": 0, "scrapped": 0})
            c["released"] += 1
            if u.status in ("left", "scrapped"):
                c["finished" if u.status == "left" else "scrapped"] += 1
                continue
            c["in_plant"] += 1
            if u.station is not None:
                stations[u.station]["waiting" if u.status == "waiting" else "in_process"] += 1
        reasons: dict[str, int] = {}
        for _, reason in self.rejected:
            kind = reason.split(":")[0]
            reasons[kind] = reasons.get(kind, 0) + 1
        return {
            "now_hours": self.now,
            "events_accepted": self.accepted,
            "events_rejected": len(self.rejected),
            "rejected_by_reason": reasons,
            "first_rejected": [{"line": n, "reason": r} for n, r in self.rejected[:20]],
            "units": counts,
            "stations": stations,
            "on_duty": dict(self.on_duty),
            "open_units": {
                str(k): {"item": u.item, "station": u.station, "status": u.status, "since_hours": u.since}
                for k, u in self.units.items()
                if u.status not in ("left", "scrapped")
            },
        }


class Floor:
    """The floor as events arrive, one line at a time (a log read in order, or a live feed)."""

    def __init__(self, plant: Plant) -> None:
        self.plant = plant
        self.state = FloorState(now=0.0)
        self.routes = {item: plant.route_of(item) for item in plant.made_items()}
        self.parts_at: dict[tuple[str, str], list[tuple[str, int]]] = {}
        """(item, station) → the parts (item, quantity) a unit of the item takes there."""
        for item, route in self.routes.items():
            for part in plant.bom(item):
                at = part.at if part.at is not None else route[0]
                self.parts_at.setdefault((item, at), []).append((part.item, part.quantity))
        self.lines = 0
        self.state.stock = {name: m.initial for name, m in plant.materials.items()}
        self.state.stock.update({item: 0 for item in self.routes if item != plant.release.item})

    def refuse(self, reason: str) -> None:
        """Count one line that was refused before it could be read (e.g. a message too large)."""
        self.lines += 1
        self.state.rejected.append((self.lines, reason))

    def feed(self, line: str, until: float | None = None) -> bool:
        """Apply one event line (refused ones are counted with their reason); False once an event is past
        ``until``, which is then not applied."""
        self.lines += 1
        number, state = self.lines, self.state
        if not line.strip():
            return True
        try:
            event = Event.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            state.rejected.append((number, f"bad JSON: {exc.msg}"))
            return True
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "event"
            state.rejected.append((number, f"bad event: {where}: {first['msg']}"))
            return True
        if until is not None and event.t > until:
            self.lines -= 1  # not consumed: the caller may feed it again later
            return False
        event.t = float(event.t)  # an integer in the JSON is a float here (the twin's state holds floats)
        problem = _apply(state, event, self)
        if problem is None:
            state.accepted += 1
            state.last_t = state.now = event.t
        else:
            state.rejected.append((number, problem))
        return True


def floor_state(plant: Plant, lines: Iterable[str], now: float | None = None) -> FloorState:
    """Replay the event lines up to ``now`` (all of them by default) into the state of the floor."""
    floor = Floor(plant)
    for line in lines:
        if not floor.feed(line, now):
            break  # a log is in time order: the rest is after the cut-off
    if now is not None:
        floor.state.now = now
    return floor.state


def _apply(state: FloorState, e: Event, floor: Floor) -> str | None:
    """Apply one event to the state; why it cannot be (None: applied)."""
    plant, routes = floor.plant, floor.routes
    if e.t < state.last_t:
        return f"time goes backwards: {e.t:g} h after {state.last_t:g} h"
    if e.station is not None and e.station not in plant.stations:
        return f"unknown station: {e.station!r}"
    if e.kind in ("clock_in", "clock_out"):
        if e.pool not in plant.operators:
            return f"unknown pool: {e.pool!r}"
        change = (e.count or 0) * (1 if e.kind == "clock_in" else -1)
        if state.on_duty.get(e.pool, 0) + change < 0:
            return f"impossible: {e.pool} would have fewer than 0 operators on duty"
        state.on_duty[e.pool] = state.on_duty.get(e.pool, 0) + change
        return None
    if e.kind in ("station_down", "station_up"):
        if e.station is None or e.server is None:
            return f"bad event: {e.kind} needs station and server"
        if e.server >= plant.stations[e.station].servers:
            return f"unknown server: {e.station} has {plant.stations[e.station].servers}, not {e.server}"
        down = state.down.setdefault(e.station, set())
        if e.kind == "station_down":
            down.add(e.server)
            state.down_since[e.station, e.server] = (e.t, e.cause or "failure")
        else:
            down.discard(e.server)
            state.down_since.pop((e.station, e.server), None)
        return None
    if e.kind == "delivered":
        if e.item not in plant.materials:
            return f"unknown material: {e.item!r}"
        state.stock[e.item] += e.count or 0
        return None
    if e.unit is None:
        return f"bad event: {e.kind} needs a unit"
    unit = state.units.get(e.unit)
    if e.kind == "released":
        if unit is not None:
            return f"released twice: unit {e.unit}"
        if e.item not in routes:
            return f"unknown item: {e.item!r}"
        state.units[e.unit] = Unit(item=e.item, since=e.t, released=e.t, order=e.order)
        state.released[e.item] = state.released.get(e.item, 0) + 1
        return None
    if unit is None:
        return f"unknown unit: {e.unit} was never released"
    if unit.status in ("left", "scrapped"):
        return (
            f"impossible: unit {e.unit} has {'left the plant' if unit.status == 'left' else 'been scrapped'}"
        )
    if e.station is None:
        return f"bad event: {e.kind} needs a station"
    if e.kind == "moved":
        if unit.status == "in process":
            return f"impossible: unit {e.unit} moved while in process at {unit.station}"
        unit.station, unit.status, unit.since, unit.server = e.station, "waiting", e.t, None
        unit.next, unit.rework_in = None, unit.rework
        return None
    if unit.station != e.station:
        return f"impossible: unit {e.unit} is at {unit.station}, not {e.station}"
    if e.kind == "started":
        if unit.status != "waiting" or unit.next is not None:
            return f"impossible: unit {e.unit} started twice at {e.station}"
        servers = plant.stations[e.station].servers
        if e.server is not None and e.server >= servers:
            return f"unknown server: {e.station} has {servers}, not {e.server}"
        unit.status, unit.since, unit.server = "in process", e.t, e.server
        if not unit.rework_in:
            for part, quantity in floor.parts_at.get((unit.item, e.station), ()):
                if part in state.stock:
                    state.stock[part] -= quantity
        return None
    if unit.status != "in process":
        return f"impossible: unit {e.unit} {e.kind} at {e.station} without starting there"
    unit.since = e.t
    if e.kind == "scrapped":
        unit.status, unit.server = "scrapped", None
        return None
    unit.status = "waiting"
    if e.kind == "failed":
        rework = plant.stations[e.station].rework
        if rework is None:
            return f"impossible: {e.station} has no rework station (a failed unit is scrapped)"
        unit.fails[e.station] = unit.fails.get(e.station, 0) + 1
        unit.returns.append(e.station)
        unit.rework, unit.next = True, rework
        return None
    if unit.returns:  # passed rework: back to the station that failed it
        unit.next = unit.returns.pop()
        return None
    unit.rework = False
    route = routes[unit.item]
    if unit.route_done < len(route) and route[unit.route_done] == e.station:
        unit.route_done += 1
    elif e.station in route:
        unit.route_done = route.index(e.station) + 1
    if unit.route_done >= len(route):
        unit.status, unit.server, unit.next = "left", None, None
        if unit.item in state.stock:
            state.stock[unit.item] += 1
    else:
        unit.next = route[unit.route_done]
    return None
