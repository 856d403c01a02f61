"""Kill `nn-tui run` at random moments (SIGINT, SIGTERM, SIGKILL), check the run folder, resume, and compare.

The resumed run must end with exactly the metrics of an uninterrupted run with the same seed (CPU),
whatever moment the signal came: this needs the shuffle order, dropout's random state, the optimizer,
the scheduler and the early-stopping counters all restored. The delays are random; a failure prints them.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from nn_tui.core.run.checkpoint import BEST_FILE, LAST_FILE, load_checkpoint, read_safetensors
from nn_tui.core.preset import load_preset, resolve_preset_path
from nn_tui.core.run.resume import resume_run
from nn_tui.core.run.rundir import read_metrics, read_summary
from nn_tui.core.run.runner import train_preset
from tests.cli.conftest import ROOT, cli_env

EPOCHS = 20
OVERRIDES = [
    "data.samples=2000",
    "data.batch_size=16",
    "model.layers.0.dropout=0.2",
    'training.scheduler="cosine"',
    "training.early_stopping=25",
    "training.checkpoint_every=1",
    "training.threads=1",
    f"training.epochs={EPOCHS}",
]


def without_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def train_uninterrupted(out_dir):
    """The reference: the same preset trained in one go, in-process."""
    preset = load_preset(resolve_preset_path("moons"), OVERRIDES)
    finished, run = train_preset(preset, out_dir=out_dir)
    assert finished.status == "completed"
    return without_seconds(read_metrics(run.run_dir.path))


def start(out):
    args = ["run", "moons", "--json", "--out", str(out)]
    for item in OVERRIDES:
        args += ["--set", item]
    return subprocess.Popen(
        [sys.executable, "-m", "nn_tui", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=ROOT,
    )


SIGNALS = {"SIGINT": (signal.SIGINT, 130), "SIGTERM": (signal.SIGTERM, 143), "SIGKILL": (signal.SIGKILL, -9)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three runs started side by side (each costs seconds of `import torch`), each hit by its signal at a
    random moment after its second finished epoch, scaled to the epoch time so the signal lands before
    the run ends on a fast machine or a slow one; meanwhile the reference trains in-process.
    Returns ({name: (run folder, exit code, stdout, stderr, note)}, reference metrics)."""
    base = tmp_path_factory.mktemp("killed")
    out = {}

    def one(name):
        proc = start(base / name)
        first = proc.stdout.readline()
        t1 = time.monotonic()
        second = proc.stdout.readline()  # the time between the first two epochs sets the pace
        dt = time.monotonic() - t1
        lines = [first, second]
        if not all(line.startswith('{"event": "epoch"') for line in lines):
            proc.kill()
            out[name] = (None, None, "".join(lines), proc.communicate()[1], f"{name}: no epochs")
            return
        # SIGKILL half the time just after an epoch ends (while its row and checkpoint are being written).
        short = name == "SIGKILL" and random.random() < 0.5
        delay = random.uniform(0.0, 0.5 * dt if short else min(1.0, 6 * dt))
        time.sleep(delay)
        proc.send_signal(SIGNALS[name][0])
        stdout, stderr = proc.communicate(timeout=120)
        (run_dir,) = (base / name).iterdir()
        out[name] = (run_dir, proc.returncode, "".join(lines) + stdout, stderr, f"{name} {delay:.3f} s after epoch 2")

    threads = [threading.Thread(target=one, args=(name,)) for name in SIGNALS]
    for t in threads:
        t.start()
    reference = train_uninterrupted(tmp_path_factory.mktemp("whole"))
    for t in threads:
        t.join()
    return out, reference


def check_readable(run_dir, note):
    """What a reader finds after any kill: whole metric rows, parseable JSON, loadable checkpoints."""
    rows = read_metrics(run_dir)
    assert [r["epoch"] for r in rows] == list(range(1, len(rows) + 1)), note
    lines = (run_dir / "metrics.csv").read_text().split("\n")[:-1]  # a cut-short last line has no newline
    assert all(line.count(",") == 5 for line in lines), note
    summary = read_summary(run_dir)
    assert summary["status"] in ("running", "stopped", "completed"), note
    checkpoint = load_checkpoint(run_dir / "checkpoints" / LAST_FILE)
    assert 1 <= checkpoint.epoch <= len(rows), note
    read_safetensors(run_dir / "checkpoints" / BEST_FILE)
    return checkpoint


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_interrupt_writes_a_checkpoint_and_resumes_exactly(runs, name):
    killed, uninterrupted = runs
    run_dir, code, out, err, note = killed[name]
    assert run_dir is not None, (note, out, err)
    end = json.loads(out.splitlines()[-1])
    if end["status"] == "completed":
        pytest.skip(f"the run finished before the signal ({note})")
    assert code == SIGNALS[name][1], (note, err)
    assert "Traceback" not in err, note
    assert end["event"] == "end" and end["status"] == "stopped", note
    assert read_summary(run_dir)["status"] == "stopped", note
    checkpoint = check_readable(run_dir, note)
    assert checkpoint.epoch == end["epochs_run"] and checkpoint.within_epoch is not None, note

    resumed = resume_run(run_dir).execute()  # what the app calls
    assert resumed.status == "completed", note
    assert without_seconds(read_metrics(run_dir)) == uninterrupted, note


def test_sigkill_leaves_a_readable_folder_that_resumes_exactly(runs):
    from typer.testing import CliRunner

    from nn_tui.cli import app

    killed, uninterrupted = runs
    run_dir, code, out, err, note = killed["SIGKILL"]
    assert run_dir is not None, (note, out, err)
    if code == 0:
        pytest.skip(f"the run finished before the signal ({note})")
    assert code == -signal.SIGKILL, (note, err)
    check_readable(run_dir, note)
    result = CliRunner().invoke(app, ["run", "--resume", str(run_dir), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, (note, result.stderr)
    assert json.loads(result.stdout.splitlines()[-1])["status"] == "completed", note
    assert without_seconds(read_metrics(run_dir)) == uninterrupted, note
    assert not list(run_dir.rglob(".*.tmp")), note  # temp files of cut-short writes are cleared
