"""The hardware catalogue: rack-scale systems an AI factory is built from (figures from FACTS.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RackType:
    """A rack-scale system: one NVLink domain of ``trays × gpus_per_tray`` GPUs."""

    name: str
    trays: int
    gpus_per_tray: int
    power_kw: float
    price_usd: float
    gpu_model: str  # the GPU model of its trays, as the market's shapes name it (gpu.4x<model>)

    @property
    def gpus(self) -> int:
        return self.trays * self.gpus_per_tray


CATALOGUE: dict[str, RackType] = {
    # GB300 NVL72: 18 compute trays of 4 GPUs; up to 142 kW, 135 kW a reasonable default (FACTS.md)
    "gb300-nvl72": RackType(
        "gb300-nvl72", trays=18, gpus_per_tray=4, power_kw=135.0, price_usd=3.5e6, gpu_model="gb300"
    ),
    "gb200-nvl72": RackType(
        "gb200-nvl72", trays=18, gpus_per_tray=4, power_kw=120.0, price_usd=3.0e6, gpu_model="gb200"
    ),
}


def rack_type(name: str) -> RackType:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise ValueError(f"unknown rack type '{name}' (rack types: {', '.join(CATALOGUE)})") from None
