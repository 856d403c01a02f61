"""Run the real `nn-tui` CLI in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["COLUMNS"] = "120"
    return env


@pytest.fixture
def nn_tui(tmp_path):
    def run(*args, timeout=120, cwd=None):
        return subprocess.run(
            [sys.executable, "-m", "nn_tui", *map(str, args)],
            capture_output=True, text=True, timeout=timeout, cwd=cwd or tmp_path, env=cli_env(),
            stdin=subprocess.DEVNULL,
        )

    return run


def refused(done, *words):
    """A CLI result that is a user error: exit 2, one line on stderr naming each of `words`, no traceback."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr
