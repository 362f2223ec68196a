"""The AI factory's static shape: racks (NVLink domains) of a catalogue rack type, and scale-out blocks.

Built once and shared read-only; what is allocated where lives in ``cluster.state``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aifactory.scenario.hardware import RackType, rack_type


@dataclass(frozen=True, slots=True)
class Topology:
    """``racks`` racks of one type, ``schedulable_trays`` of each rack's trays usable (the rest are
    spares), grouped into scale-out blocks of ``block_racks`` racks (a rail-optimised leaf–spine unit)."""

    racks: int
    rack: RackType
    schedulable_trays: int
    block_racks: int

    def __post_init__(self) -> None:
        if self.racks < 1:
            raise ValueError("racks must be at least 1")
        if not 1 <= self.schedulable_trays <= self.rack.trays:
            raise ValueError(f"schedulable_trays must be between 1 and {self.rack.trays}")
        if self.block_racks < 1:
            raise ValueError("block_racks must be at least 1")

    @classmethod
    def build(
        cls,
        racks: int,
        *,
        rack_gpus: int = 72,
        schedulable_trays: int | None = None,
        block_racks: int = 8,
        rack_type_name: str = "gb300-nvl72",
    ) -> Topology:
        """A topology from CLI-style figures; ``rack_gpus`` other than the type's makes a custom type."""
        base = rack_type(rack_type_name)
        if rack_gpus != base.gpus:
            if rack_gpus % base.gpus_per_tray:
                raise ValueError(f"rack_gpus must be a multiple of {base.gpus_per_tray} GPUs per tray")
            base = RackType(
                f"{base.name}-{rack_gpus}",
                rack_gpus // base.gpus_per_tray,
                base.gpus_per_tray,
                base.power_kw * rack_gpus / base.gpus,
                base.price_usd * rack_gpus / base.gpus,
                base.gpu_model,
            )
        trays = base.trays if schedulable_trays is None else schedulable_trays
        return cls(racks=racks, rack=base, schedulable_trays=trays, block_racks=block_racks)

    @property
    def rack_gpus(self) -> int:
        """Schedulable GPUs per rack (the NVLink domain a job may fill)."""
        return self.schedulable_trays * self.rack.gpus_per_tray

    @property
    def gpus(self) -> int:
        return self.racks * self.rack_gpus

    @property
    def blocks(self) -> int:
        return -(-self.racks // self.block_racks)

    def block_of(self, rack: int) -> int:
        return rack // self.block_racks

    @property
    def it_power_kw(self) -> float:
        return self.racks * self.rack.power_kw
