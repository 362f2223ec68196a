"""What interrupts the work: failures and repairs, planned maintenance, shift changes, deliveries.

* **Failures** strike each server of a station with ``mtbf_hours`` after exponential(mtbf) hours of
  calendar time, idle or busy, counted from the end of the previous repair; the repair takes
  ``mttr_hours`` (a number is an exponential mean). A job on the server stops and resumes after the
  repair with the work it had left; its crew stays with it.
* **Maintenance** falls due every ``every_hours`` on a fixed calendar; a server with a job (or units
  waiting to leave it) finishes first, then goes down for ``duration_hours``.
* **Shift changes** come after the other events of their instant (a job due exactly at a shift's end
  is finished): when fewer operators of a pool are on duty than are busy, with ``at_shift_end:
  pause`` the jobs started last lose their operator and pause, keeping their server, until an operator
  of a pool they can use is free; with ``finish`` the operators finish the job in hand and then leave
  (nobody new starts until the pool is back under its on-duty count).
* **Deliveries** of a material add their quantity to its stock.
"""

from __future__ import annotations

import math

from aifactory.plant.distributions import Exponential, Sampler, sampler
from aifactory.plant.log import (
    OUTAGE_FAILURE,
    OUTAGE_MAINTENANCE,
    PAUSE_CREW,
    PAUSE_DOWN,
    PAUSE_DOWN_NO_CREW,
    RunLog,
)
from aifactory.plant.runtime import IDLE, NO_CREW, PAUSED, RUN, Crew, PlantState, Server, Station, Stock
from aifactory.sim.kernel import LATE, URGENT, Kernel

WEEK_HOURS = 168.0


