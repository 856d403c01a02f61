"""A sweep over your own CSV file: the path is relative to the sweep file, every trial's run folder keeps it
absolute, and a metric the data's task does not have is refused once the file is read (its task comes from it)."""

from __future__ import annotations

import json
import shutil

from nn_tui.core.preset import bundled_presets_dir
from tests.cli.conftest import refused
from tests.cli.test_sweep_cli import events, sweep, trials_csv

CSV_SWEEP = """
name = "fruit_sweep"
[data]
dataset = "csv"
path = "data/fruit.csv"
target = "fruit"
batch_size = 16
[[model.layers]]
units = 8
[training]
epochs = 3
checkpoint_every = 0
[sweep]
metric = "{metric}"
workers = 2
[sweep.params]
"training.lr" = [0.01, 0.1]
"""


def write(tmp_path, metric="val_accuracy"):
    (tmp_path / "data").mkdir(exist_ok=True)
    shutil.copy(bundled_presets_dir() / "data" / "fruit.csv", tmp_path / "data" / "fruit.csv")
    path = tmp_path / "fruit_sweep.toml"
    path.write_text(CSV_SWEEP.format(metric=metric))
    return path


def test_a_csv_sweep_runs_from_anywhere(tmp_path):
    path = write(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = sweep(elsewhere, path)
    assert done.returncode == 0, done.stderr
    sweep_dir = elsewhere / events(done)[-1]["sweep_dir"]
    rows = trials_csv(sweep_dir)
    assert [r["status"] for r in rows] == ["completed", "completed"]
    expected = str((tmp_path / "data" / "fruit.csv").resolve())
    assert f'path = "{expected}"' in (sweep_dir / "sweep.toml").read_text()
    for r in rows:
        assert f'path = "{expected}"' in (elsewhere / r["run_dir"] / "preset.toml").read_text()
    assert json.loads((sweep_dir / "summary.json").read_text())["best"]["val_accuracy"] > 0


def test_a_metric_the_csv_task_does_not_have(tmp_path, nn_tui):
    path = write(tmp_path, metric="val_r2")
    refused(nn_tui("sweep", path), "sweep.metric", "val_r2", "classification")
    assert not (tmp_path / "sweeps").exists()
