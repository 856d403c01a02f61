"""A sweep with the real engine and trainer, started from the Experiments view: 4 XOR trials of a few epochs on
one worker process, then the same sweep file through `nn-tui sweep`: both folders hold the same files."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from textual.widgets import DataTable, Input

from nn_tui.core.preset import DataSpec, LayerSpec, Preset, TrainingSpec
from nn_tui.tui.app import NNTuiApp
from nn_tui.tui.experiments.screen import ExperimentsScreen
from tests.tui.helpers import fixed_devices, wait_for

ROOT = Path(__file__).resolve().parents[2]


def layout(sweep_dir: Path) -> tuple[set[str], list[str], list[set[str]]]:
    """The files of a sweep folder, trials.csv's header, and each run folder's files."""
    files = {p.name for p in sweep_dir.iterdir() if p.is_file()}
    header = next(csv.reader((sweep_dir / "trials.csv").open()))
    runs = [{p.name for p in run.iterdir()} for run in sorted((sweep_dir / "runs").iterdir())]
    return files, header, runs


async def test_a_real_four_trial_sweep_from_the_app_matches_the_cli(tmp_path: Path):
    preset = Preset("xor-sweep", DataSpec("xor", batch_size=0), [LayerSpec(4, "tanh")],
                    TrainingSpec(lr=0.1, epochs=4, checkpoint_every=0))
    app = NNTuiApp(preset, runs_dir=tmp_path / "runs", device_source=fixed_devices, warm_torch=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentsScreen))
        screen = app.screen
        screen.query_one("#exp-seeds", Input).value = "2"
        await pilot.press(*"0.05, 0.2", "ctrl+r")
        await wait_for(pilot, lambda: app.sweeps.state == "finished", timeout=120)
        await pilot.pause()
        assert app.sweeps.status == "completed"
        assert screen.query_one(DataTable).row_count == 4
        app_dir = Path(app.sweeps.sweep_dir)
    assert app_dir.parent == tmp_path / "sweeps"
    summary = json.loads((app_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["trials"] == {"completed": 4}

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "nn_tui", "sweep", str(app_dir / "sweep.toml"), "--out",
                           str(tmp_path / "cli"), "--quiet"], capture_output=True, text=True, timeout=120,
                          env=env, cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    cli_dir = next((tmp_path / "cli").iterdir())
    assert layout(app_dir) == layout(cli_dir)
