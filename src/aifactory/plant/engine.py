"""The plant twin's discrete-event engine: units flowing through stations, on the shared event kernel.

The rules, in the order a unit meets them (``docs/plant.md`` has the full list):

* **Release.** Units of the product enter at the release rate; with ``wip_limit`` a release waits in a
  backlog while that many units are in the plant (CONWIP). A unit whose first station's buffer is full
  waits at the door (its lead time runs: it has been released).
* **Kitting.** A unit's made parts (trays of a rack) are released when it is released, or when it
  passes its item's ``kit_after`` station. Sub-assemblies are interchangeable: a rack takes any
  finished trays from stock at the station that uses them. A scrapped sub-assembly is re-kitted at once.
* **Start.** A station starts a job when a server is idle and up, the batch rule allows (at least
  ``batch_min`` units waiting, or the first has waited ``batch_wait_hours``; up to ``batch`` taken),
  the parts for every unit of the job are in stock, and its crew is on duty and free. Units are taken
  first come, first served. An operator who finishes a job takes the next at the same station if one
  can start; otherwise the station of their pool whose first waiting unit has waited longest, after
  any job that was paused waiting for an operator.
* **Processing** takes one draw of the station's time (per job), × ``assist_time_factor`` when an
  operator and a robot work together. It stops while the server is down (a failure or a maintenance)
  and while its crew is away, and resumes where it stopped.
* **Outcome.** Each unit passes with the station's yield; a failed unit goes to the rework station
  and then back (at most ``retries`` times, then it is scrapped), or, with no rework station, is
  scrapped. A unit that finishes its route leaves the plant (the product) or goes to stock (a part).
* **Moves.** A unit moves on when the next station's buffer has a place (else it blocks its server);
  between two stations on the layout it waits, on its server, for an AMR of its item's fleet, which
  drives empty to it, loads, drives, unloads. Other moves take no time.

The core is pure: the plant, the seed and the horizon are arguments; the result is the run's records.
"""

from __future__ import annotations

import functools
import gc
import heapq
from collections.abc import Callable

from aifactory.plant.index import PlantIndex
from aifactory.plant.log import FAILED, FINISHED, MOVED_ON, REWORK_IN, REWORK_OUT, SCRAPPED, Records, RunLog
from aifactory.plant.model import Plant
from aifactory.plant.outages import Outages
from aifactory.plant.release import Releases
from aifactory.plant.result import PlantRun
from aifactory.plant.runtime import (
    ASSISTED,
    DONE,
    IDLE,
    PAUSED,
    RUN,
    WAIT_BATCH,
    WAIT_CREW,
    WAIT_NONE,
    WAIT_PARTS,
    Crew,
    Server,
    Station,
    Unit,
    build_state,
    with_parts,
)
from aifactory.plant.transport import Transport
from aifactory.sim.kernel import LATE, NORMAL, Kernel

FLUSH_HOURS = 24.0
"""How often the run's log is turned into numpy chunks (see :class:`~aifactory.plant.log.RunLog`)."""


