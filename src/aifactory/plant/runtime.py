"""The mutable state of one plant run: units, stations and their servers, crews, stocks, AMRs.

Built once per run from a validated :class:`~aifactory.plant.model.Plant` by :func:`build_state`; the
engine's handlers change it. Objects are slotted and refer to each other directly, so the handlers do no
lookups by name. Every random draw comes from a stream named after its purpose
(:mod:`aifactory.plant.distributions`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from aifactory.plant.calendar import weekly_duty
from aifactory.plant.checks import amr_fleet_of, crew_fleets, crew_pools
from aifactory.plant.distributions import Sampler, sampler, stream, uniforms
from aifactory.plant.floor import FloorPlan, floor_plan
from aifactory.plant.model import Plant
from aifactory.plant.resources import WEEKDAYS

# server states
IDLE = 0
RUN = 1
"""Processing: the job's completion is scheduled."""
PAUSED = 2
"""Holding a job whose progress has stopped (server down, or its crew away)."""
DONE = 3
"""Processed; its units wait to leave (blocked downstream, waiting for an AMR)."""

# crew needs of a station
NO_CREW = 0
ONE_CREW = 1
"""One member of ``crew_a`` (an operator, a robot, or either with robot_mode replace)."""
ASSISTED = 2
"""An operator from ``crew_a``, helped by a robot from ``crew_b`` when one is free (robot_mode assist)."""

# why a station's queue is not started although a server is free (intervals recorded for the lead-time
# breakdown; a queue behind busy servers is WAIT_NONE)
WAIT_NONE = 0
WAIT_BATCH = 2
WAIT_CREW = 3
WAIT_PARTS = 4
WAIT_REASONS = {WAIT_NONE: "server", WAIT_BATCH: "batch", WAIT_CREW: "operator", WAIT_PARTS: "parts"}

NO_LIMIT = 1 << 60


class Crew:
    """An operator pool, or an arm/humanoid fleet: interchangeable members, some on duty, some busy."""

    __slots__ = ("busy", "idx", "is_robot", "name", "on_duty", "pause_at_end", "stations")

    def __init__(self, idx: int, name: str, on_duty: int, *, is_robot: bool, pause_at_end: bool) -> None:
        self.idx = idx
        self.name = name
        self.is_robot = is_robot
        self.on_duty = on_duty
        self.busy = 0
        self.pause_at_end = pause_at_end
        self.stations: list[Station] = []
        """Stations it can work at, in the order of the plant file."""


class Stock:
    """Units of an item on hand: a bought material, or finished sub-assemblies waiting to be used."""

    __slots__ = ("consumers", "idx", "is_material", "level", "name")

    def __init__(self, idx: int, name: str, level: int, *, is_material: bool) -> None:
        self.idx = idx
        self.name = name
        self.level = level
        self.is_material = is_material
        self.consumers: list[Station] = []


class Server:
    """One of a station's parallel servers, and the job it holds."""

    __slots__ = (
        "broken",
        "crew_a",
        "crew_b",
        "down",
        "end",
        "failed_at",
        "gidx",
        "job",
        "left",
        "pause_cause",
        "pause_since",
        "pm_at",
        "pm_due",
        "resumed_at",
        "start",
        "state",
        "station",
        "ticket",
        "units",
    )

    def __init__(self, station: Station, gidx: int) -> None:
        self.station = station
        self.gidx = gidx
        self.state = IDLE
        self.units: list[Unit] = []
        self.down = 0
        """Outages under way (a failure, a maintenance): the server works only at 0."""
        self.broken = False
        self.failed_at = 0.0
        self.pm_due = False
        self.pm_at = -1.0
        """When the maintenance under way began (-1: none)."""
        self.ticket = 0
        self.job = -1
        self.start = 0.0
        self.end = 0.0
        self.left = 0.0
        """Processing hours left of the job when it was last (re)started."""
        self.resumed_at = 0.0
        self.pause_since = 0.0
        self.pause_cause = 0
        self.crew_a: Crew | None = None
        self.crew_b: Crew | None = None


