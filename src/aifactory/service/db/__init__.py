"""Database: typed SQLAlchemy models, the engine and session factory, and the shipped migrations."""

from aifactory.service.db.engine import make_engine, make_sessionmaker
from aifactory.service.db.migrate import upgrade
from aifactory.service.db.models import (
    Allocation,
    Base,
    Job,
    Offer,
    Programme,
    Project,
    Provider,
    RackState,
    Reservation,
    Token,
    UsageRecord,
)

__all__ = [
    "Allocation",
    "Base",
    "Job",
    "Offer",
    "Programme",
    "Project",
    "Provider",
    "RackState",
    "Reservation",
    "Token",
    "UsageRecord",
    "make_engine",
    "make_sessionmaker",
    "upgrade",
]
