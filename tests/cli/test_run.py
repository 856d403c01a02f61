"""`nn-tui run` and `nn-tui presets` from the outside: exit codes, output formats, run folders."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from nn_tui.core.run.rundir import read_metrics
from tests.cli.conftest import ROOT, cli_env

BAD_PRESETS = {
    "unknown_dataset.toml": ('[data]\ndataset = "mnistt"\n', "data.dataset", "expected one of"),
    "bad_activation.toml": (
        '[data]\ndataset = "xor"\n[[model.layers]]\nunits = 4\nactivation = "relux"\n',
        "model.layers[0].activation",
        "relu, leaky_relu",
    ),
    "bad_type.toml": ('[data]\ndataset = "xor"\n[training]\nepochs = "ten"\n', "training.epochs", "an integer"),
    "unknown_key.toml": ('[data]\ndataset = "xor"\n[training]\nlearning_rate = 0.1\n', "training.learning_rate", "allowed keys"),
    "wrong_loss.toml": ('[data]\ndataset = "sine"\n[training]\nloss = "bce"\n', "training.loss", "mse, mae, huber"),
    "syntax.toml": ('[data\ndataset = "xor"\n', None, "line 1"),
    "no_cuda.toml": ('[data]\ndataset = "xor"\n[training]\ndevice = "cuda"\n', "training.device", "CUDA is not available"),
}


@pytest.mark.parametrize("name", sorted(BAD_PRESETS))
def test_bad_preset_exits_2_with_one_clear_line(nn_tui, tmp_path, name):
    text, key, words = BAD_PRESETS[name]
    f = tmp_path / name
    f.write_text(text)
    r = nn_tui("run", f)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert str(f) in lines[0] and words in lines[0]
    if key:
        assert key in lines[0]


@pytest.mark.parametrize(
    "args, words",
    [
        (["run", "no_such_preset"], "bundled presets: and"),
        (["run", "missing.toml"], "file not found"),
        (["run", "xor", "--epochs", "0"], "--epochs"),
        (["run", "xor", "--set", "training.lr=abc"], "training.lr"),
        (["run", "xor", "--set", "nokey"], "KEY.PATH=VALUE"),
        (["run", "xor", "--device", "tpu"], "--device tpu: 'tpu' is not allowed"),
        (["run", "xor", "--bogus"], "No such option"),
    ],
)
def test_bad_command_line_exits_2(nn_tui, args, words):
    r = nn_tui(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert words in r.stderr


def test_json_lines_and_run_directory(nn_tui, tmp_path):
    r = nn_tui("run", "xor", "--json", "--epochs", "20", "--out", tmp_path / "out", "--set", "training.lr=0.2")
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["event"] for e in events] == ["epoch"] * 20 + ["end"]
    assert events[0]["epoch"] == 1 and {"train_loss", "val_loss", "val_accuracy", "lr", "seconds"} <= set(events[0])
    end = events[-1]
    assert end["status"] == "completed"
    run_dir = tmp_path / "out" / end["run_dir"].split("/")[-1]
    assert run_dir.is_dir() and str(run_dir) == str(tmp_path / "out" / run_dir.name)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["final"]["lr"] == 0.2 and len(read_metrics(run_dir)) == 20
    # the resolved preset.toml is runnable as-is and gives the same result
    again = nn_tui("run", run_dir / "preset.toml", "--json", "--out", tmp_path / "again")
    assert again.returncode == 0
    assert json.loads(again.stdout.splitlines()[-1])["final"]["val_loss"] == end["final"]["val_loss"]


def test_human_output_shows_summary(nn_tui, tmp_path):
    r = nn_tui("run", "linear", "--epochs", "5", "--out", tmp_path, "--set", "expect={}")
    assert r.returncode == 0, r.stderr
    assert "completed" in r.stdout and "val_r2" in r.stdout and "run dir:" in r.stdout
    assert "total" in r.stdout and "parameters" in r.stdout  # the model summary table


def test_diverged_run_exits_1(nn_tui, tmp_path):
    r = nn_tui("run", "sine", "--json", "--out", tmp_path, "--set", 'training.optimizer="sgd"', "--set", "training.lr=90")
    assert r.returncode == 1
    end = json.loads(r.stdout.splitlines()[-1])
    assert end["status"] == "diverged" and "learning rate" in end["message"]


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_leaves_a_valid_run_directory(tmp_path, sig, code):
    proc = subprocess.Popen(
        [sys.executable, "-m", "nn_tui", "run", "spiral", "--json", "--epochs", "100000", "--out", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=ROOT,
    )
    first = proc.stdout.readline()  # wait for the first finished epoch
    assert json.loads(first)["event"] == "epoch"
    time.sleep(0.3)
    t0 = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 5
    assert proc.returncode == code, err
    assert "Traceback" not in err
    end = json.loads(out.splitlines()[-1])
    assert end["event"] == "end" and end["status"] == "stopped"
    (run_dir,) = list(tmp_path.iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["epochs_run"] >= 1
    rows = read_metrics(run_dir)
    assert [r["epoch"] for r in rows] == list(range(1, summary["epochs_run"] + 1))
    assert (run_dir / "model.safetensors").stat().st_size > 0
    assert (run_dir / "preset.toml").read_text().startswith('name = "spiral"')


def test_presets_lists_bundled_presets(nn_tui):
    r = nn_tui("presets")
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines()]
    for name in ("and", "xor", "linear", "circles", "moons", "spiral", "blobs", "sine"):
        assert name in names
    assert "XOR gate" in r.stdout
    sweeps = names[names.index("sweeps") + 1:]  # then the bundled sweeps, under their own heading
    assert {"learning_rates", "activations_at_depth", "optimizers", "width_vs_depth"} <= set(sweeps)


def test_quiet_run_of_a_bundled_preset_from_another_folder(nn_tui, tmp_path):
    r = nn_tui("run", "and", "--quiet", "--out", "myruns", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") == 1 and r.stdout.startswith("completed: 300 epochs, best val_accuracy 1.0000")
    assert (tmp_path / "myruns").is_dir()
