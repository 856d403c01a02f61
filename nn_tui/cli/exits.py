"""Exit codes of the `nn-tui` command, and how a user error ends it."""

from __future__ import annotations

import json
import sys

import typer

from nn_tui.core.errors import UserError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_EXPECT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
# `nn-tui run` options that set a preset key: an error in that key names the option, not the preset file.
OPTION_KEYS = {"training.epochs": "--epochs", "training.device": "--device", "seed": "--seed", "training.threads": "--threads"}


def fail(error: UserError | str, *, json_out: bool = False) -> typer.Exit:
    """Exit 2 with one line on stderr; with --json also an error event on stdout, so a script reading it sees why."""
    typer.echo(f"error: {error}", err=True)
    if json_out:
        json_error(str(error), EXIT_USAGE)
    return typer.Exit(EXIT_USAGE)


def json_error(message: str, exit_code: int) -> None:
    sys.stdout.write(json.dumps({"event": "error", "message": message, "exit_code": exit_code}) + "\n")
    sys.stdout.flush()


def named_option(error: UserError, given: dict[str, str]) -> UserError:
    """An error in a key set by --seed, --device, --epochs or --threads, reported as that option's error."""
    option = given.get(error.key or "")
    return UserError(f"{option}: {error.detail}") if option else error
