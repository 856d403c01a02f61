"""Every bad sweep input is exit 2 with one line naming the key (and no traceback, no sweep folder)."""

from __future__ import annotations

import pytest

from tests.cli.conftest import refused
from tests.cli.test_sweep_cli import sweep_file

GOOD = '"training.lr" = [0.05, 0.5]'


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        (dict(params='"training.lrr" = [0.1]'), ['sweep.params."training.lrr"', "unknown key 'lrr'"]),
        (dict(params='"model.layers.3.units" = [4]'), ['sweep.params."model.layers.3.units"', "layer index"]),
        (dict(params='"training.lr" = []'), ['sweep.params."training.lr"', "empty list"]),
        (dict(method="random", trials=2, params='"training.lr" = { low = 1.0, high = 0.1 }'),
         ['sweep.params."training.lr"', "low (1) is above high (0.1)"]),
        (dict(method="tpe", trials=2, params='"training.lr" = { low = 0.0, high = 0.1, log = true }'),
         ['sweep.params."training.lr"', "log range needs low > 0"]),
        (dict(params='"training.lr" = { low = 0.01, high = 0.1 }'), ['sweep.params."training.lr"', "random or tpe"]),
        (dict(params='"model.layers.0.activation" = ["relu", "swish"]'),
         ['sweep.params."model.layers.0.activation"', "swish", "relu, leaky_relu"]),
        (dict(method="random"), ["sweep.trials", "random"]),
        (dict(method="tpe", trials=0), ["sweep.trials", "tpe"]),
        (dict(method="bayes"), ["sweep.method", "grid, random, tpe"]),
        (dict(params="seed = [1, 2]"), ['sweep.params."seed"', "sweep.seeds"]),
        (dict(params="", name="noparams.toml"), ["sweep.params", "at least one key"]),
    ],
)
def test_bad_sweep_input_is_refused_naming_the_key(tmp_path, nn_tui, changes, words):
    path = sweep_file(tmp_path, **changes)
    done = nn_tui("sweep", path)
    refused(done, str(path), *words)
    assert not (tmp_path / "sweeps").exists()


def test_a_metric_the_task_does_not_have(tmp_path, nn_tui):
    path = sweep_file(tmp_path)
    path.write_text(path.read_text().replace('metric = "val_loss"', 'metric = "val_r2"'))
    refused(nn_tui("sweep", path), "sweep.metric", "val_r2", "classification")
    path.write_text(path.read_text().replace('metric = "val_r2"', 'metric = "accuracy"'))
    refused(nn_tui("sweep", path), "sweep.metric", "val_loss, train_loss, val_accuracy, val_r2")


def test_bad_command_lines(tmp_path, nn_tui):
    path = sweep_file(tmp_path)
    refused(nn_tui("sweep", path, "--backend", "slurm"), "--backend", "local, ray")
    refused(nn_tui("sweep", "no_such_sweep"), "no_such_sweep", "bundled sweeps")
    refused(nn_tui("sweep", tmp_path / "missing.toml"), "missing.toml", "not found")
    refused(nn_tui("sweep", "--resume", tmp_path), str(tmp_path), "not a sweep folder")
    refused(nn_tui("sweep", path, "--address", "10.0.0.1:6379"), "--address", "--backend ray")
    refused(nn_tui("sweep", "--resume", tmp_path, "--backend", "ray"), "--resume", "local backend")
    refused(nn_tui("sweep", path, "--resume", tmp_path), "--resume", "not both")
    plain = tmp_path / "plain.toml"
    plain.write_text('[data]\ndataset = "xor"\n')
    refused(nn_tui("sweep", plain), "plain.toml", "sweep", "[sweep] table")
