"""A run of the plant twin that starts from the floor at a time (a warm start), not from an empty plant.

The floor (:class:`~aifactory.plant.events.FloorState`, rebuilt from the shop-floor events) says where
every open unit is, which servers are down, who is on shift and what is in stock. The run puts each
unit back: in its station's queue in the order it arrived, on its server with the rest of its job, or,
processed and not yet moved on, on its server (blocking it) or — when that server has started another
job — on its way to the next station. A job under way gets the rest of a fresh draw of its time
given the hours it has already run (the draw is repeated until it is longer; a job that has outrun
every draw finishes at once). A server that is down is repaired after a fresh draw of its repair time;
calendars (shifts, maintenance, releases) go on where they are.

What the log cannot say is drawn afresh or simplified: an AMR's trip under way becomes a move that
takes no time, operators and robots are given to the jobs under way in the plant file's order of
preference, and the release backlog of a random release rate starts empty. A server the log says is
down at a station the plant file gives no failures (nor maintenance) stays down: there is no repair time
to draw.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from aifactory.plant.engine import PlantSim
from aifactory.plant.events import FloorState
from aifactory.plant.events import Unit as FloorUnit
from aifactory.plant.log import MOVED_ON
from aifactory.plant.model import Plant
from aifactory.plant.runtime import ASSISTED, DONE, IDLE, RUN, Crew, ItemFlow, Server, Station, Unit
from aifactory.sim.kernel import LATE, NORMAL

RESIDUAL_DRAWS = 32
"""Draws of a job's time tried for one longer than the hours it has run."""
STEP_HOURS = 24.0
"""How often a forecast run checks whether every unit it follows has ended."""

F = npt.NDArray[np.float64]


