"""AMRs moving units between stations over the floor plan.

A move is requested when a unit on a server has a place at its next station. Requests are served first
come, first served, each by the idle AMR of the fleet nearest to the pick-up (the first of the fleet on
a tie), which drives there empty, loads (``load_minutes``; the server is free from then on), drives to
the next station and unloads (``unload_minutes``) into its buffer. Driving time is distance ÷ speed. An
AMR with a battery drains it only while driving; below ``threshold`` after a move it drives to the
nearest charger and charges to full (``charge_hours`` from empty, in proportion), then is idle there.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from aifactory.plant.log import TRIP_CHARGE, TRIP_MOVE, RunLog
from aifactory.plant.runtime import Amr, Fleet, PlantState, Server, Station, Unit
from aifactory.sim.kernel import Kernel

Move = tuple[Amr, Unit, Server, Station, float, float, float]
"""(AMR, unit, server it is on, next station, requested, assigned, metres driven empty)"""


class Transport:
    """The AMR fleets of a plant run."""

    def __init__(
        self,
        kernel: Kernel,
        state: PlantState,
        log: RunLog,
        leave: Callable[[Unit, Server], None],
        arrive: Callable[[Unit, Station], None],
    ) -> None:
        self.kernel = kernel
        self.state = state
        self.log = log
        self.leave = leave
        self.arrive = arrive
        floor = state.floor
        self.distance = floor.distance.tolist() if floor is not None else []
        self.busy_since: dict[int, tuple[float, int, int]] = {}
        """AMR → (when its task began, trip kind, from node) for tasks under way."""

    def start(self) -> None:
        """Nothing to schedule at hour 0: AMRs wait for requests."""

    def request(self, unit: Unit, server: Server, nxt: Station) -> None:
        fleet = unit.item.fleet
        assert fleet is not None
        fleet.requests.append((unit, server, nxt, self.kernel.now))
        if fleet.idle:
            self._dispatch(fleet)

    def _dispatch(self, fleet: Fleet) -> None:
        distance = self.distance
        while fleet.idle and fleet.requests:
            unit, server, nxt, requested = fleet.requests.popleft()
            src = server.station.node
            amr = min(fleet.idle, key=lambda a: (distance[a.node][src], a.gidx))
            fleet.idle.remove(amr)
            empty_m = distance[amr.node][src]
            hours = empty_m / fleet.speed_m_h
            amr.level -= hours
            now = self.kernel.now
            self.busy_since[amr.gidx] = (now, TRIP_MOVE, amr.node)
            self.kernel.after(
                hours + fleet.load_h, self._pick_up, (amr, unit, server, nxt, requested, now, empty_m)
            )

    def _pick_up(self, move: Move) -> None:
        amr, unit, server, nxt, requested, assigned, empty_m = move
        fleet = amr.fleet
        src = server.station.node
        self.leave(unit, server)
        loaded_m = self.distance[src][nxt.node]
        hours = loaded_m / fleet.speed_m_h
        amr.level -= hours
        picked = self.kernel.now
        self.kernel.after(
            hours + fleet.unload_h,
            self._drop,
            (amr, unit, src, nxt, requested, assigned, picked, empty_m + loaded_m),
        )

    def _drop(self, arg: tuple[Amr, Unit, int, Station, float, float, float, float]) -> None:
        amr, unit, src, nxt, requested, assigned, picked, metres = arg
        amr.node = nxt.node
        now = self.kernel.now
        self.log.trips.extend((amr.gidx, TRIP_MOVE, requested, assigned, picked, now, src, nxt.node, metres))
        del self.busy_since[amr.gidx]
        nxt.reserved -= 1
        self.arrive(unit, nxt)
        self._done(amr)

    def _done(self, amr: Amr) -> None:
        """After a task: charge if the battery is low, else wait for the next request."""
        fleet = amr.fleet
        if fleet.chargers and amr.level < fleet.threshold_h:
            charger = min(fleet.chargers, key=lambda c: (self.distance[amr.node][c], c))
            metres = self.distance[amr.node][charger]
            drive = metres / fleet.speed_m_h
            amr.level = max(amr.level - drive, 0.0)
            charge = (fleet.battery_h - amr.level) / fleet.battery_h * fleet.charge_h
            now = self.kernel.now
            self.busy_since[amr.gidx] = (now, TRIP_CHARGE, amr.node)
            self.kernel.after(drive + charge, self._charged, (amr, now, amr.node, charger, metres))
            return
        fleet.idle.append(amr)
        if fleet.requests:
            self._dispatch(fleet)

    def _charged(self, arg: tuple[Amr, float, int, int, float]) -> None:
        amr, began, src, charger, metres = arg
        amr.level = amr.fleet.battery_h
        amr.node = charger
        now = self.kernel.now
        self.log.trips.extend((amr.gidx, TRIP_CHARGE, began, began, began, now, src, charger, metres))
        del self.busy_since[amr.gidx]
        self._done(amr)

    def close(self, hours: float) -> None:
        """Record the tasks under way at the end of the run as ending there."""
        for gidx, (began, kind, src) in sorted(self.busy_since.items()):
            self.log.trips.extend((gidx, kind, began, began, began, hours, src, -1, float(np.nan)))
