"""Smoke test of the benchmark suite's own machinery (no timings asserted; the suite itself is not a test)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"


def _load_runner():
    spec = importlib.util.spec_from_file_location("nn_tui_benchmarks_run", BENCH / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_rows_report_medians_and_ratios_as_json():
    run = _load_runner()
    speed = run.Row("mnist", "batch 64", "samples/s", "tutorial", "nn-tui", a=[100.0, 120.0, 110.0],
                    b=[150.0, 160.0, 140.0], target="≥ 1.3×")
    wall = run.Row("tiny", "xor", "s", "tutorial", "nn-tui", a=[2.0, 2.2, 2.1], b=[1.0, 1.1, 1.0],
                   higher_is_better=False)
    assert speed.ratio == 150.0 / 110.0
    assert wall.ratio == 2.1 / 1.0
    assert len(wall.pair_ratios) == 3
    data = json.loads(json.dumps([speed.as_dict(), wall.as_dict()]))
    assert data[0]["a"]["median"] == 110.0 and data[1]["ratio"] == 2.1

    class Args:
        quick, pairs = True, 3

    suite = run.Suite(Args())
    suite.rows = [speed, wall]
    table = suite.table()
    assert "1.36×" in table and "2.10×" in table


def test_a_worker_prints_one_json_line():
    proc = subprocess.run([sys.executable, str(BENCH / "workers.py"), json.dumps({"case": "app_memory", "steps": 5000})],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["running_points"] > 0 and result["history_kb_end"] > 0


def test_the_runner_rejects_unknown_cases():
    proc = subprocess.run([sys.executable, str(BENCH / "run.py"), "--only", "nope"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "unknown case" in proc.stderr