class PlantSim(Outages):
    """One run of a plant. ``PlantSim(plant, seed).run(hours)`` simulates ``hours`` from an empty plant."""

    def __init__(self, plant: Plant, seed: int) -> None:
        self.kernel = Kernel()
        self.state = build_state(plant, seed)
        self.log = RunLog()
        self.transport = Transport(self.kernel, self.state, self.log, self._leave, self._arrive)
        self.releases = Releases(self.kernel, self.state, self.log, self._arrive, self._try_start)
        self.next_job = 0
        # bound once: the hot paths below call these hundreds of thousands of times
        self._after = self.kernel.after
        self._push = functools.partial(heapq.heappush, self.kernel.heap)  # Kernel.after, without a frame
        self._sequence = self.kernel.sequence
        self._on_finish = self._finish
        self._visits = self.log.visits.extend
        self._jobs = self.log.jobs.extend
        self.watch: Callable[[Unit, bool], None] | None = None
        """Told of every unit that ends: True when it finished its route, False when scrapped."""

    # ------------------------------------------------------------------------------------------ run

    def run(self, hours: float) -> PlantRun:
        """Simulate from hour 0 to ``hours``; the records of the run.

        The cyclic garbage collector is paused while the events run (they make no reference cycles,
        only many short-lived objects it would otherwise scan again and again) and resumed after."""
        self.releases.start()
        self.start_outages()
        self.kernel.at(FLUSH_HOURS, self._flush, None, LATE)
        collecting = gc.isenabled()
        gc.disable()
        try:
            self.kernel.run(hours)
        finally:
            if collecting:
                gc.enable()
        self.close(hours)
        return PlantRun(
            self.state.plant,
            self.state.seed,
            hours,
            self.kernel.processed,
            Records.from_log(self.log),
            PlantIndex.from_state(self.state),
        )

    def _flush(self, _: object = None) -> None:
        self.log.flush()
        self.kernel.after(FLUSH_HOURS, self._flush, None, LATE)

    # ---------------------------------------------------------------------------------- the station

    def _arrive(self, unit: Unit, st: Station, start: bool = True) -> None:
        unit.arrived = self.kernel.now
        unit.rework_in = unit.rework
        st.queue.append(unit)
        if start and (st.free or st.batch_min > 1):  # a batch station notes a batch forming, too
            self._try_start(st)

    def _try_start(self, st: Station) -> None:
        """Start every job the station can start now; note why the rest of its queue waits."""
        queue = st.queue
        free = st.free
        while queue and free:
            k = 1
            if st.batch > 1:
                n = len(queue)
                k = n if n < st.batch else st.batch
                if k < st.batch_min and self.kernel.now < queue[0].arrived + st.batch_wait:
                    self._wait_for_batch(st, queue[0])
                    return
            if st.parts:
                k = with_parts(st, queue, k)
                if k == 0:
                    if st.reason != WAIT_PARTS:
                        self._set_reason(st, WAIT_PARTS)
                    return
            crew_a: Crew | None = None
            crew_b: Crew | None = None
            if st.needs:
                for crew in st.crew_a:
                    if crew.busy < crew.on_duty:
                        crew_a = crew
                        break
                else:
                    if st.reason != WAIT_CREW:
                        self._set_reason(st, WAIT_CREW)
                    return
                if st.needs == ASSISTED:  # a robot helps if one is free
                    for crew in st.crew_b:
                        if crew.busy < crew.on_duty:
                            crew_b = crew
                            break
            # start the job on a free server
            now = self.kernel.now
            server = free.pop()
            job = self.next_job
            self.next_job = job + 1
            if k == 1:
                unit = queue.popleft()
                unit.job = job
                server.units = [unit]
            else:
                server.units = [queue.popleft() for _ in range(k)]
                for unit in server.units:
                    unit.job = job
            if st.parts:
                self._use_parts(st, server.units)
            server.job = job
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
            ticket = server.ticket + 1
            server.ticket = ticket
            self._push((now + work, NORMAL, self._sequence(), self._on_finish, (server, ticket)))
            if st.blocked:
                self._admit(st)
        if (
            queue
            and st.batch_min > 1
            and len(queue) < st.batch_min
            and self.kernel.now < queue[0].arrived + st.batch_wait
        ):
            self._wait_for_batch(st, queue[0])  # too few for a batch, whether or not a server is free
        elif st.reason:
            self._set_reason(st, WAIT_NONE)

    def _use_parts(self, st: Station, units: list[Unit]) -> None:
        """Take the parts the bills of materials of ``units`` use here from stock."""
        now = self.kernel.now
        for unit in units:
            bom = None if unit.rework_in else unit.item.parts_at.get(st.idx)
            if bom is not None:
                for stock, quantity in bom:
                    stock.level -= quantity
                    if stock.is_material:
                        self.log.stock.extend((stock.idx, now, stock.level))

    def _wait_for_batch(self, st: Station, head: Unit) -> None:
        if st.reason != WAIT_BATCH:
            self._set_reason(st, WAIT_BATCH)
        if st.batch_wait != float("inf") and st.batch_timer != head.uid:
            st.batch_timer = head.uid
            self.kernel.at(head.arrived + st.batch_wait, self._batch_timeout, st)

    def _batch_timeout(self, st: Station) -> None:
        st.batch_timer = -1
        self._try_start(st)

    def _set_reason(self, st: Station, reason: int) -> None:
        """The station's queue now waits for ``reason`` (WAIT_NONE: nothing but busy servers)."""
        now = self.kernel.now
        if st.reason != WAIT_NONE and now > st.reason_since:
            self.log.reasons.extend((st.idx, st.reason, st.reason_since, now))
        st.reason = reason
        st.reason_since = now

    def _admit(self, st: Station) -> None:
        """Let units waiting for a place here in, while there are places (they start in the caller)."""
        blocked = st.blocked
        while blocked and len(st.queue) + st.reserved < st.cap:
            server, unit = blocked.popleft()
            if server is None:
                self._arrive(unit, st, start=False)
            else:
                unit.space_at = self.kernel.now
                self._move(unit, server, st, start=False)

    # ------------------------------------------------------------------------------------- finishing

    def _finish(self, arg: tuple[Server, int]) -> None:
        server, ticket = arg
        if ticket != server.ticket:
            return  # stopped (and rescheduled) since this was due
        st = server.station
        now = self.kernel.now
        server.state = DONE
        server.end = now
        units = server.units
        crew_a = server.crew_a
        crew_b = server.crew_b
        a = -1 if crew_a is None else crew_a.idx
        b = -1 if crew_b is None else crew_b.idx
        self._jobs((server.job, server.gidx, server.start, now, a, b))
        if crew_a is not None:  # the crew stays busy while the units are sent on
            server.crew_a = None
            server.crew_b = None
        if len(units) == 1:
            self._outcome(units[0], server, st)
        else:
            for unit in list(units):
                self._outcome(unit, server, st)
        if crew_a is not None:  # then takes the next job here, else goes where it is needed
            crew_a.busy -= 1
            if crew_b is not None:
                crew_b.busy -= 1
            if st.queue and st.free:
                self._try_start(st)
            if crew_a.busy < crew_a.on_duty:
                self._dispatch(crew_a)
            if crew_b is not None and crew_b.busy < crew_b.on_duty:
                self._dispatch(crew_b)

    def _outcome(self, unit: Unit, server: Server, st: Station) -> None:
        """Pass or fail the unit that ``server`` processed, and send it on."""
        if st.yield_draw is not None and st.yield_draw() >= st.yield_:
            fails = unit.fails if unit.fails is not None else {}
            count = fails.get(st.idx, 0) + 1
            fails[st.idx] = count
            unit.fails = fails
            if st.rework is not None and count <= st.retries:
                unit.rework = True
                if unit.returns is None:
                    unit.returns = []
                unit.returns.append((st, unit.step))
                self._depart(unit, server, st.rework, FAILED)
            else:
                self._scrap(unit, server)
            return
        if unit.returns:
            back, unit.step = unit.returns.pop()
            self._depart(unit, server, back, MOVED_ON)
            return
        unit.rework = False
        item = unit.item
        if item.kit_after is st and not unit.kitted:
            self.releases.kit(unit)
        step = unit.step + 1
        if step == len(item.route):
            self._finished(unit, server)
            return
        unit.step = step
        self._depart(unit, server, item.route[step], MOVED_ON)

    def _depart(self, unit: Unit, server: Server, nxt: Station, outcome: int) -> None:
        unit.outcome = outcome
        if nxt.blocked or len(nxt.queue) + nxt.reserved >= nxt.cap:
            nxt.blocked.append((server, unit))
            return
        unit.space_at = self.kernel.now
        if unit.item.fleet is not None and server.station.node >= 0 and nxt.node >= 0:
            nxt.reserved += 1
            self.transport.request(unit, server, nxt)
        else:  # a move that takes no time (what _arrive does, inlined: the line's hottest path)
            self._leave(unit, server)
            unit.arrived = self.kernel.now
            unit.rework_in = unit.rework
            nxt.queue.append(unit)
            if nxt.free or nxt.batch_min > 1:
                self._try_start(nxt)

    def _move(self, unit: Unit, server: Server, nxt: Station, *, start: bool) -> None:
        if unit.item.fleet is not None and server.station.node >= 0 and nxt.node >= 0:
            nxt.reserved += 1
            self.transport.request(unit, server, nxt)
        else:
            self._leave(unit, server)
            self._arrive(unit, nxt, start)

    def _leave(self, unit: Unit, server: Server) -> None:
        """The unit is off ``server`` (moved on, picked up by an AMR, scrapped or finished)."""
        self._visits(
            (
                unit.uid,
                server.station.idx,
                unit.job,
                unit.arrived,
                unit.space_at,
                self.kernel.now,
                unit.outcome,
                (REWORK_IN if unit.rework_in else 0) | (REWORK_OUT if unit.rework else 0),
            )
        )
        units = server.units
        if len(units) == 1:  # what _server_free does, inlined for the common case
            server.units = []
            server.state = IDLE
            if server.down == 0:
                if server.pm_due:
                    self.start_maintenance(server)
                    return
                st = server.station
                st.free.append(server)
                if st.queue:
                    self._try_start(st)
        else:
            units.remove(unit)
            if not units:
                self._server_free(server)

    def _scrap(self, unit: Unit, server: Server) -> None:
        now = self.kernel.now
        unit.space_at = now
        unit.outcome = SCRAPPED
        self._leave(unit, server)
        self.log.ended.extend((unit.uid, now, SCRAPPED))
        if self.watch is not None:
            self.watch(unit, False)
        if unit.item.is_product:
            self.releases.product_left()
        else:  # re-kitted: a replacement (with its own made parts) starts the route
            item = unit.item
            part = self.releases.new_unit(item)
            if item.kit and item.kit_after is None:
                self.releases.kit(part)
            self.releases.enter(part, item.route[0])

    def _finished(self, unit: Unit, server: Server) -> None:
        now = self.kernel.now
        unit.space_at = now
        unit.outcome = FINISHED
        self._leave(unit, server)
        self.log.ended.extend((unit.uid, now, FINISHED))
        if self.watch is not None:
            self.watch(unit, True)
        stock = unit.item.stock
        if stock is None:
            self.releases.product_left()
            return
        stock.level += 1
        for st in stock.consumers:
            if st.queue and st.free:
                head = st.queue[0]
                bom = None if head.rework_in else head.item.parts_at.get(st.idx)
                if bom is not None:
                    for part, quantity in bom:
                        if part.level < quantity:
                            break
                    else:
                        self._try_start(st)
                else:
                    self._try_start(st)

    def _server_free(self, server: Server) -> None:
        server.state = IDLE
        if server.down == 0:
            if server.pm_due:
                self.start_maintenance(server)
                return
            st = server.station
            st.free.append(server)
            if st.queue:
                self._try_start(st)

    # ----------------------------------------------------------------------------------------- crews

    def _dispatch(self, crew: Crew) -> None:
        """A member of ``crew`` is free: paused jobs first, then the longest-waiting station."""
        ready = None
        for st in crew.stations:
            if st.crew_wait:
                for server in list(st.crew_wait):
                    if crew.busy >= crew.on_duty:
                        return
                    if server.down == 0:
                        self._recrew(server)
            if st.queue and st.free:
                ready = [st] if ready is None else [*ready, st]
        if ready is None:
            return
        if len(ready) > 1:
            ready.sort(key=lambda s: (s.queue[0].arrived, s.idx))
        for st in ready:
            if crew.busy >= crew.on_duty:
                return
            self._try_start(st)

    def _recrew(self, server: Server) -> bool:
        """Give a job that lost its operator a free one, and resume it."""
        st = server.station
        for crew in st.crew_a:
            if crew.busy < crew.on_duty:
                crew.busy += 1
                server.crew_a = crew
                st.crew_wait.remove(server)
                self.update(server)
                return True
        return False

    # --------------------------------------------------------------------------------------- closing

    def close(self, hours: float) -> None:
        """Record what is still under way at the end of the run, as if it ended there."""
        log = self.log
        log.finished_jobs = log.rows("jobs")
        for server in self.state.servers:
            st = server.station
            if server.state in (RUN, PAUSED):
                if server.state == PAUSED:
                    self.close_pause(server)
                for unit in server.units:  # in process at the end: a visit still under way
                    flags = (REWORK_IN if unit.rework_in else 0) | (REWORK_OUT if unit.rework else 0)
                    log.visits.extend((unit.uid, st.idx, unit.job, unit.arrived, hours, hours, -1, flags))
                crew_a, crew_b = server.crew_a, server.crew_b
                a = -1 if crew_a is None else crew_a.idx
                b = -1 if crew_b is None else crew_b.idx
                log.jobs.extend((server.job, server.gidx, server.start, hours, a, b))
            elif server.state == DONE:
                for unit in server.units:
                    space = unit.space_at if unit.space_at >= server.end else hours
                    flags = (REWORK_IN if unit.rework_in else 0) | (REWORK_OUT if unit.rework else 0)
                    log.visits.extend((unit.uid, st.idx, unit.job, unit.arrived, space, hours, -1, flags))
        for st in self.state.stations:
            for unit in st.queue:  # waiting at the end: a visit with no job yet
                flags = REWORK_IN if unit.rework_in else 0
                log.visits.extend((unit.uid, st.idx, -1, unit.arrived, hours, hours, -1, flags))
            if st.reason:
                self._set_reason(st, WAIT_NONE)
        self.close_outages(hours)
        self.transport.close(hours)


def simulate(plant: Plant, *, days: float, seed: int = 0) -> PlantRun:
    """One run of ``plant`` over ``days`` from an empty plant."""
    return PlantSim(plant, seed).run(days * 24.0)
