"""Command-line usage errors (an unknown option, a bad ``--runs``): one line on stderr and click's exit
code, as ``run_cli`` reports them."""

from __future__ import annotations

from typing import NoReturn

from rich.console import Console

err = Console(stderr=True)


def click_exceptions() -> tuple[type[Exception], ...]:
    """Click's user-facing exceptions. Recent Typer vendors click as ``typer._click``, whose exceptions
    derive from ``typer.exceptions.TyperException`` rather than ``click.ClickException``, and click itself
    may not even be installed; older Typer uses click."""
    found: list[type[Exception]] = []
    try:
        from typer.exceptions import TyperException

        found.append(TyperException)
    except ImportError:
        pass
    try:
        import click

        found.append(click.ClickException)
    except ImportError:
        pass
    return tuple(found)


def usage_error(exc: Exception) -> NoReturn:
    """A command-line usage error (unknown option, bad --runs, ...): one line on stderr, its exit code."""
    from rich.markup import escape

    code = int(getattr(exc, "exit_code", 2))
    if any(cls.__name__ == "NoArgsIsHelpError" for cls in type(exc).__mro__):
        exc.show()  # type: ignore[attr-defined]  # the help text, as click prints it
        raise SystemExit(code)
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    ctx = getattr(exc, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    line = escape(" ".join(str(message).split()))
    err.print(f"[red]error:[/red] {line}{hint}", highlight=False, soft_wrap=True)
    raise SystemExit(code)
