"""Ctrl-C or SIGTERM in the first moments of `nn-tui run` (while Python imports typer and torch, or while the
run folder is being made): a quiet exit 130 / 143, and either no run folder or a whole one, never a temp file."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests.cli.conftest import cli_env


@pytest.mark.parametrize(("signum", "delay"), [(signal.SIGINT, 0.4), (signal.SIGTERM, 0.4), (signal.SIGTERM, 1.5)])
def test_an_early_signal_leaves_quietly(tmp_path, signum, delay):
    out = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "nn_tui", "run", "spiral", "--quiet", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=tmp_path)
    time.sleep(delay)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    for run_dir in out.iterdir() if out.exists() else ():
        names = {p.name for p in run_dir.iterdir()}
        assert {"preset.toml", "summary.json"} <= names, names  # a folder that reads and resumes
    assert not list(tmp_path.rglob("*.tmp"))