class Outages:
    """The engine's handlers for interruptions (a mixin of :class:`~aifactory.plant.engine.PlantSim`)."""

    kernel: Kernel
    state: PlantState
    log: RunLog

    # provided by the engine
    def _finish(self, arg: tuple[Server, int]) -> None:
        raise NotImplementedError

    def _dispatch(self, crew: Crew) -> None:
        raise NotImplementedError

    def _recrew(self, server: Server) -> bool:
        raise NotImplementedError

    def _try_start(self, st: Station) -> None:
        raise NotImplementedError

    def _server_free(self, server: Server) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------------------------ start-up

    def start_outages(self) -> None:
        """Schedule the first failure and maintenance of every server, shift changes and deliveries.

        From a warm start (the clock past 0), calendars continue where they are, a server already down
        is repaired (or its maintenance ends) after a fresh draw, and the next failure of the others
        comes after a fresh draw of their time to failure (exact for the exponential)."""
        plant = self.state.plant
        now = self.kernel.now
        self._ttf: dict[int, Sampler] = {}
        self._ttr: dict[int, Sampler] = {}
        self._pm_time: dict[int, Sampler] = {}
        for st in self.state.stations:
            spec = plant.stations[st.name]
            if spec.mtbf_hours is not None and spec.mttr_hours is not None:
                mttr = spec.mttr_hours
                law = Exponential(dist="exponential", mean=mttr) if isinstance(mttr, int | float) else mttr
                self._ttr[st.idx] = sampler(law, self.state.stream(f"stations/{st.name}/repair"))
                ttf = sampler(
                    Exponential(dist="exponential", mean=spec.mtbf_hours),
                    self.state.stream(f"stations/{st.name}/failure"),
                )
                self._ttf[st.idx] = ttf
                for server in st.servers:
                    if server.broken:
                        self.kernel.after(self._ttr[st.idx](), self._repair, server, URGENT)
                    else:
                        self.kernel.after(ttf(), self._fail, server, URGENT)
            if spec.maintenance is not None:
                pm = spec.maintenance
                rng = self.state.stream(f"stations/{st.name}/maintenance")
                self._pm_time[st.idx] = sampler(pm.duration_hours, rng)
                n = len(st.servers)
                for k, server in enumerate(st.servers, start=1):
                    first = pm.first_hours if pm.first_hours is not None else pm.every_hours * k / n
                    if first < now:
                        first += (math.floor((now - first) / pm.every_hours) + 1) * pm.every_hours
                    self.kernel.at(first, self._maintenance_due, (server, pm.every_hours), URGENT)
                    if server.pm_at >= 0:
                        self.kernel.after(self._pm_time[st.idx](), self._maintenance_end, server, URGENT)
        for crew, steps in zip(self.state.crews, self.state.duty, strict=True):
            if steps is None:
                continue
            week = math.floor(now / WEEK_HOURS) * WEEK_HOURS
            for i, (hour, _) in enumerate(steps):
                t = week + hour
                self.kernel.at(t if t > now else t + WEEK_HOURS, self._duty, (crew, i), LATE)
        for stock in self.state.stocks:
            material = plant.materials.get(stock.name) if stock.is_material else None
            if material is not None and material.deliveries is not None:
                d = material.deliveries
                every = sampler(d.every_hours, self.state.stream(f"materials/{stock.name}/every"))
                quantity = sampler(d.quantity, self.state.stream(f"materials/{stock.name}/quantity"))
                arg = (stock, every, quantity)
                if d.first_hours >= now:
                    self.kernel.at(d.first_hours, self._delivery, arg)
                else:
                    self.kernel.after(every(), self._delivery, arg)
        for stock in self.state.stocks:
            if stock.is_material:
                self.log.stock.extend((stock.idx, now, stock.level))

    # ------------------------------------------------------------------------------ job progress

    def update(self, server: Server) -> None:
        """Stop or resume ``server``'s job to match whether it is up and has its crew.

        The pause is recorded with its cause: operator away, server down, or both (down for the unit's
        lead time; not busy for the operator)."""
        st = server.station
        crewed = st.needs == NO_CREW or server.crew_a is not None
        ok = server.down == 0 and crewed
        state = server.state
        if state == RUN:
            if not ok:
                now = self.kernel.now
                server.left = max(server.left - (now - server.resumed_at), 0.0)
                server.ticket += 1
                server.state = PAUSED
                server.pause_since = now
                server.pause_cause = (
                    PAUSE_DOWN if crewed else PAUSE_DOWN_NO_CREW if server.down else PAUSE_CREW
                )
        elif state == PAUSED:
            if ok:
                self.close_pause(server)
                server.state = RUN
                server.resumed_at = self.kernel.now
                server.ticket += 1
                self.kernel.after(server.left, self._finish, (server, server.ticket))
            else:
                cause = PAUSE_DOWN if crewed else PAUSE_DOWN_NO_CREW if server.down else PAUSE_CREW
                if cause != server.pause_cause:
                    self.close_pause(server)
                    server.pause_cause = cause
                    server.pause_since = self.kernel.now

    def close_pause(self, server: Server) -> None:
        now = self.kernel.now
        if now > server.pause_since:
            self.log.pauses.extend((server.job, server.pause_since, now, server.pause_cause))
        server.pause_since = now

    def server_ready(self, server: Server) -> None:
        """``server`` may be back in service (an outage ended): resume, maintain or take work."""
        if server.state in (RUN, PAUSED):
            if not (server.down == 0 and server in server.station.crew_wait and self._recrew(server)):
                self.update(server)
        elif server.state == IDLE and server.down == 0:
            if server.pm_due:
                self.start_maintenance(server)
            else:
                server.station.free.append(server)
                self._try_start(server.station)

    # ----------------------------------------------------------------------------------- failures

    def _fail(self, server: Server) -> None:
        st = server.station
        if server.state == IDLE and server.down == 0 and not server.pm_due:
            st.free.remove(server)
        server.down += 1
        server.broken = True
        server.failed_at = self.kernel.now
        self.kernel.after(self._ttr[st.idx](), self._repair, server, URGENT)
        self.update(server)

    def _repair(self, server: Server) -> None:
        st = server.station
        server.down -= 1
        server.broken = False
        self.log.outages.extend((server.gidx, server.failed_at, self.kernel.now, OUTAGE_FAILURE))
        self.kernel.after(self._ttf[st.idx](), self._fail, server, URGENT)
        self.server_ready(server)

    # -------------------------------------------------------------------------------- maintenance

    def _maintenance_due(self, arg: tuple[Server, float]) -> None:
        server, every = arg
        self.kernel.after(every, self._maintenance_due, arg, URGENT)
        if server.pm_due:
            return  # the previous one has not started yet
        server.pm_due = True
        if server.state == IDLE and server.down == 0:
            server.station.free.remove(server)
            self.start_maintenance(server)

    def start_maintenance(self, server: Server) -> None:
        server.pm_due = False
        server.down += 1
        server.pm_at = self.kernel.now
        self.kernel.after(self._pm_time[server.station.idx](), self._maintenance_end, server, URGENT)

    def _maintenance_end(self, server: Server) -> None:
        server.down -= 1
        self.log.outages.extend((server.gidx, server.pm_at, self.kernel.now, OUTAGE_MAINTENANCE))
        server.pm_at = -1.0
        self.server_ready(server)

    # ------------------------------------------------------------------------------------ shifts

    def _duty(self, arg: tuple[Crew, int]) -> None:
        crew, i = arg
        steps = self.state.duty[crew.idx]
        assert steps is not None
        self.kernel.after(WEEK_HOURS, self._duty, arg, LATE)
        before = crew.on_duty
        crew.on_duty = steps[i][1]
        if crew.busy > crew.on_duty and crew.pause_at_end:
            holders = [s for st in crew.stations for s in st.servers if s.crew_a is crew]
            holders.sort(key=lambda s: (s.start, s.gidx), reverse=True)
            for server in holders[: crew.busy - crew.on_duty]:
                crew.busy -= 1  # only operator pools have shifts: the job's crew_a is this pool
                server.crew_a = None
                server.station.crew_wait.append(server)
                self.update(server)
        if crew.on_duty > before:
            self._dispatch(crew)

    # --------------------------------------------------------------------------------- materials

    def _delivery(self, arg: tuple[Stock, Sampler, Sampler]) -> None:
        stock, every, quantity = arg
        stock.level += max(round(quantity()), 0)
        self.log.stock.extend((stock.idx, self.kernel.now, stock.level))
        self.kernel.after(every(), self._delivery, arg)
        for st in stock.consumers:
            if st.queue and st.free:
                self._try_start(st)

    # ---------------------------------------------------------------------------------- closing

    def close_outages(self, hours: float) -> None:
        for server in self.state.servers:
            if server.broken:
                self.log.outages.extend((server.gidx, server.failed_at, hours, OUTAGE_FAILURE))
            if server.pm_at >= 0:
                self.log.outages.extend((server.gidx, server.pm_at, hours, OUTAGE_MAINTENANCE))
