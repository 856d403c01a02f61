"""`nn-tui run --resume RUN_DIR`: continuing a run, extending it, and refusing broken or foreign run folders.

In-process through typer's runner (no torch import per call); the kill tests run the real subprocess.
"""

from __future__ import annotations

import json
import pickle

import pytest
from typer.testing import CliRunner

from nn_tui.cli import app
from nn_tui.core.run.checkpoint import LAST_FILE
from nn_tui.core.run.rundir import read_metrics, read_summary


def nn_tui(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def json_events(stdout):
    return [json.loads(line) for line in stdout.splitlines()]


def without_seconds(rows):
    return [{k: v for k, v in r.items() if k not in ("seconds", "samples_per_sec")} for r in rows]


@pytest.fixture
def short_run(tmp_path):
    """A finished 10-epoch xor run folder (without xor's [expect], which 10 epochs miss: exit code 3)."""
    code, out, err = nn_tui("run", "xor", "--epochs", "10", "--json", "--out", tmp_path / "runs", "--set", "expect={}")
    assert code == 0, err
    return tmp_path / "runs" / json_events(out)[-1]["run_dir"].split("/")[-1]


def test_extending_a_run_equals_training_longer_from_the_start(short_run, tmp_path):
    code, out, err = nn_tui("run", "--resume", short_run, "--epochs", "25", "--json")
    assert code == 0, err
    events = json_events(out)
    assert [e["epoch"] for e in events[:-1]] == list(range(11, 26))
    end = events[-1]
    assert end["status"] == "completed" and end["epochs_run"] == 25 and end["run_dir"] == str(short_run)
    assert [r["epoch"] for r in read_metrics(short_run)] == list(range(1, 26))
    assert read_summary(short_run)["epochs"] == 25 and "epochs = 25" in (short_run / "preset.toml").read_text()

    code, out, err = nn_tui("run", "xor", "--epochs", "25", "--json", "--out", tmp_path / "whole", "--set", "expect={}")
    whole = json_events(out)
    assert without_seconds([end["final"]]) == without_seconds([whole[-1]["final"]])
    whole_dir = tmp_path / "whole" / whole[-1]["run_dir"].split("/")[-1]
    assert without_seconds(read_metrics(short_run)) == without_seconds(read_metrics(whole_dir))


def test_human_output_says_where_it_resumes(short_run):
    code, out, err = nn_tui("run", "--resume", short_run, "--epochs", "12")
    assert code == 0, err
    assert "resuming after epoch 10" in out and "completed" in out


def test_quiet_resume(short_run):
    code, out, err = nn_tui("run", "--resume", short_run, "--epochs", "11", "--quiet")
    assert code == 0 and out.startswith("completed: 11 epochs")


def one_line_error(code, out, err, *words):
    assert code == 2, (out, err)
    assert out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for w in words:
        assert w in lines[0], lines[0]


@pytest.mark.parametrize(
    "args, words",
    [
        (["xor", "--resume", "{run}"], ["either a PRESET (xor) or --resume"]),
        (["--resume", "{run}", "--set", "training.lr=0.5"], ["--set and --seed cannot change a resumed run"]),
        (["--resume", "{run}", "--seed", "3"], ["--set and --seed"]),
        (["--resume", "{run}"], ["already trained 10 of 10 epochs", "--epochs"]),
        (["--resume", "{run}", "--epochs", "5"], ["already trained 10 of 5 epochs"]),
        (["--resume", "{run}/nope", "--epochs", "20"], ["no such run folder"]),
        (["--resume", "{run}/preset.toml", "--epochs", "20"], ["not a folder"]),
        ([], ["missing PRESET"]),
    ],
)
def test_bad_resume_requests_exit_2(short_run, args, words):
    args = [a.replace("{run}", str(short_run)) for a in args]
    one_line_error(*nn_tui("run", *args), *words)


def test_broken_checkpoint_exits_2_and_leaves_the_folder_alone(short_run):
    last = short_run / "checkpoints" / LAST_FILE
    last.write_bytes(last.read_bytes()[:-100])
    before = {p.name: p.read_bytes() for p in short_run.iterdir() if p.is_file()}
    one_line_error(*nn_tui("run", "--resume", short_run, "--epochs", "20"), str(last), "truncated")
    assert before == {p.name: p.read_bytes() for p in short_run.iterdir() if p.is_file()}


def test_pickled_checkpoint_exits_2(short_run):
    (short_run / "checkpoints" / LAST_FILE).write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    one_line_error(*nn_tui("run", "--resume", short_run, "--epochs", "20"), "Python pickle", "refuses to load it")


def test_run_folder_of_another_preset_exits_2(short_run):
    preset = short_run / "preset.toml"
    preset.write_text(preset.read_text().replace("units = 8", "units = 5"))
    one_line_error(*nn_tui("run", "--resume", short_run, "--epochs", "20"), "inputs changed", "model.layers.0.units 8 → 5")


def test_absurd_network_exits_2_before_training(tmp_path):
    code, out, err = nn_tui("run", "xor", "--out", tmp_path, "--set", "model.layers=[{units = 65536}, {units = 65536}, {units = 65536}]")
    one_line_error(code, out, err, "model.layers", "GB of memory but only")
    assert not list(tmp_path.iterdir())  # no run folder was made
