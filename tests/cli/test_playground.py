"""TensorFlow Playground's pieces through `nn-tui run`: L1 regularisation and feature crosses."""

from __future__ import annotations

import json

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
