"""What a replay runs with besides its jobs and topology — tenancy, tray failures and the scheduler's
options — from a scenario's AI factory, from explicit settings, or both (explicit settings win).

``aifactory replay`` and the factory twin both build theirs here, so the same factory replays alike in
each: its council's programmes and budgets, its tray reliability and its checkpoint interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aifactory.replay.failures import FailureModel
from aifactory.scenario.model import AIFactory
from aifactory.scheduler.core import Options
from aifactory.scheduler.council import council_of
from aifactory.scheduler.tenancy import Tenancy

HOUR = 3600.0
DAY = 86_400.0
# without a factory, the defaults a scenario's AI factory has (one source for both)
DEFAULT_REPAIR_HOURS = float(AIFactory.model_fields["tray_repair_hours"].default)
DEFAULT_CHECKPOINT_MINUTES = float(AIFactory.model_fields["checkpoint_minutes"].default)


@dataclass(frozen=True)
class ReplaySetup:
    """The tenancy, failure model and options of one replay, with notes for the person running it."""

    tenancy: Tenancy
    failures: FailureModel | None
    options: Options
    notes: tuple[str, ...] = ()


def replay_setup(
    gpus: int,
    tenants: Sequence[str] | None = None,
    *,
    factory: AIFactory | None = None,
    shares: Mapping[str, float] | None = None,
    budgets: Mapping[str, float] | None = None,
    starvation_hours: float | None = None,
    tray_mtbf_hours: float | None = None,
    tray_repair_hours: float | None = None,
    checkpoint_minutes: float | None = None,
) -> ReplaySetup:
    """The setup of a replay on ``gpus`` GPUs of jobs from ``tenants`` (None: the factory's own
    programmes, as a synthetic workload has).

    Tenancy: the factory's council (programmes, projects, budgets and their period) when no ``shares``
    are given and every tenant is one of its programmes or projects; otherwise ``shares`` (default: equal
    shares of the tenants) — with a note when a factory was given but the tenants are not its own.
    ``budgets`` are GPU-seconds per tenant, added to (or overriding) the council's. Failures and the
    checkpoint interval come from the factory unless given here; no failures without an MTBF.
    """
    notes: list[str] = []
    budgets = dict(budgets or {})
    council = council_of(factory) if factory is not None and factory.programs else None
    own = set(council.parents()) if council is not None else set()
    if council is not None and shares is None and (tenants is None or set(tenants) <= own):
        assert factory is not None
        period = factory.budget_period_days
        tenancy = Tenancy.of(council, gpus, budgets=budgets, budget_period_s=period * DAY if period else None)
    else:
        names = list(tenants) if tenants is not None else ["all"]
        if council is not None and shares is None:
            unknown = sorted(set(names) - own)
            notes.append(
                f"{len(unknown)} of the trace's tenants are not projects of the factory "
                f"(first: {unknown[0]}); they get equal shares"
            )
        chosen = dict(shares) if shares is not None else dict.fromkeys(names, 1.0)
        tenancy = Tenancy(chosen, gpus, budgets=budgets)
    mtbf = tray_mtbf_hours if tray_mtbf_hours is not None else _spec(factory, "tray_mtbf_hours")
    repair = _first(tray_repair_hours, _spec(factory, "tray_repair_hours"), DEFAULT_REPAIR_HOURS)
    checkpoint = _first(checkpoint_minutes, _spec(factory, "checkpoint_minutes"), DEFAULT_CHECKPOINT_MINUTES)
    failures = FailureModel(mtbf * HOUR, repair * HOUR) if mtbf is not None else None
    options = Options(
        starvation_s=starvation_hours * HOUR if starvation_hours is not None else math.inf,
        checkpoint_s=checkpoint * 60,
    )
    return ReplaySetup(tenancy, failures, options, tuple(notes))


def _spec(factory: AIFactory | None, name: str) -> float | None:
    value = getattr(factory, name) if factory is not None else None
    return float(value) if value is not None else None


def _first(*values: float | None) -> float:
    return next(float(v) for v in values if v is not None)
