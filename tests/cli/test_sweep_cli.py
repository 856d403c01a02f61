"""`nn-tui sweep` through the real CLI: grid, random and TPE trial counts and the sweep folder's layout; best.toml
reproduces the best trial; SIGTERM then --resume never trains a finished trial again; pruning stops trials early."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, cli_env

XOR_SWEEP = """
name = "xor_sweep"
seed = 0
[data]
dataset = "xor"
batch_size = 0
[[model.layers]]
units = 4
activation = "tanh"
[training]
loss = "bce"
epochs = {epochs}
checkpoint_every = 0
[sweep]
method = "{method}"
trials = {trials}
seeds = {seeds}
metric = "val_loss"
workers = 2
prune = {prune}
[sweep.params]
{params}
"""
RUN_FILES = ("preset.toml", "metrics.csv", "summary.json", "model.safetensors")


def sweep_file(folder: Path, *, method="grid", trials=0, seeds=1, epochs=30, prune="false",
               params='"training.lr" = [0.05, 0.5]', name="sweep.toml") -> Path:
    path = folder / name
    path.write_text(XOR_SWEEP.format(method=method, trials=trials, seeds=seeds, epochs=epochs, prune=prune,
                                     params=params))
    return path


def sweep(folder: Path, *args, timeout=240):
    return subprocess.run([sys.executable, "-m", "nn_tui", "sweep", *map(str, args), "--json"], capture_output=True,
                          text=True, timeout=timeout, cwd=folder, env=cli_env(), stdin=subprocess.DEVNULL)


def events(done) -> list[dict]:
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def trials_csv(sweep_dir: Path) -> list[dict]:
    with open(sweep_dir / "trials.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grid")
    path = sweep_file(folder, seeds=2, params='"training.lr" = [0.05, 0.5]\n"model.layers.0.activation" = ["tanh", "relu"]')
    done = sweep(folder, path, "--out", "out")
    assert done.returncode == 0, done.stderr
    end = events(done)[-1]
    return folder, Path(folder / end["sweep_dir"]), done


def test_grid_runs_every_combination_for_every_seed(grid):
    folder, sweep_dir, done = grid
    end = events(done)[-1]
    assert end["event"] == "end" and end["status"] == "completed"
    assert sweep_dir.parent == folder / "out"
    for name in ("sweep.toml", "study.log", "trials.csv", "summary.json", "best.toml"):
        assert (sweep_dir / name).is_file(), name
    rows = trials_csv(sweep_dir)
    assert list(rows[0]) == ["trial", "status", "seed", "training.lr", "model.layers.0.activation", "val_loss",
                             "epochs", "seconds", "run_dir"]
    combos = {(r["training.lr"], r["model.layers.0.activation"], r["seed"]) for r in rows}
    assert len(rows) == 8 and len(combos) == 8
    assert {r["seed"] for r in rows} == {"0", "1"}
    for r in rows:
        assert r["status"] == "completed" and r["epochs"] == "30"
        run = folder / r["run_dir"]
        assert run.parent == sweep_dir / "runs"
        for name in RUN_FILES:
            assert (run / name).is_file(), (run, name)
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["trials"] == {"completed": 8}
    lr = {s["value"]: s for s in summary["per_value"]["training.lr"]}
    assert lr[0.05]["n"] == 4 and lr[0.5]["n"] == 4
    best = min(rows, key=lambda r: float(r["val_loss"]))
    assert summary["best"]["trial"] == int(best["trial"])
    assert summary["best"]["val_loss"] == pytest.approx(float(best["val_loss"]))
    assert lr[0.5]["mean"] < lr[0.05]["mean"]  # on XOR in 30 epochs the larger rate learns faster


def test_best_toml_reproduces_the_best_trial(grid, nn_tui):
    folder, sweep_dir, _ = grid
    summary = json.loads((sweep_dir / "summary.json").read_text())
    done = nn_tui("run", sweep_dir / "best.toml", "--json", "--out", folder / "again", cwd=folder)
    assert done.returncode == 0, done.stderr
    end = json.loads(done.stdout.splitlines()[-1])
    # The sweep trained its trials together (--vectorize auto): batched kernels round differently from one
    # network's, so the run alone matches to rounding, not bit for bit.
    assert end["best"]["val_loss"] == pytest.approx(summary["best"]["val_loss"], rel=1e-4)


@pytest.mark.parametrize("method", ["random", "tpe"])
def test_random_and_tpe_sample_trials_configurations_per_seed(tmp_path, method):
    path = sweep_file(tmp_path, method=method, trials=3, seeds=2, epochs=5,
                      params='"training.lr" = { low = 0.01, high = 1.0, log = true }\n"model.layers.0.units" = [2, 4, 8]')
    done = sweep(tmp_path, path)
    assert done.returncode == 0, done.stderr
    rows = trials_csv(tmp_path / events(done)[-1]["sweep_dir"])
    assert len(rows) == 6 and all(r["status"] == "completed" for r in rows)
    configs = {}
    for r in rows:
        configs.setdefault((r["training.lr"], r["model.layers.0.units"]), set()).add(r["seed"])
    assert len(configs) == 3 and all(seeds == {"0", "1"} for seeds in configs.values())
    assert all(0.01 <= float(lr) <= 1.0 for lr, _ in configs)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_kill_then_resume_never_reruns_a_finished_trial(tmp_path, signum):
    path = sweep_file(tmp_path, epochs=4000, params='"training.lr" = [0.01, 0.02, 0.03, 0.04, 0.05]')
    # One trial per worker (--vectorize off): grouped, the trials would all end together, before the signal.
    proc = subprocess.Popen([sys.executable, "-m", "nn_tui", "sweep", str(path), "--json", "--vectorize", "off"],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=cli_env())
    first = []
    try:
        for line in proc.stdout:
            first.append(json.loads(line))
            if first[-1]["event"] == "trial_end":
                proc.send_signal(signum)
                break
        rest, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    first += [json.loads(line) for line in rest.splitlines()]
    sweep_dir = tmp_path / first[0]["sweep_dir"]
    rows = trials_csv(sweep_dir)
    finished = {r["training.lr"] for r in rows if r["status"] == "completed"}
    assert finished
    if signum == signal.SIGTERM:  # stopped cleanly: the running trials are saved as stopped
        assert proc.returncode == 143, err
        assert first[-1]["event"] == "end" and first[-1]["status"] == "stopped"
        assert "stopped" in {r["status"] for r in rows}
        assert all(int(r["epochs"] or 0) < 4000 for r in rows if r["status"] == "stopped")
    else:  # killed outright: the trials it was running are still "running" in the records
        assert proc.returncode == -signal.SIGKILL
        assert "running" in {r["status"] for r in rows}

    done = sweep(tmp_path, "--resume", sweep_dir)
    assert done.returncode == 0, done.stderr
    rerun = {json.dumps(e["params"]["training.lr"]) for e in events(done) if e["event"] == "trial_start"}
    assert not rerun & finished
    rows = trials_csv(sweep_dir)
    assert sorted(r["training.lr"] for r in rows) == ["0.01", "0.02", "0.03", "0.04", "0.05"]
    assert all(r["status"] == "completed" for r in rows)
    assert json.loads((sweep_dir / "summary.json").read_text())["status"] == "completed"


def test_pruning_stops_poor_trials_early(tmp_path):
    path = sweep_file(tmp_path, epochs=90, prune="true",
                      params='"training.lr" = [0.5, 0.0001, 0.3, 0.0002, 0.0003]\n')
    done = sweep(tmp_path, path, "--workers", "1")
    assert done.returncode == 0, done.stderr
    rows = trials_csv(tmp_path / events(done)[-1]["sweep_dir"])
    pruned = [r for r in rows if r["status"] == "pruned"]
    assert pruned, rows
    assert all(int(r["epochs"]) < 90 for r in pruned)
    # Successive halving keeps the best third at each rung (the best one while fewer than six reached it): the
    # rates that barely move the loss are always cut at the first rung (epoch 10 of 90).
    assert {r["training.lr"] for r in pruned} >= {"0.0001", "0.0002", "0.0003"}
    assert all(r["epochs"] == "10" for r in pruned)
    assert any(r["status"] == "completed" and r["epochs"] == "90" for r in rows)


def test_a_diverged_trial_is_recorded_and_the_sweep_goes_on(tmp_path):
    done = sweep(tmp_path, "learning_rates", "--set", "training.epochs=5")  # a bundled sweep, by name
    assert done.returncode == 0, done.stderr
    sweep_dir = tmp_path / events(done)[-1]["sweep_dir"]
    assert sweep_dir.parent == tmp_path / "sweeps"
    rows = trials_csv(sweep_dir)
    assert len(rows) == 21
    assert {r["status"] for r in rows if r["training.lr"] == "10.0"} == {"diverged"}
    assert {r["status"] for r in rows if r["training.lr"] != "10.0"} == {"completed"}
    summary = json.loads((sweep_dir / "summary.json").read_text())
    ten = next(v for v in summary["per_value"]["training.lr"] if v["value"] == 10.0)
    assert ten["n"] == 0 and ten["other"] == {"diverged": 3}
    assert summary["best"]["params"]["training.lr"] not in (10.0, 0.0001)


SPIRAL_SWEEP = """
name = "spiral_stop"
seed = 0
[data]
dataset = "spiral"
samples = 400
batch_size = 8
[[model.layers]]
units = 16
activation = "relu"
dropout = 0.1
[training]
optimizer = "adam"
loss = "cross_entropy"
epochs = 300
checkpoint_every = 1
[sweep]
method = "grid"
seeds = 2
workers = 1
[sweep.params]
"training.lr" = [0.003, 0.01]
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_resume_continues_stopped_trials_in_their_own_run_folders(tmp_path, signum):
    """Trials trained together and stopped by SIGTERM (or killed outright) are continued by --resume from their
    checkpoints, in the folders they trained in: no new folders, every epoch's row once, the epochs before kept."""
    path = tmp_path / "sweep.toml"
    path.write_text(SPIRAL_SWEEP)
    proc = subprocess.Popen([sys.executable, "-m", "nn_tui", "sweep", str(path), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=cli_env())
    first = []
    try:
        for line in proc.stdout:
            first.append(json.loads(line))
            if sum(e["event"] == "trial_start" for e in first) == 4:  # the group has started: let it train a bit
                time.sleep(1.0)
                proc.send_signal(signum)
                break
        rest, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    sweep_dir = tmp_path / first[0]["sweep_dir"]
    stopped = trials_csv(sweep_dir)
    if signum == signal.SIGTERM:
        assert proc.returncode == 143, err
        assert {r["status"] for r in stopped} == {"stopped"} and all(0 < int(r["epochs"]) < 300 for r in stopped)
    else:  # killed: nothing recorded where the trials were but their folders' names (…-trial-0003)
        assert proc.returncode == -signal.SIGKILL
        assert {r["status"] for r in stopped} <= {"running"}
    folders = sorted(p.name for p in (sweep_dir / "runs").iterdir())
    assert len(folders) == 4

    done = sweep(tmp_path, "--resume", sweep_dir)
    assert done.returncode == 0, done.stderr
    rows = trials_csv(sweep_dir)
    assert len(rows) == 4 and {r["status"] for r in rows} == {"completed"}
    assert sorted(p.name for p in (sweep_dir / "runs").iterdir()) == folders  # continued, not started again
    assert sorted(Path(r["run_dir"]).name for r in rows) == folders
    for folder in folders:
        run = sweep_dir / "runs" / folder
        with open(run / "metrics.csv", newline="") as fh:
            epochs = [int(row["epoch"]) for row in csv.DictReader(fh)]
        assert epochs == list(range(1, 301))
        assert json.loads((run / "summary.json").read_text())["resumed_from_epoch"] > 0
