"""`nn-tui run --health` and `nn-tui export`, run as a user would."""

from __future__ import annotations

import csv


def test_run_with_health_then_export_a_script(nn_tui, tmp_path):
    done = nn_tui("run", "xor", "--health", "--epochs", "40", "--out", "runs", "--quiet")
    assert done.returncode == 0, done.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    with open(run_dir / "health.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and list(rows[0])[:6] == ["epoch", "step", "layer", "units", "activation", "grad_norm"]
    assert {r["layer"] for r in rows} == {"hidden 1", "output"}
    assert rows[-1]["epoch"] == "40"  # the final state is always recorded

    done = nn_tui("export", run_dir)  # default: a script named after the preset, in the current folder
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "xor_train.py").is_file()
    assert "python xor_train.py" in done.stdout
    source = (tmp_path / "xor_train.py").read_text()
    assert "EPOCHS = 40" in source and "nn_tui" not in source


def test_export_refuses_bad_input_with_exit_2(nn_tui, tmp_path):
    done = nn_tui("export", tmp_path / "nope")
    assert done.returncode == 2 and "no such run folder" in done.stderr and "Traceback" not in done.stderr
    done = nn_tui("export", tmp_path, "--format", "pickle")
    assert done.returncode == 2 and "unknown format 'pickle'" in done.stderr
