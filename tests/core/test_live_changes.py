"""Changing the learning rate, momentum, weight decay and L1 while a run trains: the change takes effect at the
next step without touching the weights, shows in metrics.csv, is recorded in changes.csv, and a resumed run
(stopped, or killed before its checkpoint caught up) replays it and ends exactly like the uninterrupted one."""

from __future__ import annotations

import csv

import pytest
import torch

from nn_tui.core.errors import UserError
from nn_tui.core.preset import parse_preset
from nn_tui.core.run.resume import resume_run
from nn_tui.core.run.runner import Run, prepare_run
from nn_tui.core.safetensors_io import read_safetensors
from nn_tui.core.training.callbacks import Callback
from nn_tui.core.training.events import TrainerControl
from nn_tui.core.training.live import check_live_change

# checkpoint_every=2: the first checkpoint is at epoch 2; later ones wait 5 s (cost rule), so a fast run that is
# killed at epoch 5 resumes from epoch 2, before the change at the end of epoch 3.
PRESET = {"data": {"dataset": "moons", "samples": 200}, "model": {"layers": [{"units": 8, "activation": "tanh"}]},
          "training": {"epochs": 8, "lr": 0.01, "optimizer": "sgd", "momentum": 0.5, "checkpoint_every": 2}}
CHANGES = {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.001, "l1": 0.0005}


class Script(Callback):
    """At the end of epoch `change_at`, asks for CHANGES; at `stop_at` stops cleanly, at `kill_at` is killed
    (KeyboardInterrupt inside the loop: no checkpoint of that moment, like a SIGKILL)."""

    def __init__(self, control: TrainerControl, change_at: int | None = 3, stop_at: int | None = None,
                 kill_at: int | None = None) -> None:
        self.control, self.change_at, self.stop_at, self.kill_at = control, change_at, stop_at, kill_at

    def on_epoch_end(self, state, event) -> None:
        if event.epoch == self.change_at:
            for key, value in CHANGES.items():
                self.control.request_change(key, value)
        if event.epoch == self.stop_at:
            self.control.stop()
        if event.epoch == self.kill_at:
            raise KeyboardInterrupt


def run(tmp_path, **script):
    control = TrainerControl()
    r = Run(prepare_run(parse_preset(PRESET)), out_dir=tmp_path, control=control, callbacks=[Script(control, **script)])
    return r.execute(), r.run_dir.path


def rows(path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def without_seconds(run_dir) -> list[dict[str, str]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows(run_dir / "metrics.csv")]


def weights(run_dir) -> dict[str, torch.Tensor]:
    return read_safetensors(run_dir / "model.safetensors")[0]


@pytest.fixture(scope="module")
def changed(tmp_path_factory):
    finished, run_dir = run(tmp_path_factory.mktemp("changed"))
    assert finished.status == "completed"
    return run_dir


def test_a_change_takes_effect_at_the_next_step_and_shows_in_metrics_and_changes_csv(changed, tmp_path):
    metrics = rows(changed / "metrics.csv")
    assert [float(r["lr"]) for r in metrics] == [0.01] * 3 + [0.1] * 5
    changes = rows(changed / "changes.csv")
    assert [(r["epoch"], r["step"], r["key"], float(r["old"]), float(r["new"])) for r in changes] == [
        ("4", "0", "lr", 0.01, 0.1), ("4", "0", "momentum", 0.5, 0.9), ("4", "0", "weight_decay", 0.0, 0.001),
        ("4", "0", "l1", 0.0, 0.0005),
    ]
    assert {r["global_step"] for r in changes} == {"15"}  # 3 epochs of 5 batches of 32 (160 training rows)
    # The weights were not reset: until the change the run is the same as one without it, and after it
    # the loss goes on from where it was rather than from a fresh start.
    _, plain = run(tmp_path, change_at=None)
    assert without_seconds(plain)[:3] == without_seconds(changed)[:3]
    assert without_seconds(plain)[3:] != without_seconds(changed)[3:]
    assert not (plain / "changes.csv").exists()


@pytest.mark.parametrize("how", ["stop_at", "kill_at"])
def test_a_resumed_run_replays_the_changes_and_ends_the_same(changed, tmp_path, how):
    first, run_dir = run(tmp_path, **{how: 5})
    assert first.status == "stopped" and first.epochs_run == 5
    resumed = resume_run(run_dir)
    assert resumed.resume_from.epoch == (5 if how == "stop_at" else 2)  # killed: from before the change
    assert resumed.execute().status == "completed"
    assert without_seconds(run_dir) == without_seconds(changed)
    assert rows(run_dir / "changes.csv") == rows(changed / "changes.csv")
    expected = weights(changed)
    got = weights(run_dir)
    assert all(torch.equal(got[k], expected[k]) for k in expected)


def test_a_change_is_checked_against_the_optimizer():
    training = parse_preset(PRESET).training
    assert check_live_change(training, "lr", 0.5) == 0.5
    with pytest.raises(UserError, match="training.lr"):
        check_live_change(training, "lr", 0)
    adam = parse_preset({"data": {"dataset": "xor"}}).training
    with pytest.raises(UserError, match=r"\(adam has no momentum\); allowed: lr, weight_decay, l1"):
        check_live_change(adam, "momentum", 0.9)


def test_the_exported_script_says_what_was_changed(changed, tmp_path):
    from nn_tui.core.export.formats import export_run

    source = export_run(changed, "script", tmp_path / "train.py").read_text()
    assert "lr 0.01 -> 0.1 before step 0 of epoch 4" in source and "l1 0 -> 0.0005" in source