class WarmSim:
    """A run (a :class:`~aifactory.plant.engine.PlantSim`) from ``floor`` at ``floor.now``; :meth:`follow`
    runs it until the floor's open units end."""

    def __init__(self, plant: Plant, seed: int, floor: FloorState, *, new_releases: bool = True) -> None:
        self.sim = PlantSim(plant, seed)
        self.sim.watch = self._ended
        self.floor = floor
        self.new_releases = new_releases
        """Release new units after the floor's time as the plant does (False: only the open units run)."""
        self.open_ids = [k for k, u in floor.units.items() if u.status not in ("left", "scrapped")]
        """Floor ids of the units followed, in the order of the arrays :meth:`follow` returns."""
        n = len(self.open_ids)
        self.ends = np.full(n, np.inf)
        self.shipped = np.zeros(n, dtype=bool)
        self.remaining = n

    # ----------------------------------------------------------------------------------- the run

    def follow(self, horizon_hours: float) -> tuple[F, npt.NDArray[np.bool_]]:
        """Run from the floor until every open unit has ended or ``horizon_hours`` have passed; when
        each ended (infinity: not within the horizon) and whether it finished (not scrapped)."""
        now = self.floor.now
        self.sim.kernel.now = now
        self._place()
        self.sim.kernel.at(now + 24.0, self.sim._flush, None, LATE)
        collecting = gc.isenabled()
        gc.disable()
        try:
            until, end = now, now + horizon_hours
            while self.remaining and until < end:
                until = min(until + STEP_HOURS, end)
                self.sim.kernel.run(until)
        finally:
            if collecting:
                gc.enable()
        return self.ends, self.shipped

    def _ended(self, unit: Unit, finished: bool) -> None:
        if unit.uid < len(self.ends):
            self.ends[unit.uid] = self.sim.kernel.now
            self.shipped[unit.uid] = finished
            self.remaining -= 1

    # ----------------------------------------------------------------------------- the warm start

    def _place(self) -> None:
        floor, state = self.floor, self.sim.state
        stations = {st.name: st for st in state.stations}
        items = {f.name: f for f in state.items}
        for stock in state.stocks:
            if stock.name in floor.stock:
                stock.level = max(floor.stock[stock.name], 0)
        self._crews_at(floor)
        units = [self._unit(uid, floor.units[k], items, stations) for uid, k in enumerate(self.open_ids)]
        self.sim.releases.next_uid = len(units)
        order = sorted(range(len(units)), key=lambda i: (floor.units[self.open_ids[i]].since, i))
        doors: list[tuple[Unit, Station]] = []
        leaving: list[tuple[Unit, Server, Station]] = []
        jobs: dict[Server, list[Unit]] = {}
        for i in order:  # jobs under way first: a server the log has since given another job is theirs
            f, unit = floor.units[self.open_ids[i]], units[i]
            if f.status == "in process" and f.station is not None:
                st = stations[f.station]
                server = self._server_for(st, f.server, jobs)
                if server is None:
                    st.queue.append(unit)
                else:
                    jobs.setdefault(server, []).append(unit)
        for server, job in jobs.items():
            self._resume(server, job, floor.units[self.open_ids[job[0].uid]].since)
        for i in order:
            f, unit = floor.units[self.open_ids[i]], units[i]
            if f.status == "in process":
                continue
            if f.station is None:  # released, not yet at its first station
                doors.append((unit, unit.item.route[0]))
            elif f.next is not None:
                st, nxt = stations[f.station], stations[f.next]
                held = st.servers[f.server] if f.server is not None and f.server < len(st.servers) else None
                if held is not None and (held.state == IDLE or (held.state == DONE and held.end == f.since)):
                    self._hold(held, unit, f.since)
                    leaving.append((unit, held, nxt))
                else:
                    doors.append((unit, nxt))  # its server has taken another job: on its way
            else:
                stations[f.station].queue.append(unit)
        plant = state.plant
        maintained = {n for n, spec in plant.stations.items() if spec.maintenance is not None}
        for (name, k), (since, cause) in floor.down_since.items():
            if name in stations and k < len(stations[name].servers):
                self._down(stations[name].servers[k], since, cause == "maintenance" and name in maintained)
        product = self.sim.state.product.name
        in_plant = sum(
            u.item == product and u.status not in ("left", "scrapped") for u in floor.units.values()
        )
        released = floor.released.get(product, 0)
        if self.new_releases:
            self.sim.releases.start_warm(released, in_plant)
        else:
            self.sim.releases.wip, self.sim.releases.ordered, self.sim.releases.limit = (
                in_plant,
                released,
                released,
            )
        self.sim.start_outages()
        for unit, server, nxt in leaving:
            if server.units:
                self.sim._depart(unit, server, nxt, MOVED_ON)
        for unit, st in doors:
            self.sim.releases.enter(unit, st)
        for st in state.stations:
            if st.queue and st.free:
                self.sim._try_start(st)

    def _unit(self, uid: int, f: FloorUnit, items: dict[str, ItemFlow], by_name: dict[str, Station]) -> Unit:
        unit = Unit(uid, items[f.item])
        item = unit.item
        unit.step = min(f.route_done, len(item.route) - 1)  # where it is, or goes next, on its route
        unit.rework = f.rework
        unit.rework_in = f.rework_in
        if f.fails:
            unit.fails = {by_name[s].idx: n for s, n in f.fails.items()}
        if f.returns:
            unit.returns = [(by_name[s], f.route_done) for s in f.returns]
        kit_after = item.kit_after
        unit.kitted = kit_after is None or f.route_done > item.route.index(kit_after)
        unit.arrived = f.since
        self.sim.log.released.extend((uid, item.idx, f.released))
        return unit

    def _server_for(self, st: Station, k: int | None, jobs: dict[Server, list[Unit]]) -> Server | None:
        """The server a unit is on: the one the log names if it is free (or holds the same job), else
        the first free one; None when every server is taken."""
        if k is not None and k < len(st.servers):
            server = st.servers[k]
            if server.state == IDLE and (server not in jobs or len(jobs[server]) < st.batch):
                return server
        for server in st.servers:
            if server.state == IDLE and server not in jobs:
                return server
        return None

    def _hold(self, server: Server, unit: Unit, since: float) -> None:
        """``unit`` is processed and waits on ``server`` to move on."""
        if server.state == IDLE:
            server.station.free.remove(server)
        server.state = DONE
        server.end = since
        server.units.append(unit)
        unit.space_at = since

    def _resume(self, server: Server, units: list[Unit], since: float) -> None:
        """Put a job under way back on ``server``: the rest of a fresh draw of its time."""
        st = server.station
        now = self.sim.kernel.now
        st.free.remove(server)
        job = self.sim.next_job
        self.sim.next_job += 1
        for unit in units:
            unit.job = job
            unit.arrived = min(unit.arrived, since)
        server.units = list(units)
        server.job, server.state, server.start, server.resumed_at = job, RUN, since, now
        factor = 1.0
        if st.needs:
            crew_a = _free(st.crew_a)
            if crew_a is not None:
                crew_a.busy += 1
                server.crew_a = crew_a
                crew_b = _free(st.crew_b) if st.needs == ASSISTED else None
                if crew_b is not None:
                    crew_b.busy += 1
                    server.crew_b = crew_b
                    factor = st.factor
        server.left = _residual(lambda: st.time() * factor, now - since)
        server.ticket += 1
        self.sim.kernel.at(now + server.left, self.sim._finish, (server, server.ticket), NORMAL)
        if st.needs and server.crew_a is None:
            st.crew_wait.append(server)
            self.sim.update(server)

    def _down(self, server: Server, since: float, maintenance: bool) -> None:
        st = server.station
        if server in st.free:
            st.free.remove(server)
        server.down += 1
        if maintenance:
            server.pm_at = since
        else:  # a failure (or a maintenance the plant file does not know: repaired as one)
            server.broken = True
            server.failed_at = since
        self.sim.update(server)

    def _crews_at(self, floor: FloorState) -> None:
        """Operators on duty: what the floor's clock-ins say, else the shift calendar at the time."""
        now = floor.now
        for crew, steps in zip(self.sim.state.crews, self.sim.state.duty, strict=True):
            if crew.name in floor.on_duty:
                crew.on_duty = floor.on_duty[crew.name]
            elif steps is not None:
                hour = now % 168.0
                crew.on_duty = steps[-1][1]
                for h, level in steps:
                    if h <= hour:
                        crew.on_duty = level


def _free(crews: tuple[Crew, ...]) -> Crew | None:
    for crew in crews:
        if crew.busy < crew.on_duty:
            return crew
    return None


def _residual(draw: Callable[[], float], elapsed: float) -> float:
    """Hours left of a job that has run ``elapsed``: a draw longer than that, less ``elapsed``."""
    for _ in range(RESIDUAL_DRAWS):
        work = draw()
        if work > elapsed:
            return work - elapsed
    return 0.0
