"""The names and shapes a run's records refer to by number (picklable, unlike the run's live state).

Records say "station 3", "crew 1", "AMR 7"; a :class:`PlantIndex` says which station, pool or fleet
that is, how many servers it has and who is on duty when. It travels with the records from a worker
process (or a Ray task) to the measures and the report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aifactory.plant.floor import FloorPlan
from aifactory.plant.runtime import PlantState

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PlantIndex:
    stations: tuple[str, ...]
    station_servers: tuple[int, ...]
    station_node: tuple[int, ...]
    """Floor-plan node of each station (-1: not on the layout)."""
    server_station: Ints
    crews: tuple[str, ...]
    crew_is_robot: tuple[bool, ...]
    crew_count: tuple[int, ...]
    duty: tuple[list[tuple[float, int]] | None, ...]
    fleets: tuple[str, ...]
    fleet_size: tuple[int, ...]
    amr_fleet: Ints
    items: tuple[str, ...]
    stocks: tuple[str, ...]
    stock_is_material: tuple[bool, ...]
    stock_need: tuple[int, ...]
    """Largest quantity of the stock one unit takes at a station (for "short")."""
    floor: FloorPlan | None

    @classmethod
    def from_state(cls, state: PlantState) -> PlantIndex:
        plant = state.plant
        counts = [
            plant.operators[c.name].count if not c.is_robot else plant.robots[c.name].count
            for c in state.crews
        ]
        needs = []
        for stock in state.stocks:
            needs.append(max((q for st in stock.consumers for s, q in st.parts if s is stock), default=1))
        return cls(
            stations=tuple(s.name for s in state.stations),
            station_servers=tuple(len(s.servers) for s in state.stations),
            station_node=tuple(s.node for s in state.stations),
            server_station=np.array([s.station.idx for s in state.servers], dtype=np.int64),
            crews=tuple(c.name for c in state.crews),
            crew_is_robot=tuple(c.is_robot for c in state.crews),
            crew_count=tuple(counts),
            duty=tuple(state.duty),
            fleets=tuple(f.name for f in state.fleets),
            fleet_size=tuple(len(f.amrs) for f in state.fleets),
            amr_fleet=np.array([a.fleet.idx for a in state.amrs], dtype=np.int64),
            items=tuple(i.name for i in state.items),
            stocks=tuple(s.name for s in state.stocks),
            stock_is_material=tuple(s.is_material for s in state.stocks),
            stock_need=tuple(needs),
            floor=state.floor,
        )
