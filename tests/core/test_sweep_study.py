"""Resuming a study a kill interrupted: trials left running are asked again with their values, even one killed
while Optuna was still filling its values in; finished trials are never asked again."""

from __future__ import annotations

from optuna.trial import TrialState

from nn_tui.core.sweep.spec import load_sweep
from nn_tui.core.sweep.study import ask, open_study, prepare_resume, shown_trials, status_of

FILE = """
name = "s"
[data]
dataset = "xor"
[training]
epochs = 2
[sweep]
metric = "val_loss"
[sweep.params]
"training.lr" = [0.1, 0.2, 0.3]
"""


def test_resume_asks_again_what_a_kill_interrupted_and_nothing_else(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(FILE)
    sweep = load_sweep(path)
    study = open_study(sweep, tmp_path, "minimize")
    done_trial, done_task = ask(study, sweep, tmp_path, "val_loss", "minimize")
    study.tell(done_trial, 0.5)
    running, running_task = ask(study, sweep, tmp_path, "val_loss", "minimize")  # killed while training
    half = study.ask()  # killed while being sampled: the grid point is chosen, its values not yet set
    assert half.params == {}

    study = open_study(sweep, tmp_path, "minimize")  # a new process opens the same journal
    assert prepare_resume(study, sweep) == 1
    asked = [ask(study, sweep, tmp_path, "val_loss", "minimize")[1] for _ in range(2)]
    lrs = sorted(t.labels["training.lr"] for t in asked)
    assert done_task.labels["training.lr"] not in lrs
    assert sorted([*lrs, done_task.labels["training.lr"]]) == [0.1, 0.2, 0.3]
    assert running_task.labels["training.lr"] in lrs
    assert all(t.seed == 0 for t in asked)
    shown = shown_trials(study)
    assert [status_of(t) for t in shown if t.state == TrialState.FAIL] == []  # both replaced by their retries
