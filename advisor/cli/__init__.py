"""The ``advisor`` command-line interface (typer + rich)."""

from advisor.cli._app import app, main, run

__all__ = ["app", "main", "run"]
