"""Command-line shells (Typer)."""
