"""Starting the Textual app from a command (`nn-tui`, `nn-tui open`, `nn-tui lessons N`)."""

from __future__ import annotations

from typing import Any

import typer

from nn_tui.cli.exits import EXIT_FAILED
from nn_tui.cli.signals import restore_default_handlers


def launch_app(instead: str, **options: Any) -> None:
    """Run NNTuiApp(**options) with Textual's own Ctrl-C handling; in a build without the app, one line saying
    what to do `instead` (exit 1)."""
    try:
        from nn_tui.tui.app import NNTuiApp
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("nn_tui.tui"):
            typer.echo(f"error: the app is not available in this build; {instead}", err=True)
            raise typer.Exit(EXIT_FAILED) from None
        raise
    restore_default_handlers()
    NNTuiApp(**options).run()
