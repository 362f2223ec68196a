"""The scheduler loop's wiring: its configuration checked from the settings, and the loop built over a
database with the executors this machine runs. Shared by ``aifactory worker`` and ``aifactory serve``
(whose loop runs inside the API process), so the two are built alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from aifactory.service.settings import Settings
    from aifactory.service.worker import FactoryConfig, Worker


class ConfigError(ValueError):
    """The loop's settings cannot make a factory (one line naming the setting)."""


def checked_worker_config(
    settings: Settings, *, policy: str | None, interval: float, require_allocation: bool
) -> FactoryConfig:
    """The factory (from ``settings``) and the loop's knobs, checked before the database is touched;
    bad values raise :class:`ConfigError` (one line)."""
    from pydantic import ValidationError

    from aifactory.scheduler.policies import policy_named
    from aifactory.service.worker import FactoryConfig

    policy = policy or settings.scheduler_policy
    try:
        policy_named(policy)
        config = FactoryConfig(
            racks=settings.racks,
            rack_gpus=settings.rack_gpus,
            schedulable_trays=settings.schedulable_trays,
            block_racks=settings.block_racks,
            policy=policy,
            interval_s=interval,
            require_allocation=require_allocation,
        )
    except (ValueError, ValidationError) as exc:
        raise ConfigError(str(exc).splitlines()[0]) from None
    try:  # the topology's own checks (whole trays)
        settings.topology()
    except ValueError as exc:
        raise ConfigError(f"--rack-gpus {settings.rack_gpus}: {exc}") from None
    return config


def build_worker(settings: Settings, config: FactoryConfig, engine: Engine) -> Worker:
    """The scheduler loop over ``engine`` (already migrated) with the executors this machine runs."""
    from aifactory.service.db import make_sessionmaker
    from aifactory.service.executors import executors_for
    from aifactory.service.worker import Worker

    return Worker(make_sessionmaker(engine), config, executors_for(settings), settings.log_dir)
