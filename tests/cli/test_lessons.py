"""The lessons path, headless: every lesson's setup runs through the real CLI and its effect really happens
(the figures the README's Lessons table reports). The runs start together in one module fixture, a few at a time."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, cli_env, refused
from tests.core.mnist_files import write_mnist

LESSONS = ROOT / "presets" / "lessons"
AT_ONCE = 4  # processes at a time: most of each is importing torch


def lesson_file(stem: str) -> Path:
    return LESSONS / f"{stem}.toml"


def try_sets(stem: str) -> list[str]:
    """The lesson's own "try this" change, as the `--set` arguments the app applies."""
    import tomllib

    table = tomllib.loads(lesson_file(stem).read_text(encoding="utf-8"))["lesson"]
    return [arg for change in table["try"] for arg in ("--set", change)]


def jobs(mnist_root: Path) -> dict[str, list[str]]:
    run = ["run", "--quiet"]
    sweep = ["sweep", "--quiet", "--workers", "1"]
    return {
        "and": [*run, lesson_file("01_one_neuron")],
        "xor": [*run, lesson_file("02_hidden_layers")],
        "xor_try": [*run, lesson_file("02_hidden_layers"), *try_sets("02_hidden_layers")],
        "lr": [*sweep, lesson_file("03_learning_rate")],
        "activations": [*sweep, lesson_file("04_activations")],
        "losses": [*sweep, lesson_file("05_losses")],
        "optimizers": [*sweep, lesson_file("06_optimizers")],
        "vanishing": [*run, "--health", lesson_file("07_vanishing_gradients")],
        "vanishing_try": [*run, "--health", lesson_file("07_vanishing_gradients"), *try_sets("07_vanishing_gradients")],
        "exploding": [*run, lesson_file("08_exploding_gradients")],
        "exploding_try": [*run, lesson_file("08_exploding_gradients"), *try_sets("08_exploding_gradients")],
        "overfit": [*run, lesson_file("09_overfitting")],
        "overfit_try": [*run, lesson_file("09_overfitting"), *try_sets("09_overfitting")],
        # MNIST on generated IDX files (nothing is downloaded): the lesson's network, 2 epochs
        "mnist": [*run, lesson_file("10_mnist"), "--epochs", "2", "--set", "data.download=false",
                  "--set", f'data.root="{mnist_root.as_posix()}"'],
    }


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """Every job's finished process and the folder it wrote into (its --out)."""
    base = tmp_path_factory.mktemp("lessons")
    mnist_root = base / "idx"
    write_mnist(mnist_root, train=300, test=100)
    env = {**cli_env(), "NN_TUI_STATE_DIR": str(base / "state")}
    waiting = list(jobs(mnist_root).items())
    running: dict[str, tuple[subprocess.Popen, Path]] = {}
    results: dict[str, tuple[subprocess.CompletedProcess, Path]] = {}
    while waiting or running:
        while waiting and len(running) < AT_ONCE:
            name, args = waiting.pop(0)
            out = base / name
            proc = subprocess.Popen([sys.executable, "-m", "nn_tui", *map(str, args), "--out", str(out)], cwd=base,
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    stdin=subprocess.DEVNULL)
            running[name] = (proc, out)
        for name, (proc, out) in list(running.items()):
            if proc.poll() is not None:
                stdout, stderr = proc.communicate()
                results[name] = (subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), out)
                del running[name]
        time.sleep(0.05)
    return results


def only_dir(out: Path) -> Path:
    (found,) = [p for p in out.iterdir() if p.is_dir()]
    return found


def summary(done, name: str) -> dict:
    return json.loads((only_dir(done[name][1]) / "summary.json").read_text())


def metrics(done, name: str) -> list[dict]:
    with open(only_dir(done[name][1]) / "metrics.csv") as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def trials(done, name: str, key: str) -> dict[str, dict]:
    with open(only_dir(done[name][1]) / "trials.csv") as fh:
        return {row[key]: row for row in csv.DictReader(fh)}


def ok(done, name: str, code: int = 0):
    result, _ = done[name]
    assert result.returncode == code, (name, result.stdout, result.stderr)
    return result


def test_lessons_lists_ten_in_order(nn_tui, tmp_path):
    result = nn_tui("lessons")
    assert result.returncode == 0, result.stderr
    titles = ["One neuron", "Why hidden layers", "Gradient descent and the learning rate", "Activations", "Losses",
              "Optimizers", "Vanishing gradients", "Exploding gradients", "Overfitting and underfitting", "MNIST digits"]
    positions = [result.stdout.find(t) for t in titles]
    assert -1 not in positions and positions == sorted(positions), result.stdout
    assert "nn-tui sweep" in result.stdout and "nn-tui run" in result.stdout
    refused(nn_tui("lessons", "11"), "no lesson 11", "1 to 10")


def test_lesson1_one_neuron_learns_and(done):
    ok(done, "and")
    assert summary(done, "and")["best"]["val_accuracy"] == 1.0
    assert summary(done, "and")["parameters"] == 3  # two weights and a bias


