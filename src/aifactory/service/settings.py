"""Service settings: a validated pydantic model, read from the environment by the shells only."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aifactory.cluster.topology import Topology

DEFAULT_DATABASE_URL = "sqlite:///./aifactory.db"
DEFAULT_LOG_DIR = "./aifactory-logs"
DEFAULT_POLICY = "fairshare"

ENV = {
    "database_url": "AIFACTORY_DATABASE_URL",
    "log_dir": "AIFACTORY_LOG_DIR",
    "scheduler_policy": "AIFACTORY_SCHEDULER_POLICY",
    "racks": "AIFACTORY_RACKS",
    "rack_gpus": "AIFACTORY_RACK_GPUS",
    "schedulable_trays": "AIFACTORY_SCHEDULABLE_TRAYS",
    "block_racks": "AIFACTORY_BLOCK_RACKS",
    "ray_address": "AIFACTORY_RAY_ADDRESS",
    "ray_token": "RAY_AUTH_TOKEN",
}


class Settings(BaseModel):
    """Everything the service needs to start; nothing else reads the environment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str = Field(DEFAULT_DATABASE_URL, description="SQLAlchemy URL of the database.")
    log_dir: Path = Field(Path(DEFAULT_LOG_DIR), description="Folder of the jobs' log files.")
    scheduler_policy: str = Field(DEFAULT_POLICY, description="Scheduler policy name.")
    racks: int = Field(2, ge=1, description="NVL72 racks in the factory (the API's rack map and the worker).")
    rack_gpus: int = Field(72, ge=4, description="GPUs per rack (an NVLink domain of whole 4-GPU trays).")
    schedulable_trays: int | None = Field(None, ge=1, description="Trays per rack jobs may use (spares).")
    block_racks: int = Field(8, ge=1, description="Racks per scale-out block.")
    ray_address: str | None = Field(
        None, description="Ray job server (e.g. http://127.0.0.1:8265) for the ray executor; unset: no ray."
    )
    ray_token: str | None = Field(None, description="Token of a Ray cluster with token authentication.")

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("database URL is empty")
        return value

    def topology(self) -> Topology:
        """The factory's shape (racks, GPUs per rack, trays, spares, blocks, the GPU model): built once by
        ``create_app`` and injected where a route needs it."""
        return Topology.build(
            self.racks,
            rack_gpus=self.rack_gpus,
            schedulable_trays=self.schedulable_trays,
            block_racks=self.block_racks,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Settings from an environment mapping; keyword overrides that are not None win."""
        values: dict[str, Any] = {key: environ[name] for key, name in ENV.items() if environ.get(name)}
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)
