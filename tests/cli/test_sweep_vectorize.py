"""`nn-tui sweep --vectorize` through the real CLI: a grid sweep trains its trials as one group whose run folders
`nn-tui eval`, `export` and `run --resume` accept; --vectorize off trains them one by one; a bad value is refused."""

from __future__ import annotations

import json

from tests.cli.conftest import refused
from tests.cli.test_sweep_cli import sweep_file


def events(done) -> list[dict]:
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_vectorized_sweep_writes_ordinary_run_folders(nn_tui, tmp_path):
    path = sweep_file(tmp_path, seeds=2, epochs=20, params='"training.lr" = [0.05, 0.5]')
    done = nn_tui("sweep", path, "--json", "--workers", "1", "--vectorize", "on", "--set", "training.checkpoint_every=5")
    assert done.returncode == 0, done.stderr
    ends = [e for e in events(done) if e["event"] == "trial_end"]
    assert len(ends) == 4 and {e["group"] for e in ends} == {4}
    assert {e["status"] for e in ends} == {"completed"}
    run_dir = ends[0]["run_dir"]
    assert nn_tui("eval", run_dir).returncode == 0
    assert nn_tui("export", run_dir, "--output", tmp_path / "model.py").returncode == 0
    resumed = nn_tui("run", "--resume", run_dir, "--epochs", "25", "--quiet")
    assert resumed.returncode in (0, 3), resumed.stderr  # 3: the preset's [expect] missed, still trained on
    with open(tmp_path / run_dir / "metrics.csv") as f:
        assert len(f.read().strip().splitlines()) == 1 + 25


def test_vectorize_off_and_bad_value(nn_tui, tmp_path):
    path = sweep_file(tmp_path, epochs=5)
    done = nn_tui("sweep", path, "--json", "--workers", "1", "--vectorize", "off")
    assert done.returncode == 0, done.stderr
    assert {e["group"] for e in events(done) if e["event"] == "trial_end"} == {1}
    refused(nn_tui("sweep", path, "--vectorize", "sometimes"), "--vectorize", "auto, on, off")
