"""TensorFlow Playground's pieces through `nn-tui run`: L1 regularisation and feature crosses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from nn_tui.core.safetensors_io import read_safetensors
from tests.cli.conftest import refused

# circles with a 16-unit ReLU layer: with and without L1 it reaches accuracy 1.0 (measured).
SMALL_CIRCLES = ["--set", "data.samples=400", "--set", "model.layers.0.units=16", "--set", "training.lr=0.03",
                 "--set", "expect={}"]


def _weights(run_dir) -> list[float]:
    """Every Linear weight (not the biases) of a run's model.safetensors."""
    tensors, _ = read_safetensors(run_dir / "model.safetensors")
    return [float(v) for k, t in tensors.items() if k.endswith("weight") for v in t.flatten().tolist()]


def _run(nn_tui, tmp_path, *args):
    done = nn_tui("run", "circles", "--quiet", "--out", tmp_path / "runs", *args)
    assert done.returncode == 0, done.stderr
    run_dir = max((tmp_path / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
    return run_dir, json.loads((run_dir / "summary.json").read_text())


def test_l1_makes_the_weights_sparser_at_a_comparable_loss(nn_tui, tmp_path):
    plain_dir, plain = _run(nn_tui, tmp_path, *SMALL_CIRCLES)
    l1_dir, l1 = _run(nn_tui, tmp_path, *SMALL_CIRCLES, "--set", "training.l1=0.001")
    assert "l1 = 0.001" in (l1_dir / "preset.toml").read_text()
    assert "l1" not in (plain_dir / "preset.toml").read_text()  # 0 is the default and is left out
    for summary in (plain, l1):  # both solve it: the comparison is between equally good networks
        assert summary["final"]["val_accuracy"] == 1.0 and summary["final"]["val_loss"] < 0.05
    near_zero = {name: sum(abs(w) < 0.01 for w in ws) / len(ws)
                 for name, ws in (("plain", _weights(plain_dir)), ("l1", _weights(l1_dir)))}
    assert near_zero["l1"] >= 0.3 and near_zero["l1"] >= 5 * near_zero["plain"], near_zero


def test_a_negative_l1_is_refused(nn_tui):
    refused(nn_tui("run", "circles", "--set", "training.l1=-0.1"), "training.l1", ">= 0")


CROSSES = ["--set", "model.layers=[]", "--set", 'data.extra_features=["x1^2", "x2^2"]', "--set", "expect={}"]


def test_a_perceptron_with_squared_inputs_solves_circles(nn_tui, tmp_path):
    crossed_dir, crossed = _run(nn_tui, tmp_path, *CROSSES)
    assert crossed["final"]["val_accuracy"] >= 0.95
    assert 'extra_features = ["x1^2", "x2^2"]' in (crossed_dir / "preset.toml").read_text()
    tensors, _ = read_safetensors(crossed_dir / "model.safetensors")
    assert tuple(tensors["0.weight"].shape) == (1, 4)  # x1, x2, x1^2, x2^2 -> one logit
    _, plain = _run(nn_tui, tmp_path, "--set", "model.layers=[]", "--set", "expect={}")
    assert plain["final"]["val_accuracy"] < 0.7  # the same perceptron on x1, x2 alone cannot

    # The exported script computes the same squares and solves it too, with numpy and torch alone.
    assert nn_tui("export", crossed_dir, "--output", tmp_path / "train.py").returncode == 0
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "train.py"], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    final = re.search(r"Final: val_loss [\d.]+, val_accuracy ([\d.]+)", done.stdout)
    assert final and float(final.group(1)) >= 0.95, done.stdout


def test_extra_features_are_part_of_what_a_run_is(nn_tui, tmp_path):
    run_dir, _ = _run(nn_tui, tmp_path, *CROSSES, "--epochs", "2")
    done = nn_tui("eval", run_dir, "--json")  # the saved model is scored on the same four inputs
    assert done.returncode == 0, done.stderr
    assert "accuracy" in json.loads(done.stdout.strip().splitlines()[-1])
    preset = run_dir / "preset.toml"
    text = preset.read_text()
    preset.write_text(text.replace('["x1^2", "x2^2"]', '["x1^2", "x1*x2"]'))
    refused(nn_tui("run", "--resume", run_dir, "--epochs", "3"), "data.extra_features")
    preset.write_text(text)
    done = nn_tui("run", "--resume", run_dir, "--epochs", "3", "--quiet")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("names, allowed", [
    ('["x3^2"]', "x1^2, x2^2, x1*x2, sin(x1), sin(x2)"),
    ('["x2*x1"]', "x1*x2"),
    ('["x1^2", "x1^2"]', "listed twice"),
])
def test_an_unknown_extra_feature_is_refused_naming_the_allowed_ones(nn_tui, names, allowed):
    refused(nn_tui("run", "circles", "--set", f"data.extra_features={names}"), "data.extra_features", allowed)


def test_nn_tui_run_resume_replays_a_change_made_after_the_last_checkpoint(nn_tui, tmp_path):
    from tests.core.test_live_changes import run, without_seconds

    _, whole = run(tmp_path / "whole")
    first, killed = run(tmp_path / "killed", kill_at=5)  # its last checkpoint is at epoch 2, the change at 3
    assert first.status == "stopped"
    done = nn_tui("run", "--resume", killed, "--json")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["key"] for e in events if e["event"] == "change"] == ["lr", "momentum", "weight_decay", "l1"]
    assert events[-1]["status"] == "completed"
    assert without_seconds(killed) == without_seconds(whole)
