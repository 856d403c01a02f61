"""The run directory: what is written, and that it is complete and readable."""

from __future__ import annotations

import csv
import json

from safetensors.torch import load_file

from nn_tui.core.preset import parse_preset
from nn_tui.core.run.rundir import read_metrics
from nn_tui.core.run.runner import train_preset
from nn_tui.core.toml import tomllib


def test_run_directory_contents(make_preset, tmp_path):
    p = make_preset("moons", layers=[{"units": 8}], data={"samples": 200}, training={"epochs": 4}, name="my run")
    finished, run = train_preset(p, out_dir=tmp_path)
    d = run.run_dir.path
    assert d.parent == tmp_path and "my-run" in d.name
    assert sorted(x.name for x in d.iterdir()) == [
        "checkpoints", "metrics.csv", "model.safetensors", "preset.toml", "summary.json"
    ]
    assert sorted(x.name for x in (d / "checkpoints").iterdir()) == ["best.safetensors", "last.safetensors"]

    with open(d / "metrics.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["epoch", "train_loss", "val_loss", "val_accuracy", "lr", "seconds"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    seconds = [float(r[5]) for r in rows[1:]]
    assert seconds == sorted(seconds)

    summary = json.loads((d / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["final"]["epoch"] == 4 and set(summary["final"]) == set(rows[0])
    assert set(summary["best"]) == set(rows[0])
    assert summary["epochs_run"] == 4 and summary["parameters"] == 2 * 8 + 8 + 8 + 1
    assert summary["device"] == "cpu" and summary["seed"] == 0
    assert set(summary["versions"]) == {"python", "torch", "nn_tui"}
    assert summary["wall_time"] > 0

    resolved = parse_preset(tomllib.loads((d / "preset.toml").read_text()))
    assert resolved.training.loss == "bce"  # the default was resolved and written
    assert resolved.layers == p.layers and resolved.data == p.data

    weights = load_file(d / "model.safetensors")
    assert set(weights) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    state = run.trainer.model.state_dict()
    assert all((weights[k] == state[k]).all() for k in weights)
    assert read_metrics(d)[-1]["val_accuracy"] == summary["final"]["val_accuracy"]


def test_regression_run_uses_r2_column(make_preset, tmp_path):
    finished, run = train_preset(make_preset("linear", training={"epochs": 2}), out_dir=tmp_path)
    header = (run.run_dir.path / "metrics.csv").read_text().splitlines()[0]
    assert header == "epoch,train_loss,val_loss,val_r2,lr,seconds"
    assert "val_r2" in finished.best


def test_two_runs_get_distinct_folders(make_preset, tmp_path):
    p = make_preset("xor", training={"epochs": 1})
    _, a = train_preset(p, out_dir=tmp_path)
    _, b = train_preset(p, out_dir=tmp_path)
    assert a.run_dir.path != b.run_dir.path


def test_no_temp_files_left(make_preset, tmp_path):
    _, run = train_preset(make_preset("xor", training={"epochs": 3}), out_dir=tmp_path)
    assert not [x for x in run.run_dir.path.iterdir() if x.name.startswith(".")]


def test_a_new_run_folder_is_readable_before_training_starts(make_preset, tmp_path):
    import json

    from nn_tui.core.run.resume import resume_run
    from nn_tui.core.run.runner import Run, prepare_run

    run = Run(prepare_run(make_preset("xor", training={"epochs": 3})), out_dir=tmp_path)
    d = run.run_dir.path
    # a kill at this moment leaves the preset and a 'running' summary, and the folder resumes
    assert (d / "preset.toml").is_file()
    assert json.loads((d / "summary.json").read_text())["status"] == "running"
    run.run_dir.close()  # as a killed process would: the folder lock goes with it
    finished = resume_run(d).execute()
    assert finished.status == "completed" and finished.epochs_run == 3