class Station:
    """A work centre: buffer, parallel servers, processing-time and yield streams, crew needs, parts."""

    __slots__ = (
        "batch",
        "batch_min",
        "batch_timer",
        "batch_wait",
        "blocked",
        "cap",
        "crew_a",
        "crew_b",
        "crew_wait",
        "factor",
        "free",
        "idx",
        "name",
        "needs",
        "node",
        "parts",
        "queue",
        "reason",
        "reason_since",
        "reserved",
        "retries",
        "rework",
        "servers",
        "time",
        "yield_",
        "yield_draw",
    )

    def __init__(self, idx: int, name: str) -> None:
        self.idx = idx
        self.name = name
        self.queue: deque[Unit] = deque()
        self.cap = NO_LIMIT
        self.reserved = 0
        """Places promised to units on their way here."""
        self.blocked: deque[tuple[Server | None, Unit]] = deque()
        """Units waiting for a place here: on an upstream server (or at the door, ``None``)."""
        self.servers: list[Server] = []
        self.free: list[Server] = []
        """Servers that are idle and up."""
        self.crew_wait: list[Server] = []
        """Servers holding a job that waits for its crew."""
        self.time: Sampler = lambda: 0.0
        self.yield_ = 1.0
        self.yield_draw: Sampler | None = None
        self.rework: Station | None = None
        self.retries = NO_LIMIT
        self.batch = 1
        self.batch_min = 1
        self.batch_wait = float("inf")
        self.batch_timer = -1
        """Id of the unit a batch timeout is scheduled for (-1: none)."""
        self.needs = NO_CREW
        self.crew_a: tuple[Crew, ...] = ()
        self.crew_b: tuple[Crew, ...] = ()
        self.factor = 1.0
        self.parts: tuple[tuple[Stock, int], ...] = ()
        """Every part some item takes here (what the items take: ``ItemFlow.parts_at``)."""
        self.node = -1
        self.reason = WAIT_NONE
        self.reason_since = 0.0


class ItemFlow:
    """What a unit of an item does: its route, the parts it is kitted with, its stock, its AMRs."""

    __slots__ = ("fleet", "idx", "is_product", "kit", "kit_after", "name", "parts_at", "route", "stock")

    def __init__(self, idx: int, name: str, *, is_product: bool) -> None:
        self.idx = idx
        self.name = name
        self.is_product = is_product
        self.route: tuple[Station, ...] = ()
        self.kit: tuple[tuple[ItemFlow, int], ...] = ()
        """Made parts released for each unit (its bill of materials' sub-assemblies)."""
        self.kit_after: Station | None = None
        self.parts_at: dict[int, tuple[tuple[Stock, int], ...]] = {}
        """Its bill of materials by the station (index) where a unit takes the parts."""
        self.stock: Stock | None = None
        """Where finished units of a sub-assembly go (None for the product, which leaves)."""
        self.fleet: Fleet | None = None


class Unit:
    """A rack or a tray on its way through the plant."""

    __slots__ = (
        "arrived",
        "fails",
        "item",
        "job",
        "kitted",
        "outcome",
        "returns",
        "rework",
        "rework_in",
        "space_at",
        "step",
        "uid",
    )

    def __init__(self, uid: int, item: ItemFlow) -> None:
        self.uid = uid
        self.item = item
        self.step = 0
        self.arrived = 0.0
        self.space_at = 0.0
        self.job = -1
        self.outcome = 0
        """How the unit leaves its current server (a visit outcome of :mod:`aifactory.plant.log`)."""
        self.returns: list[tuple[Station, int]] | None = None
        """Where to go back to after rework (a stack: rework may itself fail into rework)."""
        self.fails: dict[int, int] | None = None
        self.rework = False
        self.rework_in = False
        self.kitted = False


class Amr:
    """One autonomous mobile robot."""

    __slots__ = ("fleet", "gidx", "level", "node")

    def __init__(self, fleet: Fleet, gidx: int, node: int, level: float) -> None:
        self.fleet = fleet
        self.gidx = gidx
        self.node = node
        self.level = level
        """Hours of driving left in the battery."""