def test_lesson2_perceptron_fails_xor_and_a_hidden_layer_solves_it(done):
    ok(done, "xor")
    ok(done, "xor_try")
    assert summary(done, "xor")["best"]["val_accuracy"] <= 0.75
    assert summary(done, "xor_try")["best"]["val_accuracy"] == 1.0


def test_lesson3_learning_rate_crawls_converges_diverges(done):
    ok(done, "lr")
    by_lr = trials(done, "lr", "training.lr")
    assert by_lr["0.001"]["status"] == "completed" and float(by_lr["0.001"]["val_loss"]) > 1.0  # crawls
    assert by_lr["0.1"]["status"] == "completed" and float(by_lr["0.1"]["val_loss"]) < 0.05  # converges
    assert by_lr["2.5"]["status"] == "diverged"


def test_lesson4_sigmoid_lags_the_other_activations(done):
    ok(done, "activations")
    r2 = {}
    for layers, row in trials(done, "activations", "model.layers").items():
        r2[layers.split('activation = "')[1].split('"')[0]] = float(row["val_r2"])
    assert set(r2) == {"sigmoid", "tanh", "relu", "leaky_relu", "gelu"}
    assert r2["sigmoid"] < 0.9
    assert min(v for k, v in r2.items() if k != "sigmoid") > 0.98


def test_lesson5_outliers_drag_mse_not_mae_or_huber(done):
    from safetensors.numpy import load_file

    ok(done, "losses")
    rows = trials(done, "losses", "training.loss")
    # On the clean line y = 2x + 1 with x standardised, the intercept is 1 + 2·mean(x) (the 10 % moved up by 12
    # would lift a least-squares line by about 1.2).
    import numpy as np

    x = np.loadtxt(LESSONS / "data" / "outliers.csv", delimiter=",", skiprows=1)[:, 0]
    clean_bias = 1 + 2 * x.mean()
    bias = {loss: float(load_file(str(Path(row["run_dir"]) / "model.safetensors"))["0.bias"][0])
            for loss, row in rows.items()}
    assert abs(bias["mse"] - clean_bias) > 0.7, bias
    assert abs(bias["mae"] - clean_bias) < 0.25, bias
    assert abs(bias["huber"] - clean_bias) < 0.25, bias


def test_lesson6_sgd_trails_adaptive_optimizers(done):
    ok(done, "optimizers")
    acc = {k: float(v["val_accuracy"]) for k, v in trials(done, "optimizers", "training.optimizer").items()}
    assert acc["sgd"] < 0.9 and acc["adam"] >= 0.98 and acc["rmsprop"] >= 0.98, acc


def gradient_ratio(done, name: str) -> float:
    """First hidden layer's gradient norm over the last layer's, at health.csv's last measurement."""
    with open(only_dir(done[name][1]) / "health.csv") as fh:
        rows = list(csv.DictReader(fh))
    last = max((int(r["epoch"]), int(r["step"])) for r in rows)
    norms = [float(r["grad_norm"]) for r in rows if (int(r["epoch"]), int(r["step"])) == last]
    assert len(norms) == 9  # 8 hidden layers and the output layer
    return norms[0] / norms[-1]


def test_lesson7_sigmoid_gradients_vanish_relu_keeps_them(done):
    ok(done, "vanishing")
    ok(done, "vanishing_try")
    assert gradient_ratio(done, "vanishing") < 1e-2
    assert gradient_ratio(done, "vanishing_try") > 1e-2
    assert summary(done, "vanishing")["best"]["val_accuracy"] <= 0.6  # stalls near chance
    assert summary(done, "vanishing_try")["best"]["val_accuracy"] >= 0.95


def test_lesson8_too_high_rate_diverges_and_clipping_fixes_it(done):
    result = ok(done, "exploding", code=1)
    assert summary(done, "exploding")["status"] == "diverged"
    assert "diverged" in result.stdout + result.stderr
    ok(done, "exploding_try")
    assert summary(done, "exploding_try")["best"]["val_r2"] > 0.8


def test_lesson9_big_network_overfits_dropout_fixes_it(done):
    ok(done, "overfit")
    ok(done, "overfit_try")
    for name, most in (("overfit", None), ("overfit_try", 1.3)):
        val = [row["val_loss"] for row in metrics(done, name)]
        ratio = val[-1] / min(val)
        if most is None:
            assert ratio > 1.5, ratio  # training loss falls on while validation loss climbs
            assert metrics(done, name)[-1]["train_loss"] < 0.1
        else:
            assert ratio < most, ratio


def test_lesson10_mnist_network_and_confusion_matrix(done):
    ok(done, "mnist")
    s = summary(done, "mnist")
    assert s["parameters"] == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10  # the 784-128-64-10 network
    assert s["threads"] == 1
    matrix = s["evaluation"]["confusion_matrix"]
    assert len(matrix) == 10 and sum(map(sum, matrix)) == 100
    assert s["best"]["val_accuracy"] >= 0.9  # the generated digits are easy; real MNIST is in the README
    assert not math.isnan(s["final"]["val_loss"])
