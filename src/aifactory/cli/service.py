"""``aifactory serve``, ``aifactory db upgrade``, ``aifactory bootstrap``: thin shells over the service."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # the service's modules load lazily so that the CLI starts fast
    from aifactory.service.settings import Settings

db_app = typer.Typer(help="The operations service's database.", no_args_is_help=True)


class ServiceInputError(ValueError):
    """Bad service command input (exit code 2)."""


DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL, e.g. sqlite:///./aifactory.db or postgresql+psycopg://user@host/db "
        "[env AIFACTORY_DATABASE_URL, else sqlite:///./aifactory.db].",
    ),
]


def _settings(database_url: str | None, log_dir: Path | None = None, **overrides: Any) -> Settings:
    from pydantic import ValidationError

    from aifactory.service.settings import Settings

    try:
        return Settings.from_env(os.environ, database_url=database_url, log_dir=log_dir, **overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ServiceInputError(f"{field}: {first['msg']}") from None


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Create or migrate the database schema to the newest version (safe to run again)."""
    from aifactory.service.admin import AdminError, upgrade_database

    settings = _settings(database_url)
    try:
        upgrade_database(settings.database_url)
    except AdminError as exc:
        raise ServiceInputError(str(exc)) from None
    typer.echo(f"database at the newest schema: {_display(settings.database_url)}")


def bootstrap_command(
    database_url: DatabaseUrl = None,
    subject: Annotated[str, typer.Option("--subject", help="Who holds the operator token.")] = "admin",
    force: Annotated[
        bool, typer.Option("--force", help="Create another operator token even if one exists.")
    ] = False,
) -> None:
    """Create the first operator token and print its secret (shown only once)."""
    from aifactory.service.admin import AdminError, bootstrap

    settings = _settings(database_url)
    try:
        secret = bootstrap(settings.database_url, subject=subject, force=force, now=datetime.now(UTC))
    except AdminError as exc:
        raise ServiceInputError(str(exc)) from None
    typer.echo(secret)
    typer.echo(
        f"operator token for {subject!r} created; keep the secret above, it is not shown again", err=True
    )


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    database_url: DatabaseUrl = None,
    log_dir: Annotated[
        Path | None,
        typer.Option("--log-dir", help="Jobs' log folder [env AIFACTORY_LOG_DIR, else ./aifactory-logs]."),
    ] = None,
) -> None:
    """Run the operations service (HTTP API) after bringing the database to the newest schema."""
    import uvicorn

    from aifactory.service.admin import AdminError, open_database
    from aifactory.service.app import create_app

    settings = _settings(database_url, log_dir)
    try:
        engine = open_database(settings.database_url)
    except AdminError as exc:
        raise ServiceInputError(str(exc)) from None
    typer.echo(
        f"aifactory service on http://{host}:{port} (database {_display(settings.database_url)})", err=True
    )
    uvicorn.run(create_app(settings, engine=engine), host=host, port=port, log_level="info")
    engine.dispose()


def _display(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
