"""`nn-tui lr-find`: the suggested learning rate trains the network; the sweep writes nothing; bad input is exit 2."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import refused


@pytest.mark.parametrize(
    "preset, run_args",
    [
        # y = 2x + 1 with plain SGD: a learning rate 100x too small misses R² >= 0.98 in the preset's 100 epochs.
        ("linear", []),
        # moons with Adam, shortened to 10 epochs: the suggestion must still reach 95 % there.
        ("moons", ["--epochs", "10", "--set", "expect.val_accuracy=0.95"]),
    ],
)
def test_suggested_lr_trains_where_a_tiny_lr_does_not(nn_tui, tmp_path, preset, run_args):
    done = nn_tui("lr-find", preset, "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    lrs, losses = result["lr"], result["loss"]
    assert len(lrs) == len(losses) == result["steps"] and 20 <= len(lrs) <= 100
    assert all(a < b for a, b in zip(lrs, lrs[1:])) and lrs[0] == pytest.approx(1e-6)
    suggested = result["suggested_lr"]
    assert suggested in lrs and 1e-3 <= suggested <= 3
    assert not (tmp_path / "runs").exists()  # the sweep leaves no run folder

    good = nn_tui("run", preset, "--set", f"training.lr={suggested}", *run_args, "--quiet", "--out", "out")
    assert good.returncode == 0, (good.stdout, good.stderr)
    slow = nn_tui("run", preset, "--set", f"training.lr={suggested / 1000}", *run_args, "--quiet", "--out", "out")
    assert slow.returncode == 3, (slow.stdout, slow.stderr)  # missed the preset's [expect]


def test_human_output_plots_the_curve_and_names_the_suggestion(nn_tui):
    done = nn_tui("lr-find", "xor", "--steps", "40", "--set", "training.optimizer=\"sgd\"")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "40 steps of sgd" in out
    assert "learning rate" in out and "1e-6" in out  # the plot's log axis
    assert "<- suggested" in out and "suggested lr: " in out
    assert "\x1b[" not in out


def test_bad_input_is_exit_2(nn_tui):
    refused(nn_tui("lr-find", "no_such_preset"), "no_such_preset", "bundled presets")
    refused(nn_tui("lr-find", "xor", "--end-lr", "1e-7"), "--end-lr", "--start-lr")
    refused(nn_tui("lr-find", "xor", "--start-lr", "0"), "--start-lr")
    refused(nn_tui("lr-find", "xor", "--end-lr", "inf"), "--end-lr")
    refused(nn_tui("lr-find", "xor", "--set", "training.optimiser=\"sgd\""), "training.optimiser")
    bad = nn_tui("lr-find", "xor", "--set", "training.lr=-1", "--json")
    refused(bad, "training.lr")
    assert json.loads(bad.stdout)["exit_code"] == 2