class Fleet:
    """An AMR fleet: its robots, the idle ones, and the moves waiting for one."""

    __slots__ = (
        "amrs",
        "battery_h",
        "charge_h",
        "chargers",
        "idle",
        "idx",
        "load_h",
        "name",
        "requests",
        "speed_m_h",
        "threshold_h",
        "unload_h",
    )

    def __init__(self, idx: int, name: str) -> None:
        self.idx = idx
        self.name = name
        self.amrs: list[Amr] = []
        self.idle: list[Amr] = []
        self.requests: deque[tuple[Unit, Server, Station, float]] = deque()
        self.speed_m_h = 3600.0
        self.load_h = 0.0
        self.unload_h = 0.0
        self.battery_h = float("inf")
        self.charge_h = 0.0
        self.threshold_h = 0.0
        self.chargers: tuple[int, ...] = ()


@dataclass
class PlantState:
    """Everything a run changes, built from a plant and a seed."""

    plant: Plant
    stations: list[Station]
    crews: list[Crew]
    stocks: list[Stock]
    items: list[ItemFlow]
    fleets: list[Fleet]
    floor: FloorPlan | None
    duty: list[list[tuple[float, int]] | None]
    """Weekly on-duty steps of each crew (None: always on duty)."""
    product: ItemFlow
    seed: int
    servers: list[Server] = field(default_factory=list)
    amrs: list[Amr] = field(default_factory=list)

    def stream(self, name: str) -> np.random.Generator:
        return stream(self.seed, name)


def build_state(plant: Plant, seed: int) -> PlantState:
    """The state at hour 0 of a run of ``plant`` with ``seed``: everything idle, stocks at ``initial``."""
    floor = floor_plan(plant)
    node_index = floor.index if floor is not None else {}
    stations = [Station(i, name) for i, name in enumerate(plant.stations)]
    by_name = {s.name: s for s in stations}
    crews: list[Crew] = []
    duty: list[list[tuple[float, int]] | None] = []
    for name, pool in plant.operators.items():
        steps = weekly_duty(pool, plant.weekday0())
        crews.append(
            Crew(
                len(crews),
                name,
                pool.count if steps is None else steps[0][1],
                is_robot=False,
                pause_at_end=pool.at_shift_end == "pause",
            )
        )
        duty.append(steps)
    workers = {n: f for n, f in plant.robots.items() if f.kind != "amr"}
    for name, fleet in workers.items():
        crews.append(Crew(len(crews), name, fleet.count, is_robot=True, pause_at_end=True))
        duty.append(None)
    crew_by_name = {c.name: c for c in crews}
    stocks = [
        Stock(i, name, m.initial, is_material=True) for i, (name, m) in enumerate(plant.materials.items())
    ]
    state = PlantState(
        plant, stations, crews, stocks, [], [], floor, duty, ItemFlow(0, "", is_product=True), seed
    )
    for st, name in zip(stations, plant.stations, strict=True):
        _build_station(state, st, name, by_name, crew_by_name, node_index)
    _build_items(state, by_name, node_index)
    return state


def _build_station(
    state: PlantState,
    st: Station,
    name: str,
    by_name: dict[str, Station],
    crew_by_name: dict[str, Crew],
    node_index: dict[str, int],
) -> None:
    spec = state.plant.stations[name]
    st.cap = spec.buffer if spec.buffer is not None else NO_LIMIT
    st.time = sampler(spec.time_hours, state.stream(f"stations/{name}/time"))
    st.yield_ = spec.yield_
    if spec.yield_ < 1:
        st.yield_draw = uniforms(state.stream(f"stations/{name}/yield"))
    st.rework = by_name[spec.rework] if spec.rework is not None else None
    st.retries = spec.retries if spec.retries is not None else NO_LIMIT
    st.batch = spec.batch
    st.batch_min = spec.batch_min or 1
    st.batch_wait = spec.batch_wait_hours if spec.batch_wait_hours is not None else float("inf")
    pools = tuple(crew_by_name[p] for p in crew_pools(state.plant, name))
    robots = tuple(crew_by_name[f] for f in crew_fleets(state.plant, name))
    if robots and pools and spec.robot_mode == "assist":
        st.needs, st.crew_a, st.crew_b, st.factor = ASSISTED, pools, robots, spec.assist_time_factor
    elif robots or pools:
        st.needs, st.crew_a = ONE_CREW, robots + pools  # replace: a robot first, else an operator
    for crew in (*st.crew_a, *st.crew_b):
        crew.stations.append(st)
    st.node = node_index.get(name, -1)
    for _ in range(spec.servers):
        server = Server(st, len(state.servers))
        st.servers.append(server)
        state.servers.append(server)
    st.free = list(reversed(st.servers))  # the first server is taken first


def _build_items(state: PlantState, by_name: dict[str, Station], node_index: dict[str, int]) -> None:
    plant = state.plant
    names = plant.made_items()
    flows = [ItemFlow(i, name, is_product=i == 0) for i, name in enumerate(names)]
    flow_by_name = {f.name: f for f in flows}
    stock_by_name = {s.name: s for s in state.stocks}
    for flow in flows[1:]:
        flow.stock = Stock(len(state.stocks), flow.name, 0, is_material=False)
        state.stocks.append(flow.stock)
        stock_by_name[flow.name] = flow.stock
    amr_names = [n for n, f in plant.robots.items() if f.kind == "amr"]
    fleets = {n: _build_fleet(state, i, n, node_index) for i, n in enumerate(amr_names)}
    state.fleets = list(fleets.values())
    parts_at: dict[str, list[tuple[Stock, int]]] = {}
    for flow in flows:
        route = plant.route_of(flow.name)
        flow.route = tuple(by_name[s] for s in route)
        spec = plant.items.get(flow.name)
        flow.kit_after = by_name[spec.kit_after] if spec is not None and spec.kit_after else None
        fleet = amr_fleet_of(plant, flow.name)
        flow.fleet = fleets[fleet] if fleet is not None else None
        kit: list[tuple[ItemFlow, int]] = []
        bom: dict[int, list[tuple[Stock, int]]] = {}
        for part in plant.bom(flow.name):
            if part.item in flow_by_name:
                kit.append((flow_by_name[part.item], part.quantity))
            at = part.at if part.at is not None else route[0]
            parts_at.setdefault(at, []).append((stock_by_name[part.item], part.quantity))
            bom.setdefault(by_name[at].idx, []).append((stock_by_name[part.item], part.quantity))
        flow.kit = tuple(kit)
        flow.parts_at = {station: tuple(lines) for station, lines in bom.items()}
    for station_name, parts in parts_at.items():
        st = by_name[station_name]
        st.parts = tuple(parts)
        for stock, _ in parts:
            if st not in stock.consumers:
                stock.consumers.append(st)
    state.items = flows
    state.product = flows[0]


def _build_fleet(state: PlantState, idx: int, name: str, node_index: dict[str, int]) -> Fleet:
    spec = state.plant.robots[name]
    fleet = Fleet(idx, name)
    fleet.speed_m_h = spec.speed * 3600.0
    fleet.load_h = spec.load_minutes / 60.0
    fleet.unload_h = spec.unload / 60.0
    if spec.battery is not None:
        fleet.battery_h = spec.battery.hours
        fleet.charge_h = spec.battery.charge_hours
        fleet.threshold_h = spec.battery.threshold * spec.battery.hours
        fleet.chargers = tuple(node_index[c] for c in spec.battery.chargers)
    home = spec.home
    if home is None:
        product_route = state.plant.product_route()
        home = next((s for s in product_route if s in node_index), next(iter(node_index), None))
    start = node_index[home] if home is not None else -1
    for _ in range(spec.count):
        amr = Amr(fleet, len(state.amrs), start, fleet.battery_h)
        fleet.amrs.append(amr)
        state.amrs.append(amr)
    fleet.idle = list(reversed(fleet.amrs))
    return fleet


def with_parts(st: Station, queue: deque[Unit], k: int) -> int:
    """How many of the first ``k`` units waiting at ``st`` can start with the parts on hand (each takes
    what its item's bill of materials uses here; a unit back from rework takes nothing new)."""
    if k == 1:
        unit = queue[0]
        bom = None if unit.rework_in else unit.item.parts_at.get(st.idx)
        if bom is not None:
            for stock, quantity in bom:
                if stock.level < quantity:
                    return 0
        return 1
    need: dict[int, int] = {}
    for i in range(k):
        unit = queue[i]
        bom = None if unit.rework_in else unit.item.parts_at.get(st.idx)
        if bom is None:
            continue
        for stock, quantity in bom:
            if stock.level < need.get(stock.idx, 0) + quantity:
                return i
        for stock, quantity in bom:
            need[stock.idx] = need.get(stock.idx, 0) + quantity
    return k


def weekday_name(plant: Plant) -> str:
    return WEEKDAYS[plant.weekday0()]
