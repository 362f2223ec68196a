"""A straightforward SimPy model of an aifactory plant (``aifactory/plant-v1``): the benchmark baseline.

Why this exists: the plant twin's engine (``aifactory.plant.engine``, on the project's event kernel) is
timed against "the same plant written as a straightforward SimPy model", and the two must give the same
results. This module is that model, written from the rules of ``docs/plant.md`` ("The model") the way a
SimPy user would write it, one run at a time:

* a **process per unit** (rack or tray) walking its route: it waits to get into a station (at the door,
  blocked on its upstream server, or riding an AMR), waits for its job there to end, then decides its
  outcome (yield, rework and back, retries, scrap, kitting, the next station, stock or the exit) and
  moves on;
* a **process per job** holding a server: it processes for the drawn time, is interrupted
  (``simpy.Interrupt``) when the server breaks down or the job loses its operator, waits to resume and
  goes on with the work it had left, then hands its units back and lets its crew look for more work;
* **processes** for the release, every server's failures and repairs, every server's maintenance
  calendar and each maintenance, each weekly step of every operator pool's duty (shift starts and ends,
  breaks), every material's deliveries, and every AMR (drive empty, load, drive, unload, charge);
* **plain Python state** where SimPy has no primitive for the rule: a station's buffer with places, the
  FCFS line of units blocked on their upstream servers, servers that are idle and up, batching, parts
  stocks, operator pools whose size changes with the shift and who may be taken off a job (``pause``)
  and the pools' dispatching rule. (``simpy.Resource``/``Container`` do not express "a server stays
  occupied until its unit finds a place downstream", "take any free member of the first pool in the
  list that has one", or "a pool whose count drops below its busy members".)

Random numbers come from the engine's named streams (``aifactory.plant.distributions.stream``) in the
same order within each stream: a station's processing time drawn when a job starts, yields per unit
when the job ends (in the order of the job's units), every server's first time to failure at hour 0
in station and server order and the next one at each repair, repair times at each failure, maintenance
durations when one starts, a delivery's quantity then its gap, the release gap after each release. So
the two models make the same decisions, and give the same unit-by-unit times, as long as simultaneous
events are handled in the same order.

Simultaneous events. The engine's kernel orders equal times by priority (URGENT before NORMAL), then by
the order in which events were scheduled, and a handler does everything that follows from an event at
once (depth first). SimPy orders its queue the same way, but a process waiting on an event resumes only
when that event is processed, one step later at the same time, and a process's first step runs one
step after it is created. So that simultaneous events keep the engine's order:

* every timeout is created at the moment the engine schedules the same event (a job's completion when
  it starts or resumes, not in the job process's first step; an AMR's arrival at the pick-up when the
  AMR is assigned; a maintenance's end when it starts; a failure's repair before the job is stopped),
  with the engine's priority (failures, repairs and maintenance are URGENT, shift changes LATE);
* the one hand-over that leads to decisions, a job's end to its units' outcomes, is triggered URGENT
  (``wake``), so nothing due at the same time can overtake it; the crew's search for work follows the
  last unit's outcome in the same step, as in the engine;
* state another process may look at in the same instant (a server freed, a unit in a buffer, a place
  reserved, a crew member taken) is changed at once by whoever causes the change; the process that is
  woken (a unit admitted to a buffer, an AMR given a move, a job resumed) has nothing left to decide.

``tests/bench/test_simpy_plant.py`` shows a tie between a job's end and a release that would change
which unit gets the operator if the job's timeout were created in the job process instead.

``simulate_simpy(plant, days=D, seed=S)`` returns a :class:`SimpyResult` with every unit's release and
end (finished or scrapped) and the number of SimPy events processed; ``result.measures(warmup_hours)``
gives ``throughput_per_day`` and ``lead_time_hours`` as ``aifactory.plant.measures.run_measures``
defines them. ``python -m benchmarks.simpy_plant [PLANT] --days 365`` times one run of each model.
"""

from __future__ import annotations

import argparse
import heapq
import math
import sys
import time
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT, EventPriority

from aifactory.plant.calendar import weekly_duty
from aifactory.plant.checks import amr_fleet_of, crew_fleets, crew_pools
from aifactory.plant.distributions import Exponential, sampler, stream, uniforms
from aifactory.plant.floor import floor_plan
from aifactory.plant.model import Plant

LATE = cast(EventPriority, 2)
"""After the NORMAL events at the same time (shift changes, as in the engine)."""

Process = Generator[simpy.Event, Any, None]
Sampler = Callable[[], float]

WEEK_HOURS = 168.0
FINISHED = 3
"""Outcome of a unit that finished its route (the record codes of ``aifactory.plant.log``)."""
SCRAPPED = 2
NO_LIMIT = 1 << 60
INF = float("inf")

# server states
IDLE, RUN, PAUSED, DONE = 0, 1, 2, 3
# what a station's jobs need
NO_CREW, ONE_CREW, ASSISTED = 0, 1, 2


# ----------------------------------------------------------------------------------- environment


class PlantEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes and can schedule at an absolute time."""

    def __init__(self) -> None:
        super().__init__()
        self.processed = 0

    def step(self) -> None:
        self.processed += 1
        super().step()

    def run_through(self, until: float) -> None:
        """Process every event due at or before ``until`` (``Environment.run(until)`` stops before the
        events at ``until``; the engine processes them, so a unit finishing at the horizon counts)."""
        while self.peek() <= until:
            self.step()


class Timer(simpy.events.Event):
    """A timeout with a priority (URGENT: before the NORMAL events at the same time), due ``delay``
    after now, or at ``at`` exactly (``now + (at - now)`` need not equal ``at`` in floating point)."""

    def __init__(
        self,
        env: PlantEnvironment,
        delay: float = 0.0,
        *,
        at: float | None = None,
        priority: EventPriority = NORMAL,
    ) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        if at is None:
            env.schedule(self, priority, delay)
        else:
            queue: list[tuple[float, EventPriority, int, simpy.events.Event]] = env._queue
            heapq.heappush(queue, (at, priority, next(env._eid), self))


def wake(event: simpy.Event, value: Any = None) -> None:
    """Trigger ``event`` with URGENT priority: the waiting process resumes before the NORMAL events
    already due now (SimPy's own ``succeed`` schedules NORMAL, like a new event)."""
    event._ok = True
    event._value = value
    event.env.schedule(event, URGENT)


# ----------------------------------------------------------------------------------------- state


class Crew:
    """An operator pool, or an arm/humanoid fleet: interchangeable members, some on duty, some busy."""

    __slots__ = ("busy", "is_robot", "name", "on_duty", "pause", "stations")

    def __init__(self, name: str, on_duty: int, *, is_robot: bool, pause: bool) -> None:
        self.name = name
        self.on_duty = on_duty
        self.busy = 0
        self.is_robot = is_robot
        self.pause = pause
        self.stations: list[Station] = []


class Stock:
    """Units on hand of a bought material or of a made part (finished trays waiting for a rack)."""

    __slots__ = ("consumers", "level", "name")

    def __init__(self, name: str, level: int) -> None:
        self.name = name
        self.level = level
        self.consumers: list[Station] = []


class Server:
    """One server of a station and the job it holds."""

    __slots__ = (
        "broken",
        "crew_a",
        "crew_b",
        "down",
        "due",
        "gidx",
        "left",
        "live",
        "pm_due",
        "proc",
        "resume",
        "resumed_at",
        "start",
        "state",
        "station",
        "units",
    )

    def __init__(self, station: Station, gidx: int) -> None:
        self.station = station
        self.gidx = gidx
        self.state = IDLE
        self.units: list[Unit] = []
        self.down = 0
        """Outages under way (a failure, a maintenance)."""
        self.broken = False
        self.pm_due = False
        self.start = 0.0
        self.left = 0.0
        self.resumed_at = 0.0
        self.crew_a: Crew | None = None
        self.crew_b: Crew | None = None
        self.due: simpy.Event | None = None
        """The timeout of the work left of the job, while it runs."""
        self.proc: simpy.Process | None = None
        self.live = False
        """The job process has started (it can be interrupted)."""
        self.resume: simpy.Event | None = None


class Station:
    """A station: its buffer (queue and places), the line of units blocked on its door, its servers,
    its processing-time and yield draws, rework, batching, crew needs and parts."""

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
        """Places promised to units an AMR is bringing."""
        self.blocked: deque[tuple[Server | None, Unit]] = deque()
        """Units waiting for a place here, on their upstream server (None: at the door), FCFS."""
        self.servers: list[Server] = []
        self.free: list[Server] = []
        """Idle servers that are up; the last one freed is taken first."""
        self.crew_wait: list[Server] = []
        """Servers whose job lost its operator (``pause``)."""
        self.time: Sampler = lambda: 0.0
        self.yield_ = 1.0
        self.yield_draw: Sampler | None = None
        self.rework: Station | None = None
        self.retries = NO_LIMIT
        self.batch = 1
        self.batch_min = 1
        self.batch_wait = INF
        self.batch_timer = -1
        self.needs = NO_CREW
        self.crew_a: tuple[Crew, ...] = ()
        self.crew_b: tuple[Crew, ...] = ()
        self.factor = 1.0
        self.parts: tuple[tuple[Stock, int], ...] = ()
        self.node = -1


class Item:
    """What a unit of an item does: its route, its made parts (kit), its stock and its AMR fleet."""

    __slots__ = ("fleet", "idx", "is_product", "kit", "kit_after", "name", "parts_at", "route", "stock")

    def __init__(self, idx: int, name: str) -> None:
        self.idx = idx
        self.name = name
        self.is_product = idx == 0
        self.route: tuple[Station, ...] = ()
        self.kit: tuple[tuple[Item, int], ...] = ()
        self.kit_after: Station | None = None
        self.parts_at: dict[int, tuple[tuple[Stock, int], ...]] = {}
        """Its bill of materials by the station (index) where a unit takes the parts."""
        self.stock: Stock | None = None
        self.fleet: Fleet | None = None


class Unit:
    """A rack or a tray on its way through the plant (its process is :meth:`SimpyPlant.walk`)."""

    __slots__ = (
        "arrived", "done", "entered", "fails", "item", "kitted", "returns", "rework", "rework_in", "step",
        "uid",
    )  # fmt: skip

    def __init__(self, uid: int, item: Item) -> None:
        self.uid = uid
        self.item = item
        self.step = 0
        self.arrived = 0.0
        self.returns: list[tuple[Station, int]] = []
        """Stations to go back to after rework, with the route step there (a stack)."""
        self.fails: dict[int, int] = {}
        self.rework = False
        """Between a failure and passing the station that failed it."""
        self.rework_in = False
        """It came to its current station in rework (a retest takes no new parts)."""
        self.kitted = False
        self.done: simpy.Event | None = None
        """Triggered (with the server) when the job at the unit's current station ends."""
        self.entered: simpy.Event | None = None
        """Pending while the unit waits to get into a station (door, blocked, on an AMR)."""


class Amr:
    """One AMR (its process is :meth:`SimpyPlant.amr_process`)."""

    __slots__ = ("assign", "fleet", "gidx", "level", "node")

    def __init__(self, fleet: Fleet, gidx: int, node: int, level: float) -> None:
        self.fleet = fleet
        self.gidx = gidx
        self.node = node
        self.level = level
        """Hours of driving left in the battery."""
        self.assign: simpy.Event | None = None


class Fleet:
    """An AMR fleet: its robots, the idle ones and the moves waiting for one (first come, first served)."""

    __slots__ = (
        "amrs",
        "battery_h",
        "charge_h",
        "chargers",
        "idle",
        "load_h",
        "name",
        "requests",
        "speed_m_h",
        "threshold_h",
        "unload_h",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.amrs: list[Amr] = []
        self.idle: list[Amr] = []
        self.requests: deque[tuple[Unit, Server, Station]] = deque()
        self.speed_m_h = 3600.0
        self.load_h = 0.0
        self.unload_h = 0.0
        self.battery_h = INF
        self.charge_h = 0.0
        self.threshold_h = 0.0
        self.chargers: tuple[int, ...] = ()


# ---------------------------------------------------------------------------------------- result


@dataclass(frozen=True)
class SimpyResult:
    """One run of the SimPy model: every unit's release and end, and the events SimPy processed."""

    plant: Plant
    seed: int
    hours: float
    events: int
    released: np.ndarray
    """(unit, item, hour) rows; item 0 is the product."""
    ended: np.ndarray
    """(unit, hour, outcome) rows: outcome 3 finished, 2 scrapped."""
    wall_seconds: float = 0.0

    def unit_times(self, item: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(unit ids, release, end (NaN: still in the plant), outcome (-1: in the plant)) of ``item``."""
        n = len(self.released)
        uid = self.released[:, 0].astype(np.int64)
        release = np.full(n, np.nan)
        items = np.full(n, -1, dtype=np.int64)
        release[uid] = self.released[:, 2]
        items[uid] = self.released[:, 1].astype(np.int64)
        end = np.full(n, np.nan)
        outcome = np.full(n, -1, dtype=np.int64)
        if len(self.ended):
            e = self.ended[:, 0].astype(np.int64)
            end[e] = self.ended[:, 1]
            outcome[e] = self.ended[:, 2].astype(np.int64)
        keep = np.flatnonzero(items == item)
        return keep, release[keep], end[keep], outcome[keep]

    def finished(self) -> tuple[np.ndarray, np.ndarray]:
        """Release and finish times of the product's finished units, in order of unit id."""
        _, release, end, outcome = self.unit_times(0)
        done = outcome == FINISHED
        return release[done], end[done]

    def measures(self, warmup_hours: float) -> dict[str, float]:
        """Throughput per day and mean lead time of the product over (warm-up, end], as the engine's
        ``run_measures`` defines them, with the units scrapped and released in the window."""
        _, release, end, outcome = self.unit_times(0)
        w0, w1 = warmup_hours, self.hours
        in_window = (end > w0) & (end <= w1)
        done = in_window & (outcome == FINISHED)
        lead = end[done] - release[done]
        return {
            "throughput_per_day": int(done.sum()) / ((w1 - w0) / 24.0),
            "lead_time_hours": float(lead.mean()) if len(lead) else 0.0,
            "scrapped": int((in_window & (outcome == SCRAPPED)).sum()),
            "released": int(((release >= w0) & (release < w1)).sum()),
        }


# ----------------------------------------------------------------------------------------- model


class SimpyPlant:
    """One run of a plant as a SimPy simulation: ``SimpyPlant(plant, seed).run(hours)``."""

    def __init__(self, plant: Plant, seed: int) -> None:
        self.plant = plant
        self.seed = seed
        self.env = PlantEnvironment()
        self.released: list[tuple[int, int, float]] = []
        self.ended: list[tuple[int, float, int]] = []
        self.next_uid = 0
        self.wip = 0
        self.ordered = 0
        self.backlog = 0
        self.pm_duration: dict[int, Sampler] = {}
        """Maintenance duration of each station's servers (one stream per station)."""
        self._build()

    def rng(self, name: str) -> np.random.Generator:
        return stream(self.seed, name)

    # ---------------------------------------------------------------------------------- building

    def _build(self) -> None:
        plant = self.plant
        floor = floor_plan(plant)
        nodes = floor.index if floor is not None else {}
        self.distance: list[list[float]] = floor.distance.tolist() if floor is not None else []
        self.stations = [Station(i, name) for i, name in enumerate(plant.stations)]
        by_name = {s.name: s for s in self.stations}
        # crews: operator pools in the order written, then arm and humanoid fleets
        self.crews: list[Crew] = []
        self.duty: list[tuple[Crew, list[tuple[float, int]]]] = []
        for name, pool in plant.operators.items():
            steps = weekly_duty(pool, plant.weekday0())
            crew = Crew(
                name,
                pool.count if steps is None else steps[0][1],
                is_robot=False,
                pause=pool.at_shift_end == "pause",
            )
            self.crews.append(crew)
            if steps is not None:
                self.duty.append((crew, steps))
        for name, fleet in plant.robots.items():
            if fleet.kind != "amr":
                self.crews.append(Crew(name, fleet.count, is_robot=True, pause=True))
        crew_by_name = {c.name: c for c in self.crews}
        self.stocks = {name: Stock(name, m.initial) for name, m in plant.materials.items()}
        self.servers: list[Server] = []
        for st in self.stations:
            spec = plant.stations[st.name]
            st.cap = spec.buffer if spec.buffer is not None else NO_LIMIT
            st.time = sampler(spec.time_hours, self.rng(f"stations/{st.name}/time"))
            st.yield_ = spec.yield_
            if spec.yield_ < 1:
                st.yield_draw = uniforms(self.rng(f"stations/{st.name}/yield"))
            st.rework = by_name[spec.rework] if spec.rework is not None else None
            st.retries = spec.retries if spec.retries is not None else NO_LIMIT
            st.batch = spec.batch
            st.batch_min = spec.batch_min or 1
            st.batch_wait = spec.batch_wait_hours if spec.batch_wait_hours is not None else INF
            pools = tuple(crew_by_name[p] for p in crew_pools(plant, st.name))
            robots = tuple(crew_by_name[f] for f in crew_fleets(plant, st.name))
            if robots and pools and spec.robot_mode == "assist":
                st.needs, st.crew_a, st.crew_b = ASSISTED, pools, robots
                st.factor = spec.assist_time_factor
            elif robots or pools:
                st.needs, st.crew_a = ONE_CREW, robots + pools  # replace: a robot first, else an operator
            for crew in (*st.crew_a, *st.crew_b):
                crew.stations.append(st)
            st.node = nodes.get(st.name, -1)
            for _ in range(spec.servers):
                server = Server(st, len(self.servers))
                st.servers.append(server)
                self.servers.append(server)
            st.free = list(reversed(st.servers))  # the first server is taken first
        # items: the product, then the other made items in the order written
        names = plant.made_items()
        self.items = [Item(i, n) for i, n in enumerate(names)]
        item_by_name = {it.name: it for it in self.items}
        stock_by_name = dict(self.stocks)
        for it in self.items[1:]:
            it.stock = Stock(it.name, 0)
            stock_by_name[it.name] = it.stock
        self.fleets: dict[str, Fleet] = {}
        self.amrs: list[Amr] = []
        for name, fleet_spec in plant.robots.items():
            if fleet_spec.kind == "amr":
                self.fleets[name] = self._fleet(name, nodes)
        parts_at: dict[str, list[tuple[Stock, int]]] = {}
        for it in self.items:
            route = plant.route_of(it.name)
            it.route = tuple(by_name[s] for s in route)
            spec_item = plant.items.get(it.name)
            if spec_item is not None and spec_item.kit_after:
                it.kit_after = by_name[spec_item.kit_after]
            mover = amr_fleet_of(plant, it.name)
            it.fleet = self.fleets[mover] if mover is not None else None
            kit = []
            bom: dict[int, list[tuple[Stock, int]]] = {}
            for part in plant.bom(it.name):
                if part.item in item_by_name:
                    kit.append((item_by_name[part.item], part.quantity))
                at = part.at if part.at is not None else route[0]
                parts_at.setdefault(at, []).append((stock_by_name[part.item], part.quantity))
                bom.setdefault(by_name[at].idx, []).append((stock_by_name[part.item], part.quantity))
            it.kit = tuple(kit)
            it.parts_at = {station: tuple(lines) for station, lines in bom.items()}
        for station_name, parts in parts_at.items():
            st = by_name[station_name]
            st.parts = tuple(parts)
            for stock, _ in parts:
                if st not in stock.consumers:
                    stock.consumers.append(st)
        self.product = self.items[0]
        release = plant.release
        self.continuous = False
        if release.interarrival_hours is not None:
            self.interarrival = sampler(release.interarrival_hours, self.rng("release"))
        elif release.per_day is not None:
            gap = 24.0 / release.per_day
            self.interarrival = lambda: gap
        else:  # CONWIP with no rate: a new unit for each that leaves
            self.interarrival = lambda: 0.0
            self.continuous = True

    def _fleet(self, name: str, nodes: dict[str, int]) -> Fleet:
        spec = self.plant.robots[name]
        fleet = Fleet(name)
        fleet.speed_m_h = spec.speed * 3600.0
        fleet.load_h = spec.load_minutes / 60.0
        fleet.unload_h = spec.unload / 60.0
        if spec.battery is not None:
            fleet.battery_h = spec.battery.hours
            fleet.charge_h = spec.battery.charge_hours
            fleet.threshold_h = spec.battery.threshold * spec.battery.hours
            fleet.chargers = tuple(nodes[c] for c in spec.battery.chargers)
        home = spec.home
        if home is None:  # the first station of the product's route on the floor, else any node
            home = next((s for s in self.plant.product_route() if s in nodes), next(iter(nodes), None))
        start = nodes[home] if home is not None else -1
        for _ in range(spec.count):
            amr = Amr(fleet, len(self.amrs), start, fleet.battery_h)
            fleet.amrs.append(amr)
            self.amrs.append(amr)
        return fleet

    # -------------------------------------------------------------------------------------- run

    def run(self, hours: float) -> SimpyResult:
        env = self.env
        plant = self.plant
        started = time.perf_counter()
        env.process(self.release_process())
        for st in self.stations:
            spec = plant.stations[st.name]
            if spec.mtbf_hours is not None and spec.mttr_hours is not None:
                mttr = spec.mttr_hours
                law = Exponential(dist="exponential", mean=mttr) if isinstance(mttr, int | float) else mttr
                ttr = sampler(law, self.rng(f"stations/{st.name}/repair"))
                ttf = sampler(
                    Exponential(dist="exponential", mean=spec.mtbf_hours),
                    self.rng(f"stations/{st.name}/failure"),
                )
                for server in st.servers:
                    env.process(self.failure_process(server, ttf, ttr))
            if spec.maintenance is not None:
                pm = spec.maintenance
                self.pm_duration[st.idx] = sampler(
                    pm.duration_hours, self.rng(f"stations/{st.name}/maintenance")
                )
                n = len(st.servers)
                for k, server in enumerate(st.servers, start=1):
                    first = pm.first_hours if pm.first_hours is not None else pm.every_hours * k / n
                    env.process(self.maintenance_calendar(server, first, pm.every_hours))
        for crew, steps in self.duty:
            for hour, level in steps:
                env.process(self.duty_process(crew, hour if hour > 0 else WEEK_HOURS, level))
        for name, material in plant.materials.items():
            d = material.deliveries
            if d is not None:
                every = sampler(d.every_hours, self.rng(f"materials/{name}/every"))
                quantity = sampler(d.quantity, self.rng(f"materials/{name}/quantity"))
                env.process(self.delivery_process(self.stocks[name], d.first_hours, every, quantity))
        for amr in self.amrs:
            env.process(self.amr_process(amr))
        env.run_through(hours)
        return SimpyResult(
            plant,
            self.seed,
            hours,
            env.processed,
            np.array(self.released, dtype=np.float64).reshape(-1, 3),
            np.array(self.ended, dtype=np.float64).reshape(-1, 3),
            time.perf_counter() - started,
        )

    # ---------------------------------------------------------------------------------- release

    def release_process(self) -> Process:
        release = self.plant.release
        yield self.env.timeout(release.first_hours)
        limit, wip_limit = release.limit, release.wip_limit
        while True:
            n = (wip_limit or 0) if self.continuous else release.quantity
            if limit is not None:
                n = min(n, limit - self.ordered)
            for _ in range(n):
                self.ordered += 1
                if wip_limit is not None and self.wip >= wip_limit:
                    self.backlog += 1  # CONWIP: waits outside the plant
                else:
                    self.release_one()
            if self.continuous or (limit is not None and self.ordered >= limit):
                return
            yield self.env.timeout(self.interarrival())

    def release_one(self) -> None:
        unit = self.new_unit(self.product)
        self.wip += 1
        if self.product.kit_after is None:
            self.kit(unit)
        self.start_walk(unit, self.product.route[0])

    def product_left(self) -> None:
        self.wip -= 1
        limit = self.plant.release.limit
        if self.backlog:
            self.backlog -= 1
            self.release_one()
        elif self.continuous and (limit is None or self.ordered < limit):
            self.ordered += 1
            self.release_one()

    def new_unit(self, item: Item) -> Unit:
        unit = Unit(self.next_uid, item)
        self.next_uid += 1
        self.released.append((unit.uid, item.idx, self.env.now))
        return unit

    def kit(self, unit: Unit) -> None:
        """Release the made parts of ``unit`` (its trays) as units of their own."""
        unit.kitted = True
        for item, quantity in unit.item.kit:
            for _ in range(quantity):
                part = self.new_unit(item)
                if item.kit and item.kit_after is None:
                    self.kit(part)
                self.start_walk(part, item.route[0])

    def start_walk(self, unit: Unit, first: Station) -> None:
        """A unit from outside the plant: into the first station's buffer, or waiting at its door; its
        process then walks the route."""
        if not first.blocked and len(first.queue) + first.reserved < first.cap:
            self.arrive(unit, first)
        else:
            unit.entered = self.env.event()
            first.blocked.append((None, unit))
        self.env.process(self.walk(unit))

    # ------------------------------------------------------------------------------------- units

    def walk(self, unit: Unit) -> Process:
        """A unit's life: get into a station, wait for its job there, decide where it goes next."""
        while True:
            entered = unit.entered
            if entered is not None:
                yield entered  # at the door, blocked on its server, or on an AMR
            done = unit.done
            assert done is not None
            server = yield done
            if self.outcome(unit, server):
                return  # finished or scrapped

    def outcome(self, unit: Unit, server: Server) -> bool:
        """Pass or fail ``unit`` at the station of ``server`` and send it on; True when it has left."""
        st = server.station
        if st.yield_draw is not None and st.yield_draw() >= st.yield_:
            count = unit.fails.get(st.idx, 0) + 1
            unit.fails[st.idx] = count
            if st.rework is not None and count <= st.retries:
                unit.rework = True
                unit.returns.append((st, unit.step))
                self.depart(unit, server, st.rework)
                return False
            self.scrap(unit, server)
            return True
        if unit.returns:  # passed a rework station: back to the station that failed it
            back, unit.step = unit.returns.pop()
            self.depart(unit, server, back)
            return False
        unit.rework = False
        item = unit.item
        if item.kit_after is st and not unit.kitted:
            self.kit(unit)
        step = unit.step + 1
        if step == len(item.route):
            self.finish(unit, server)
            return True
        unit.step = step
        self.depart(unit, server, item.route[step])
        return False

    def depart(self, unit: Unit, server: Server, nxt: Station) -> None:
        """Move ``unit`` from ``server`` to ``nxt``: blocked when ``nxt`` has no place, by AMR between two
        stations on the floor, else at once."""
        if nxt.blocked or len(nxt.queue) + nxt.reserved >= nxt.cap:
            unit.entered = self.env.event()
            nxt.blocked.append((server, unit))
            return
        if unit.item.fleet is not None and server.station.node >= 0 and nxt.node >= 0:
            unit.entered = self.env.event()
            nxt.reserved += 1
            self.request_amr(unit, server, nxt)
        else:
            self.leave(unit, server)
            self.arrive(unit, nxt)

    def arrive(self, unit: Unit, st: Station, start: bool = True) -> None:
        """``unit`` is in ``st``'s buffer."""
        unit.arrived = self.env.now
        unit.rework_in = unit.rework
        unit.done = self.env.event()
        st.queue.append(unit)
        entered = unit.entered
        if entered is not None:
            unit.entered = None
            entered.succeed()
        if start and (st.free or st.batch_min > 1):  # a batch station notes a batch forming
            self.try_start(st)

    def leave(self, unit: Unit, server: Server) -> None:
        """``unit`` is off ``server`` (moved on, picked up, finished or scrapped)."""
        units = server.units
        units.remove(unit)
        if not units:
            self.server_free(server)

    def scrap(self, unit: Unit, server: Server) -> None:
        self.leave(unit, server)
        self.ended.append((unit.uid, self.env.now, SCRAPPED))
        if unit.item.is_product:
            self.product_left()
        else:  # a scrapped part is re-kitted: a replacement (with its own made parts) starts its route
            item = unit.item
            part = self.new_unit(item)
            if item.kit and item.kit_after is None:
                self.kit(part)
            self.start_walk(part, item.route[0])

    def finish(self, unit: Unit, server: Server) -> None:
        self.leave(unit, server)
        self.ended.append((unit.uid, self.env.now, FINISHED))
        stock = unit.item.stock
        if stock is None:
            self.product_left()
            return
        stock.level += 1
        for st in stock.consumers:
            if st.queue and st.free and with_parts(st, st.queue, 1):
                self.try_start(st)

    # ---------------------------------------------------------------------------------- stations

    def try_start(self, st: Station) -> None:
        """Start every job ``st`` can start now (units first come, first served)."""
        queue, free = st.queue, st.free
        now = self.env.now
        while queue and free:
            k = 1
            if st.batch > 1:
                k = min(len(queue), st.batch)
                if k < st.batch_min and now < queue[0].arrived + st.batch_wait:
                    self.wait_for_batch(st, queue[0])
                    return
            if st.parts:  # a batch is cut to the units whose parts are there
                k = with_parts(st, queue, k)
                if k == 0:
                    return
            crew_a = crew_b = None
            if st.needs:
                crew_a = next((c for c in st.crew_a if c.busy < c.on_duty), None)
                if crew_a is None:
                    return
                if st.needs == ASSISTED:  # a robot helps if one is free
                    crew_b = next((c for c in st.crew_b if c.busy < c.on_duty), None)
            units = [queue.popleft() for _ in range(k)]
            for unit in units:  # each takes what its bill of materials uses here (a retest: nothing)
                bom = None if unit.rework_in else unit.item.parts_at.get(st.idx)
                for stock, quantity in bom or ():
                    stock.level -= quantity
            self.start_job(free.pop(), units, crew_a, crew_b)
            if st.blocked:
                self.admit(st)
        if queue and len(queue) < st.batch_min and now < queue[0].arrived + st.batch_wait:
            self.wait_for_batch(st, queue[0])  # too few for a batch, whether or not a server is free

    def wait_for_batch(self, st: Station, head: Unit) -> None:
        if st.batch_wait != INF and st.batch_timer != head.uid:
            st.batch_timer = head.uid
            timer = Timer(self.env, at=head.arrived + st.batch_wait)
            timer.callbacks.append(lambda _: self.batch_timeout(st))

    def batch_timeout(self, st: Station) -> None:
        st.batch_timer = -1
        self.try_start(st)

    def admit(self, st: Station) -> None:
        """Let units waiting for a place at ``st`` in while there are places (the caller starts them)."""
        blocked = st.blocked
        while blocked and len(st.queue) + st.reserved < st.cap:
            server, unit = blocked.popleft()
            if server is None:
                self.arrive(unit, st, start=False)
            elif unit.item.fleet is not None and server.station.node >= 0 and st.node >= 0:
                st.reserved += 1
                self.request_amr(unit, server, st)
            else:
                self.leave(unit, server)
                self.arrive(unit, st, start=False)

    def start_job(self, server: Server, units: list[Unit], crew_a: Crew | None, crew_b: Crew | None) -> None:
        st = server.station
        now = self.env.now
        server.units = units
        server.state = RUN
        server.start = now
        server.resumed_at = now
        work = st.time()
        if crew_a is not None:
            crew_a.busy += 1
            server.crew_a = crew_a
            if crew_b is not None:
                crew_b.busy += 1
                server.crew_b = crew_b
                work *= st.factor
        server.left = work
        server.due = self.env.timeout(work)
        server.live = False
        server.proc = self.env.process(self.job(server))

    def job(self, server: Server) -> Process:
        """Processing on ``server``: stopped (interrupted) while the server is down or the job has no
        operator, resumed with the work left; then the units move on and the crew looks for work.

        The timeout of the work (left) is created by whoever starts or resumes the job, at that moment,
        as the engine schedules its completion (so equal times are ordered alike)."""
        server.live = True
        env = self.env
        while True:
            due = server.due
            try:
                if due is None:  # paused: wait to be resumed
                    server.resume = env.event()
                    yield server.resume
                else:
                    yield due
                    if due is server.due:
                        break
            except simpy.Interrupt:
                pass  # paused (perhaps resumed since): look at the state again
        server.state = DONE
        server.proc = None
        server.due = None
        server.resume = None
        units = list(server.units)
        st = server.station
        crew_a, crew_b = server.crew_a, server.crew_b
        server.crew_a = server.crew_b = None  # the crew stays busy while the units are sent on
        waits = [unit.done for unit in units]
        for done in waits:  # each unit decides its outcome, in the order of the job
            assert done is not None and done.callbacks, "a unit must be waiting for its job"
            wake(done, server)
        if crew_a is not None:
            assert waits[-1] is not None
            yield waits[-1]  # resumes right after the last unit has moved on
            crew_a.busy -= 1
            if crew_b is not None:
                crew_b.busy -= 1
            if st.queue and st.free:  # the next job here first, then where the pools are needed
                self.try_start(st)
            if crew_a.busy < crew_a.on_duty:
                self.dispatch(crew_a)
            if crew_b is not None and crew_b.busy < crew_b.on_duty:
                self.dispatch(crew_b)

    def update(self, server: Server) -> None:
        """Stop or resume ``server``'s job to match whether it is up and has its crew."""
        ok = server.down == 0 and (server.station.needs == NO_CREW or server.crew_a is not None)
        if server.state == RUN and not ok:
            server.left = max(server.left - (self.env.now - server.resumed_at), 0.0)
            server.state = PAUSED
            server.due = None
            if server.live and server.proc is not None:
                server.proc.interrupt()
        elif server.state == PAUSED and ok:
            server.state = RUN
            server.resumed_at = self.env.now
            # ``left`` can be a rounding error below 0 when the job was paused at the very time it was
            # due; like the engine (whose kernel accepts a negative delay), schedule it at now + left
            server.due = Timer(self.env, server.left)
            resume = server.resume
            if resume is not None and not resume.triggered:
                resume.succeed()

    def server_free(self, server: Server) -> None:
        server.state = IDLE
        if server.down == 0:
            if server.pm_due:
                self.start_maintenance(server)
                return
            st = server.station
            st.free.append(server)
            if st.queue:
                self.try_start(st)

    def server_ready(self, server: Server) -> None:
        """An outage of ``server`` ended: resume its job, start a due maintenance, or take work."""
        st = server.station
        if server.state in (RUN, PAUSED):
            if server.down == 0 and server in st.crew_wait:
                self.recrew(server)
            else:
                self.update(server)
        elif server.state == IDLE and server.down == 0:
            if server.pm_due:
                self.start_maintenance(server)
            else:
                st.free.append(server)
                self.try_start(st)

    # ------------------------------------------------------------------------------------- crews

    def dispatch(self, crew: Crew) -> None:
        """A member of ``crew`` is free: jobs paused for want of an operator at its stations first (in
        the order the stations are written), then the station whose first unit has waited longest."""
        ready = []
        for st in crew.stations:
            for server in list(st.crew_wait):
                if crew.busy >= crew.on_duty:
                    return
                if server.down == 0:
                    self.recrew(server)
            if st.queue and st.free:
                ready.append(st)
        ready.sort(key=lambda s: (s.queue[0].arrived, s.idx))
        for st in ready:
            if crew.busy >= crew.on_duty:
                return
            self.try_start(st)

    def recrew(self, server: Server) -> bool:
        st = server.station
        for crew in st.crew_a:
            if crew.busy < crew.on_duty:
                crew.busy += 1
                server.crew_a = crew
                st.crew_wait.remove(server)
                self.update(server)
                return True
        return False

    def duty_process(self, crew: Crew, first: float, level: int) -> Process:
        """One step of a pool's weekly duty (a shift or a break starting or ending), every week."""
        yield Timer(self.env, first, priority=LATE)
        while True:
            nxt = Timer(self.env, WEEK_HOURS, priority=LATE)
            before = crew.on_duty
            crew.on_duty = level
            if crew.busy > crew.on_duty and crew.pause:
                # `pause`: the jobs started last lose their operator and keep their server
                holders = [s for st in crew.stations for s in st.servers if s.crew_a is crew]
                holders.sort(key=lambda s: (s.start, s.gidx), reverse=True)
                for server in holders[: crew.busy - crew.on_duty]:
                    crew.busy -= 1
                    server.crew_a = None
                    server.station.crew_wait.append(server)
                    self.update(server)
            if crew.on_duty > before:
                self.dispatch(crew)
            yield nxt

    # ---------------------------------------------------------------------------------- outages

    def failure_process(self, server: Server, ttf: Sampler, ttr: Sampler) -> Process:
        """Failures of one server: after exponential(mtbf) hours from the end of its last repair."""
        env = self.env
        fails = Timer(env, ttf(), priority=URGENT)
        yield fails
        while True:
            st = server.station
            if server.state == IDLE and server.down == 0 and not server.pm_due:
                st.free.remove(server)
            server.down += 1
            server.broken = True
            repaired = Timer(env, ttr(), priority=URGENT)
            self.update(server)
            yield repaired
            server.down -= 1
            server.broken = False
            fails = Timer(env, ttf(), priority=URGENT)
            self.server_ready(server)
            yield fails

    def maintenance_calendar(self, server: Server, first: float, every: float) -> Process:
        """Maintenance falls due every ``every`` hours; an idle server starts it at once, a busy one when
        it empties."""
        yield Timer(self.env, first, priority=URGENT)
        while True:
            nxt = Timer(self.env, every, priority=URGENT)
            if not server.pm_due:
                server.pm_due = True
                if server.state == IDLE and server.down == 0:
                    server.station.free.remove(server)
                    self.start_maintenance(server)
            yield nxt

    def start_maintenance(self, server: Server) -> None:
        server.pm_due = False
        server.down += 1
        hours = self.pm_duration[server.station.idx]()
        self.env.process(self.maintenance(server, Timer(self.env, hours, priority=URGENT)))

    def maintenance(self, server: Server, done: Timer) -> Process:
        yield done
        server.down -= 1
        self.server_ready(server)

    def delivery_process(self, stock: Stock, first: float, every: Sampler, quantity: Sampler) -> Process:
        yield self.env.timeout(first)
        while True:
            stock.level += max(round(quantity()), 0)
            nxt = self.env.timeout(every())
            for st in stock.consumers:
                if st.queue and st.free:
                    self.try_start(st)
            yield nxt

    # ------------------------------------------------------------------------------------- AMRs

    def request_amr(self, unit: Unit, server: Server, nxt: Station) -> None:
        fleet = unit.item.fleet
        assert fleet is not None
        fleet.requests.append((unit, server, nxt))
        if fleet.idle:
            self.dispatch_amrs(fleet)

    def dispatch_amrs(self, fleet: Fleet) -> None:
        """Requests first come, first served, each by the idle AMR nearest to the pick-up."""
        distance = self.distance
        while fleet.idle and fleet.requests:
            unit, server, nxt = fleet.requests.popleft()
            src = server.station.node
            amr = min(fleet.idle, key=lambda a: (distance[a.node][src], a.gidx))
            fleet.idle.remove(amr)
            hours = distance[amr.node][src] / fleet.speed_m_h
            amr.level -= hours
            assert amr.assign is not None
            loaded = self.env.timeout(hours + fleet.load_h)  # drive to the unit, load it
            amr.assign.succeed((unit, server, nxt, loaded))

    def amr_process(self, amr: Amr) -> Process:
        env = self.env
        fleet = amr.fleet
        distance = self.distance
        while True:
            amr.assign = env.event()
            fleet.idle.append(amr)
            if fleet.requests:
                self.dispatch_amrs(fleet)
            unit, server, nxt, loaded = yield amr.assign
            yield loaded
            self.leave(unit, server)  # the server is free from now on
            src = server.station.node
            loaded_h = distance[src][nxt.node] / fleet.speed_m_h
            amr.level -= loaded_h
            yield env.timeout(loaded_h + fleet.unload_h)  # drive it over, unload it
            amr.node = nxt.node
            nxt.reserved -= 1
            self.arrive(unit, nxt)
            while fleet.chargers and amr.level < fleet.threshold_h:  # low: to the nearest charger
                charger = min(fleet.chargers, key=lambda c: (distance[amr.node][c], c))
                drive = distance[amr.node][charger] / fleet.speed_m_h
                amr.level = max(amr.level - drive, 0.0)
                charge = (fleet.battery_h - amr.level) / fleet.battery_h * fleet.charge_h
                yield env.timeout(drive + charge)
                amr.level = fleet.battery_h
                amr.node = charger


def with_parts(st: Station, queue: Any, k: int) -> int:
    """How many of the first ``k`` units waiting at ``st`` can start with the parts on hand."""
    need: dict[int, int] = {}
    for i in range(k):
        unit = queue[i]
        bom = None if unit.rework_in else unit.item.parts_at.get(st.idx)
        if bom is None:
            continue
        if any(stock.level < need.get(id(stock), 0) + q for stock, q in bom):
            return i
        for stock, q in bom:
            need[id(stock)] = need.get(id(stock), 0) + q
    return k


def simulate_simpy(plant: Plant, *, days: float, seed: int = 0) -> SimpyResult:
    """One run of ``plant`` over ``days`` from an empty plant, as a SimPy model."""
    return SimpyPlant(plant, seed).run(days * 24.0)


# ------------------------------------------------------------------------------------- command


def compare(plant_ref: str, days: float, seed: int, warmup_days: float) -> dict[str, Any]:
    """Time one run of the engine and one of the SimPy model on ``plant_ref``; their measures."""
    import gc

    from aifactory.plant.engine import simulate
    from aifactory.plant.loading import load_plant
    from aifactory.plant.measures import run_measures

    plant = load_plant(plant_ref)
    simulate(plant, days=1, seed=seed)  # warm-up: lazy imports (scipy for the floor plan), caches
    simulate_simpy(plant, days=1, seed=seed)
    gc.collect()
    t0 = time.perf_counter()
    run = simulate(plant, days=days, seed=seed)
    engine_s = time.perf_counter() - t0
    gc.collect()
    t0 = time.perf_counter()
    res = simulate_simpy(plant, days=days, seed=seed)
    simpy_s = time.perf_counter() - t0
    m = run_measures(run, warmup_days * 24.0)
    s = res.measures(warmup_days * 24.0)
    engine_release, engine_end, engine_out = _engine_units(run)
    _, release, end, outcome = res.unit_times(0)
    same = len(release) == len(engine_release) and bool(
        np.array_equal(release, engine_release)
        and np.array_equal(np.nan_to_num(end, nan=-1), np.nan_to_num(engine_end, nan=-1))
        and np.array_equal(outcome, engine_out)
    )
    return {
        "plant": plant_ref,
        "days": days,
        "seed": seed,
        "warmup_days": warmup_days,
        "engine": {
            "seconds": engine_s,
            "events": run.events,
            "throughput_per_day": m["throughput_per_day"],
            "lead_time_hours": m["lead_time_hours"],
            "scrapped": m["scrapped"],
        },
        "simpy": {
            "seconds": simpy_s,
            "events": res.events,
            "throughput_per_day": s["throughput_per_day"],
            "lead_time_hours": s["lead_time_hours"],
            "scrapped": s["scrapped"],
        },
        "speed_ratio": simpy_s / engine_s,
        "relative_difference": {
            "throughput_per_day": _rel(s["throughput_per_day"], m["throughput_per_day"]),
            "lead_time_hours": _rel(s["lead_time_hours"], m["lead_time_hours"]),
        },
        "identical_units": same,
    }


def _engine_units(run: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = run.records
    n = len(r.released)
    uid = r.released[:, 0].astype(np.int64)
    release = np.full(n, np.nan)
    item = np.full(n, -1, dtype=np.int64)
    release[uid] = r.released[:, 2]
    item[uid] = r.released[:, 1].astype(np.int64)
    end = np.full(n, np.nan)
    outcome = np.full(n, -1, dtype=np.int64)
    if len(r.ended):
        e = r.ended[:, 0].astype(np.int64)
        end[e] = r.ended[:, 1]
        outcome[e] = r.ended[:, 2].astype(np.int64)
    keep = item == 0
    return release[keep], end[keep], outcome[keep]


def _rel(a: float, b: float) -> float:
    return (a - b) / b if b else (0.0 if a == b else math.inf)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the plant engine against its SimPy model.")
    parser.add_argument("plant", nargs="?", default="foxconn-houston")
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--warmup-days", type=float, default=14.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = compare(args.plant, args.days, args.seed, args.warmup_days)
    import json

    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
