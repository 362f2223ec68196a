"""Alembic environment: runs migrations on the engine the caller put in ``config.attributes``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from aifactory.service.db.models import Base

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through aifactory.service.db.migrate (no engine was given)")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
