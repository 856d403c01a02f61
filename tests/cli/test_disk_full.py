"""A disk that fills up during a run: the run fails cleanly, the files written so far stay whole.

The disk is a real 300 KB tmpfs mounted for the test (this needs root, as in the project's container;
elsewhere the test is skipped), filled from outside while `nn-tui run` trains, as a user's disk would be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from nn_tui.core.run.checkpoint import LAST_FILE, load_checkpoint
from nn_tui.core.run.rundir import read_metrics
from tests.cli.conftest import ROOT, cli_env


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(disk)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(folder):
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:  # ENOSPC: the disk is full
        pass
    finally:
        os.close(fd)


def wait_for(check, proc, seconds=60.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end and proc.poll() is None:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_a_disk_that_fills_during_training_fails_the_run_cleanly(small_disk):
    args = ["run", "spiral", "--epochs", "1500", "--quiet", "--out", str(small_disk),
            "--set", "training.checkpoint_every=1", "--set", "training.threads=1"]
    proc = subprocess.Popen([sys.executable, "-m", "nn_tui", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=cli_env(), cwd=ROOT)
    try:
        def started():
            runs = list(small_disk.iterdir())
            return len(runs) == 1 and (runs[0] / "checkpoints" / LAST_FILE).exists() and len(read_metrics(runs[0])) >= 3

        assert wait_for(started, proc), proc.stderr.read() if proc.poll() is not None else "no checkpoint yet"
        fill(small_disk)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    (run_dir,) = [p for p in small_disk.iterdir() if p.is_dir()]
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "Errno" not in err, err
    assert "the disk is full" in err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and "the disk is full" in summary["message"]
    assert len(read_metrics(run_dir)) >= 3  # the rows written before the disk filled are whole
    assert load_checkpoint(run_dir / "checkpoints" / LAST_FILE).epoch >= 1  # the last checkpoint is whole
    assert not [p.name for p in run_dir.rglob("*.tmp")]
