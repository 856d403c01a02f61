"""Input that used to be read silently wrong, or reported badly (issue #12, items 6-9), through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.cli.conftest import ROOT, cli_env


def one_error_line(r, *words):
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "RuntimeWarning" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def csv_preset(tmp_path, text, *, extra=""):
    (tmp_path / "data.csv").write_text(text)
    preset = tmp_path / "p.toml"
    preset.write_text(f'[data]\ndataset = "csv"\npath = "data.csv"\ntarget = "y"\n{extra}\n[training]\nepochs = 2\n')
    return preset


def only_run_dir(out):
    (run_dir,) = list(out.iterdir())
    return run_dir


# ---------------------------------------------------------------- item 6: memory, refused before allocating


def test_a_network_too_big_for_memory_is_refused_with_its_estimate(nn_tui, tmp_path):
    import psutil

    # 625,100,001 parameters; Adam peaked at 22.7 GB here (36 bytes each); the estimate is 40 bytes each
    if psutil.virtual_memory().available > 625_100_001 * 40:
        pytest.skip("this machine has the memory to train it")
    r = nn_tui("run", "xor", "--out", tmp_path / "runs", "--set", "model.layers=[{units=25000},{units=25000}]")
    line = one_error_line(r, "model.layers", "the network (625,", "needs about", "GB of memory")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir()), line


def test_a_csv_too_big_for_memory_is_refused_before_it_is_read(nn_tui, tmp_path):
    import psutil

    # Short cells ("1,0"): about 60 bytes of memory per cell while reading, 20-40 times the file. The file is a
    # tenth of the free memory, which the old check (6 times the file) let through. Sparse: after its first
    # 64 KB of rows it is zeros that take no disk, and it is refused before anything reads past them.
    preset = csv_preset(tmp_path, "")
    with open(tmp_path / "data.csv", "wb") as fh:
        fh.write(b"a,y\n" + b"1,0\n" * 20000)
        fh.truncate(psutil.virtual_memory().available // 10)
    r = nn_tui("run", preset, timeout=60)
    one_error_line(r, str(preset), "data:", "the dataset (csv)", "needs about", "of memory but only")


# ---------------------------------------------------------------- item 7: data read silently wrong


def test_inf_in_a_regression_target_is_an_error_not_classes(nn_tui, tmp_path):
    rows = "".join(f"{i},{i * 0.37:.3f}\n" for i in range(59)) + "60,inf\n"
    one_error_line(nn_tui("run", csv_preset(tmp_path, "x,y\n" + rows)), "data.target", "'inf' at line 61", "not a finite number")


def test_numbers_with_thousands_separators_are_not_dropped_silently(nn_tui, tmp_path):
    rows = "".join(f'{i},"{1000 + i * 7:,}",{i % 2}\n' for i in range(30))
    r = nn_tui("run", csv_preset(tmp_path, "x,price,y\n" + rows))
    one_error_line(r, "data.features", "'price'", "thousands separators", "line 2", "'1,000'")
    # listed by the user, the same column says why it is not a number
    r = nn_tui("run", csv_preset(tmp_path, "x,price,y\n" + rows, extra='features = ["x", "price"]'))
    one_error_line(r, "'price'", "thousands separators")


def test_features_beyond_float32_name_the_column(nn_tui, tmp_path):
    rows = "".join(f"{i},{i}e300,{i % 2}\n" for i in range(1, 21))
    one_error_line(nn_tui("run", csv_preset(tmp_path, "x,huge,y\n" + rows)), "'huge'", "float32", "line 2", "rescale")


def test_a_fifo_is_refused_without_being_opened(nn_tui, tmp_path):
    preset = csv_preset(tmp_path, "")
    (tmp_path / "data.csv").unlink()
    os.mkfifo(tmp_path / "data.csv")  # no writer: opening it for reading would block for ever
    one_error_line(nn_tui("run", preset, timeout=60), "data.path", "FIFO", "not a regular file")


def test_validating_on_the_training_rows_is_said_in_output_and_summary(nn_tui, tmp_path):
    r = nn_tui("run", "moons", "--epochs", "2", "--quiet", "--out", tmp_path / "a", "--set", "data.test_fraction=0")
    assert r.returncode in (0, 3), r.stderr
    assert "note: nothing is held out for validation (data.test_fraction = 0)" in r.stderr
    summary = json.loads((only_run_dir(tmp_path / "a") / "summary.json").read_text())
    assert summary["validation_on_train"] is True and "training rows" in summary["validation_note"]
    # every class with one row: a 0.2 test fraction holds nothing out
    r = nn_tui("run", csv_preset(tmp_path, "x,y\n1,a\n2,b\n3,c\n"), "--out", tmp_path / "b", "--json")
    assert r.returncode == 0, r.stderr
    assert "data.test_fraction = 0.2 held out no rows" in r.stderr
    assert json.loads((only_run_dir(tmp_path / "b") / "summary.json").read_text())["validation_on_train"] is True
    # the usual split says nothing
    r = nn_tui("run", "moons", "--epochs", "2", "--quiet", "--out", tmp_path / "c")
    assert "note:" not in r.stderr
    assert json.loads((only_run_dir(tmp_path / "c") / "summary.json").read_text())["validation_on_train"] is False


# ---------------------------------------------------------------- item 8: presets and command-line values


def test_a_preset_with_a_byte_order_mark_runs(nn_tui, tmp_path):
    preset = tmp_path / "bom.toml"
    preset.write_bytes('\ufeffname = "bom"\n[data]\ndataset = "and"\n[training]\nepochs = 2\n'.encode())
    r = nn_tui("run", preset, "--quiet", "--out", tmp_path / "runs")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("completed: 2 epochs")


def test_escape_sequences_in_a_preset_name_are_not_sent_to_the_terminal(nn_tui, tmp_path):
    preset = tmp_path / "evil.toml"
    preset.write_text('name = "evil\\u001b[2J\\u001b]0;owned\\u0007 [bold]x"\n[data]\ndataset = "and"\n[training]\nepochs = 1\n')
    r = nn_tui("run", preset, "--out", tmp_path / "runs")
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    assert "evil\\x1b[2J\\x1b]0;owned\\x07 [bold]x: and" in r.stdout


def test_eval_of_weights_that_are_not_finite_says_so(nn_tui, tmp_path):
    import torch
    from safetensors.torch import load_file, save_file

    r = nn_tui("run", "and", "--epochs", "2", "--quiet", "--out", tmp_path)
    run_dir = only_run_dir(tmp_path)
    weights = load_file(run_dir / "model.safetensors")
    weights["0.weight"][0, 0] = float("nan")
    save_file({k: v.contiguous() for k, v in weights.items()}, run_dir / "model.safetensors")
    one_error_line(nn_tui("eval", run_dir), "model.safetensors", "the weights are not finite", "0.weight")
    assert torch.isnan(load_file(run_dir / "model.safetensors")["0.weight"]).any()  # left as it was


@pytest.mark.parametrize(
    "args, words",
    [
        (["--set", "model.layers=[{units="], ["--set 'model.layers=[{units='", "TOML syntax error"]),
        (["--set", 'training.optimizer="adam'], ["--set", "TOML syntax error"]),
        (["--seed", str(10**26)], ["--seed 100000000000000000000000000:", "<= 4294967295"]),
        (["--device", "cuda:-1"], ["--device cuda:-1:", "cuda:N"]),
    ],
)
def test_command_line_value_errors_name_the_option(nn_tui, args, words):
    line = one_error_line(nn_tui("run", "xor", *args), *words)
    assert "(with --set)" not in line or args[0] == "--set"


def test_seed_that_is_not_an_integer_names_the_option(nn_tui):
    r = nn_tui("run", "xor", "--seed", "1e26")
    assert r.returncode == 2 and "'--seed'" in r.stderr and "Traceback" not in r.stderr


def test_resume_with_out_is_refused(nn_tui, tmp_path):
    r = nn_tui("run", "and", "--epochs", "2", "--quiet", "--out", tmp_path / "runs")
    run_dir = only_run_dir(tmp_path / "runs")
    one_error_line(nn_tui("run", "--resume", run_dir, "--out", tmp_path / "elsewhere"), "--out", "its own folder")
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["run", "no_such_preset", "--json"], "bundled presets"),
        (["run", "xor", "--json", "--seed", "abc"], "--seed"),
        (["run", "xor", "--json", "--set", "training.lr=abc"], "training.lr"),
        (["eval", "no_such_run", "--json"], "no such run folder"),
    ],
)
def test_json_mode_reports_bad_input_as_an_error_event(nn_tui, args, words):
    r = nn_tui(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    (line,) = r.stdout.splitlines()
    event = json.loads(line)
    assert event["event"] == "error" and event["exit_code"] == 2 and words in event["message"]
    assert words in r.stderr and "Traceback" not in r.stderr


def test_more_threads_than_cores_warns_and_uses_the_cores(nn_tui, tmp_path):
    r = nn_tui("run", "and", "--epochs", "2", "--quiet", "--threads", "1000", "--out", tmp_path, "--set", "expect={}")
    assert r.returncode == 0, r.stderr
    cores = os.cpu_count()
    assert f"warning: training.threads = 1000 is more than this machine's {cores} CPU cores; using {cores}" in r.stderr
    assert json.loads((only_run_dir(tmp_path) / "summary.json").read_text())["threads"] == cores


# ---------------------------------------------------------------- item 9: a missed [expect] exits 3


def test_a_missed_expectation_exits_3_and_says_which(nn_tui, tmp_path):
    r = nn_tui("run", "xor", "--set", "model.layers=[]", "--quiet", "--out", tmp_path)
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "expectation not met: val_accuracy >= 1 (best: 0." in r.stderr
    assert json.loads((only_run_dir(tmp_path) / "summary.json").read_text())["expect"]["val_accuracy"]["met"] is False
    r = nn_tui("run", "xor", "--json", "--out", tmp_path / "met")
    assert r.returncode == 0 and "expectation" not in r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["expect"]["val_accuracy"]["met"] is True


# ---------------------------------------------------------------- output that is not a terminal


def test_output_to_a_pipe_is_never_cut_or_wrapped(tmp_path):
    # unscaled targets in the millions: losses around 1e12, which a fixed-decimals column cut to "164117560227…"
    preset = csv_preset(tmp_path, "x,y\n" + "".join(f"{i},{i * 1_000_003}\n" for i in range(60)))
    env = dict(cli_env(), COLUMNS="40")  # a narrow terminal setting must not matter for a pipe
    r = subprocess.run(
        [sys.executable, "-m", "nn_tui", "run", str(preset), "--out", str(tmp_path / "runs"),
         "--set", 'name="a-long-preset-name-that-makes-the-header-line-long"'],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT, stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, r.stderr
    assert "…" not in r.stdout and "..." not in r.stdout
    lines = r.stdout.splitlines()
    assert lines[0].startswith("a-long-preset-name-that-makes-the-header-line-long: csv (regression") and lines[0].endswith("thread)")
    progress = next(line for line in lines if line.startswith("epoch 2/2"))
    assert "e+1" in progress.split(" train ")[1].split()[0] and "samples/s" in progress  # the whole line, in 4 digits
    final = next(line for line in lines if line.strip("│ ").startswith("final"))
    cells = [c.strip() for c in final.strip("│ ").split("│")]
    assert len(cells) == 7, final
    for cell in cells[2:4]:  # train_loss, val_loss: 4 significant digits in scientific notation
        assert "e+1" in cell and len(cell) <= 10, final
