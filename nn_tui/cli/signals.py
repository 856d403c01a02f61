"""Ctrl-C and SIGTERM before a command has set up its own handling: leave quietly with 128 + the signal.

Imported first by nn_tui.cli, before anything slow (typer, torch) is imported.
"""

from __future__ import annotations

import signal
import sys

early_signal: list[int] = []  # the signal that asked us to leave before a command took over, if any


def _leave_on_signal(signum, frame):
    """Ctrl-C or SIGTERM before a command sets up its own handling (say, while torch is imported): leave
    quietly with 128 + the signal number. As SystemExit, so `finally` blocks still run: an atomic write
    removes its temp file and a run folder being created is removed (nn_tui.core.run.runner). Some import code
    swallows even SystemExit; main() then still leaves with this code and no traceback."""
    early_signal.append(signum)
    try:
        sys.stderr.write("\ninterrupted\n")
    except (OSError, RuntimeError):
        pass
    raise SystemExit(128 + signum)


def install_signal_handling() -> None:
    """Installed before anything slow is imported; only over Python's defaults (not over an embedder's)."""
    try:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _leave_on_signal)
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _leave_on_signal)
    except ValueError:  # not the main thread
        pass


def restore_default_handlers() -> None:
    """For the app, which handles its own keys, as before."""
    for signum, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
        if signal.getsignal(signum) is _leave_on_signal:
            signal.signal(signum, default)
