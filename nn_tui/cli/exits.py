"""Exit codes of the `nn-tui` command, and how a user error ends it."""

from __future__ import annotations

import typer

from nn_tui.core.errors import UserError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def fail(error: UserError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(EXIT_USAGE)
