"""A run folder whose inputs changed since training: `--resume` and `eval` refuse what they cannot honestly
continue or score, name what changed, and change nothing. Stale temp files go; a killed run is explained."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from safetensors.torch import save_file

from nn_tui.core.run.checkpoint import LAST_FILE, read_safetensors
from tests.cli.conftest import cli_env, refused

PRESET = """name = "points"
seed = 0

[data]
dataset = "csv"
path = "data.csv"
target = "label"

[[model.layers]]
units = 4
activation = "tanh"

[training]
loss = "bce"
lr = 0.1
epochs = 5
"""


def write_csv(path, rows, classes=("a", "b")):
    lines = ["x1,x2,label"] + [f"{i % 7},{(i * 3) % 5},{classes[i % len(classes)]}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished 5-epoch run on a 60-row, 2-class CSV (copied per test: tests change it)."""
    root = tmp_path_factory.mktemp("trained")
    write_csv(root / "data.csv", 60)
    (root / "points.toml").write_text(PRESET)
    done = subprocess.run([sys.executable, "-m", "nn_tui", "run", "points.toml", "--quiet", "--out", "runs"],
                          capture_output=True, text=True, env=cli_env(), cwd=root)
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture
def run_dir(trained, tmp_path):
    """The trained run folder (and its CSV) copied to tmp_path, the preset's absolute CSV path pointed at the copy."""
    shutil.copy(trained / "data.csv", tmp_path / "data.csv")
    (original,) = (trained / "runs").iterdir()
    path = shutil.copytree(original, tmp_path / "run")
    preset = path / "preset.toml"
    preset.write_text(preset.read_text().replace(str(trained / "data.csv"), str(tmp_path / "data.csv")))
    return path


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def files(path):
    return {p.relative_to(path): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def test_resume_refuses_an_edited_preset_and_names_the_changes(nn_tui, run_dir):
    edit(run_dir / "preset.toml", "seed = 0", "seed = 7")
    edit(run_dir / "preset.toml", "lr = 0.1", "lr = 0.5")
    before = files(run_dir)
    refused(nn_tui("run", "--resume", run_dir, "--epochs", "7"), "inputs changed", "seed 0 → 7", "training.lr 0.1 → 0.5")
    assert files(run_dir) == before


def test_resume_refuses_changed_data(nn_tui, run_dir):
    write_csv(run_dir.parent / "data.csv", 200)
    refused(nn_tui("run", "--resume", run_dir, "--epochs", "7"), "data rows (train 48 → 160, test 12 → 40)")


def test_resume_still_continues_a_folder_from_before_definitions(nn_tui, run_dir):
    last = run_dir / "checkpoints" / LAST_FILE
    tensors, meta = read_safetensors(last)
    state = json.loads(meta["state"])
    del state["definition"]  # as checkpoints were written before this was recorded
    meta["state"] = json.dumps(state)
    save_file(tensors, last, metadata=meta)
    done = nn_tui("run", "--resume", run_dir, "--epochs", "7", "--quiet")
    assert done.returncode == 0, done.stderr
    assert json.loads((run_dir / "summary.json").read_text())["epochs_run"] == 7


def test_resume_refuses_a_metrics_file_without_its_header(nn_tui, run_dir):
    (run_dir / "metrics.csv").write_text("this is not csv\n")
    refused(nn_tui("run", "--resume", run_dir, "--epochs", "7"), "metrics.csv", "'this is not csv'", "header")
    assert (run_dir / "metrics.csv").read_text() == "this is not csv\n"


def test_eval_refuses_data_with_other_classes(nn_tui, run_dir):
    write_csv(run_dir.parent / "data.csv", 60, classes=("a", "b", "c"))
    refused(nn_tui("eval", run_dir), "the model scores 2 classes", "this data has 3 (a, b, c)")


def test_eval_names_an_edited_network(nn_tui, run_dir):
    edit(run_dir / "preset.toml", "units = 4", "units = 6")
    refused(nn_tui("eval", run_dir), "trained with another network", "model.layers.0.units 4 → 6")
    edit(run_dir / "preset.toml", "units = 6", "units = 4")
    edit(run_dir / "preset.toml", 'activation = "tanh"', 'activation = "relu"')  # same shapes: only the record tells
    refused(nn_tui("eval", run_dir), 'model.layers.0.activation "tanh" → "relu"')


def test_eval_of_a_killed_run_suggests_resume_and_stale_temp_files_go(nn_tui, run_dir):
    (run_dir / "model.safetensors").unlink()  # killed before the end: checkpoints, no weights
    stale = [run_dir / ".summary.json.k1ll3d.tmp", run_dir / "checkpoints" / ".last.safetensors.x7y8z9.tmp"]
    for tmp in stale:
        tmp.write_bytes(b"\0" * 1000)
    refused(nn_tui("eval", run_dir), "has a checkpoint at epoch 5", f"nn-tui run --resume {run_dir}")
    assert not any(tmp.exists() for tmp in stale)
