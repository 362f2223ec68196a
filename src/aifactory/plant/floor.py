"""The floor plan: where stations, docks and chargers stand and how far an AMR drives between them.

Distances are shortest paths over the layout's aisles (scipy's Dijkstra), or, without aisles, the
Manhattan distance between two positions. Computed once per plant; the engine only looks them up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aifactory.plant.model import Plant

NO_PREDECESSOR = -9999


@dataclass(frozen=True)
class FloorPlan:
    """Nodes of the floor with their positions and the driving distance between every two of them."""

    names: tuple[str, ...]
    positions: npt.NDArray[np.float64]
    distance: npt.NDArray[np.float64]
    """``distance[i, j]``: metres from node i to node j (infinity: no path)."""
    predecessors: npt.NDArray[np.int32] | None
    """Shortest-path tree per source (None without aisles: a straight Manhattan move)."""

    @property
    def index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def path(self, a: int, b: int) -> list[int]:
        """The nodes an AMR passes from node ``a`` to node ``b`` (both included)."""
        if self.predecessors is None or a == b:
            return [a, b] if a != b else [a]
        nodes = [b]
        while nodes[-1] != a:
            prev = int(self.predecessors[a, nodes[-1]])
            if prev == NO_PREDECESSOR:
                return []
            nodes.append(prev)
        return nodes[::-1]


def node_positions(plant: Plant) -> dict[str, tuple[float, float]]:
    """Every named position: layout nodes, then stations that give one (a station may be a node)."""
    nodes: dict[str, tuple[float, float]] = {}
    if plant.layout is not None:
        nodes.update(plant.layout.nodes)
    for name, st in plant.stations.items():
        if st.position is not None:
            nodes[name] = st.position
    return nodes


def floor_plan(plant: Plant) -> FloorPlan | None:
    """The plant's floor plan (None when nothing has a position)."""
    nodes = node_positions(plant)
    if not nodes:
        return None
    names = tuple(nodes)
    pos = np.array([nodes[n] for n in names], dtype=np.float64).reshape(len(names), 2)
    edges = plant.layout.edges if plant.layout is not None else []
    if not edges:
        dist = np.abs(pos[:, None, :] - pos[None, :, :]).sum(axis=2)
        return FloorPlan(names, pos, dist, None)
    index = {n: i for i, n in enumerate(names)}
    shortest: dict[tuple[int, int], float] = {}  # an aisle given twice keeps its shorter length
    for e in edges:
        a, b = index[e.from_], index[e.to]
        length = e.distance_m if e.distance_m is not None else math.dist(pos[a], pos[b])
        length = max(length, 1e-9)  # a zero-length aisle is still an aisle (csgraph drops zeros)
        for pair in [(a, b)] if e.one_way else [(a, b), (b, a)]:
            shortest[pair] = min(shortest.get(pair, math.inf), length)
    from scipy.sparse import csr_matrix  # imported here: only plants with aisles need it
    from scipy.sparse.csgraph import shortest_path

    n = len(names)
    rows, cols = zip(*shortest, strict=True) if shortest else ((), ())
    graph = csr_matrix((list(shortest.values()), (list(rows), list(cols))), shape=(n, n))
    dist, pred = shortest_path(graph, method="D", directed=True, return_predecessors=True)
    return FloorPlan(names, pos, np.asarray(dist, dtype=np.float64), np.asarray(pred, dtype=np.int32))
