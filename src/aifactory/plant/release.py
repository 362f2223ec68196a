"""How units enter the plant: the product's release (a rate, or CONWIP with a backlog) and kitting.

Units of the product enter at the release rate (``interarrival_hours``, or ``per_day`` evenly spaced),
``quantity`` at a time, at most ``limit`` in all; with ``wip_limit`` a release that finds that many in
the plant waits in a backlog and enters when one leaves (with no rate, the plant is kept at
``wip_limit``). A unit's made parts are released as units of their own when it is released, or when it
passes its item's ``kit_after`` station. A unit whose first station has no place waits at the door.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from aifactory.plant.distributions import sampler
from aifactory.plant.log import RunLog
from aifactory.plant.runtime import NO_LIMIT, ItemFlow, PlantState, Station, Unit
from aifactory.sim.kernel import Kernel


class Releases:
    """The release of the product, the kitting of parts, and entry into the first station."""

    def __init__(
        self,
        kernel: Kernel,
        state: PlantState,
        log: RunLog,
        arrive: Callable[[Unit, Station], None],
        try_start: Callable[[Station], None],
    ) -> None:
        self.kernel = kernel
        self.state = state
        self.log = log
        self.arrive = arrive
        self.try_start = try_start
        self.next_uid = 0
        self.wip = 0
        """Units of the product in the plant."""
        self.ordered = 0
        """Units of the product released or waiting in the backlog."""
        self.backlog = 0
        release = state.plant.release
        self.quantity = release.quantity
        self.limit = release.limit
        self.wip_limit = release.wip_limit
        self.continuous = False
        if release.interarrival_hours is not None:
            self.interarrival = sampler(release.interarrival_hours, state.stream("release"))
        elif (gap := _fixed_gap(release.per_day, release.interarrival_hours)) is not None:
            self.interarrival = lambda: gap
        else:
            self.interarrival = lambda: 0.0
            self.continuous = True  # CONWIP only: a new unit for each that leaves

    def start(self) -> None:
        self.kernel.at(self.state.plant.release.first_hours, self._release)

    def start_warm(self, released: int, in_plant: int) -> None:
        """Go on from a floor at the clock's time where ``released`` units of the product have been
        released, ``in_plant`` of them still in the plant: the next release when the calendar (or, at
        random intervals, a fresh draw) says; with a release calendar and ``wip_limit``, the releases
        already due and not yet made wait in the backlog."""
        now = self.kernel.now
        release = self.state.plant.release
        self.wip = in_plant
        self.ordered = released
        if self.continuous:
            if self.limit is None or self.ordered < self.limit:
                for _ in range(max((self.wip_limit or 0) - in_plant, 0)):
                    self.ordered += 1
                    self._release_one()
            return
        if self.limit is not None and self.ordered >= self.limit:
            return
        if release.first_hours >= now:
            self.kernel.at(release.first_hours, self._release)
        elif (gap := _fixed_gap(release.per_day, release.interarrival_hours)) is not None:
            due = math.floor((now - release.first_hours) / gap) + 1  # release instants up to now
            if self.wip_limit is not None:
                scheduled = due * self.quantity
                if self.limit is not None:
                    scheduled = min(scheduled, self.limit)
                self.backlog = max(scheduled - released, 0)
                self.ordered = released + self.backlog
            self.kernel.at(release.first_hours + due * gap, self._release)
        else:
            self.kernel.after(self.interarrival(), self._release)

    def _release(self, _: object = None) -> None:
        n = (self.wip_limit or 0) if self.continuous else self.quantity
        if self.limit is not None:
            n = min(n, self.limit - self.ordered)
        for _ in range(n):
            self.ordered += 1
            if self.wip_limit is not None and self.wip >= self.wip_limit:
                self.backlog += 1
            else:
                self._release_one()
        if not self.continuous and (self.limit is None or self.ordered < self.limit):
            self.kernel.after(self.interarrival(), self._release)

    def _release_one(self) -> None:
        product = self.state.product
        unit = self.new_unit(product)
        self.wip += 1
        if product.kit_after is None:
            self.kit(unit)
        self.enter(unit, product.route[0])

    def product_left(self) -> None:
        """A unit of the product finished or was scrapped: the backlog (or CONWIP) releases another."""
        self.wip -= 1
        if self.backlog:
            self.backlog -= 1
            self._release_one()
        elif self.continuous and (self.limit is None or self.ordered < self.limit):
            self.ordered += 1
            self._release_one()

    def new_unit(self, item: ItemFlow) -> Unit:
        unit = Unit(self.next_uid, item)
        self.next_uid += 1
        self.log.released.extend((unit.uid, item.idx, self.kernel.now))
        return unit

    def kit(self, unit: Unit) -> None:
        """Release the made parts of ``unit`` into their routes.

        Parts without parts of their own, for a first station with room for all, join its buffer
        together and the station starts what it can once: the same as entering one by one."""
        unit.kitted = True
        now = self.kernel.now
        for item, quantity in unit.item.kit:
            first = item.route[0]
            together = not item.kit and first.cap == NO_LIMIT and not first.blocked
            for _ in range(quantity):
                part = self.new_unit(item)
                if item.kit and item.kit_after is None:
                    self.kit(part)
                if together:
                    part.arrived = now
                    first.queue.append(part)
                else:
                    self.enter(part, first)
            if together and (first.free or first.batch_min > 1):
                self.try_start(first)

    def enter(self, unit: Unit, st: Station) -> None:
        """A unit from outside (a release, a kit): into the buffer, or waiting at the door."""
        if not st.blocked and len(st.queue) + st.reserved < st.cap:
            self.arrive(unit, st)
        else:
            st.blocked.append((None, unit))


def _fixed_gap(per_day: float | None, interarrival: object) -> float | None:
    """Hours between releases on a fixed calendar (None: random intervals)."""
    if per_day is not None:
        return 24.0 / per_day
    return float(interarrival) if isinstance(interarrival, int | float) else None
