"""`nn-tui open SWEEP_DIR`: a past sweep folder in the Experiments view, its finished trials on the leaderboard and
the overlay chart, enter opens one, b uses the best, ctrl+e runs the missing trials in the same folder."""

from __future__ import annotations

import csv
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from textual.widgets import DataTable

from nn_tui.cli import open_sweep_target
from nn_tui.core.sweep.folder import read_sweep_folder
from nn_tui.core.sweep.records import TRIALS_FILE
from nn_tui.core.sweep.runner import plan_sweep
from nn_tui.core.sweep.spec import load_sweep
from nn_tui.tui.experiments.charts import OverlayChart
from nn_tui.tui.experiments.screen import ExperimentsScreen
from tests.cli.conftest import cli_env
from tests.tui.fake_sweep import FakeSweepRunner, fake_runner
from tests.tui.helpers import wait_for

TINY = """name = "tiny"
seed = 0
[data]
dataset = "xor"
[[model.layers]]
units = 4
activation = "tanh"
[training]
lr = 0.05
epochs = 3
checkpoint_every = 0
[sweep]
method = "grid"
[sweep.params]
"training.lr" = [0.01, 0.1]
"""


@pytest.fixture(scope="module")
def cli_sweep_folder(tmp_path_factory) -> Path:
    """A 2-trial xor sweep written by the real `nn-tui sweep` (3 epochs each)."""
    where = tmp_path_factory.mktemp("cli-sweep")
    (where / "tiny.toml").write_text(TINY)
    done = subprocess.run([sys.executable, "-m", "nn_tui", "sweep", "tiny.toml", "--out", "sweeps", "--workers",
                           "1", "-q"], cwd=where, env=cli_env(), capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    (folder,) = (where / "sweeps").iterdir()
    return folder


def table_rows(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_a_sweep_folder_shows_its_trials_and_opens_one(make_app, cli_sweep_folder, monkeypatch):
    monkeypatch.chdir(cli_sweep_folder.parent.parent)  # where the sweep ran: trials.csv's run_dir are relative
    folder = open_sweep_target(str(cli_sweep_folder))  # as `nn-tui open SWEEP_DIR` reads it
    assert folder.status == "completed" and folder.metric == "val_accuracy"
    written = {int(r["trial"]): r for r in csv.DictReader((cli_sweep_folder / TRIALS_FILE).open())}
    app = make_app(folder.preset, sweep=folder)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentsScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one(DataTable).row_count == 2)
        table = screen.query_one(DataTable)
        assert [str(c.label) for c in table.columns.values()] == [" ", "lr", "val_accuracy", "status"]
        shown = {(row[1], row[2], row[3]) for row in table_rows(table)}
        assert shown == {(r["training.lr"], f"{float(r['val_accuracy']):.4g}", "done") for r in written.values()}
        assert len(screen.query_one(OverlayChart).bands) == 2  # each trial's curve from its metrics.csv
        assert all(len(t.curve) == 3 for t in screen.board.trials.values())
        assert not app.sweeps.resumable  # nothing is missing

        best = screen.board.best()
        await pilot.press("b")
        await wait_for(pilot, lambda: any("best trial" in str(n.title) for n in app._notifications))  # b has ended
        await pilot.pause()
        assert app.main_screen.preset.training.lr == best.params["training.lr"]

        table.focus()
        table.move_cursor(row=0)
        trial = screen.highlighted
        await pilot.press("enter")
        main = app.main_screen
        await wait_for(pilot, lambda: main.run.history is not None and main.run.state == "finished", timeout=10)
        assert Path(main.run.history.run_dir).resolve() == Path(trial.run_dir).resolve()
        assert len(main.run.history.train_loss.xs) == 3


def stopped_folder(where: Path) -> Path:
    """A sweep folder left with one trial done and one stopped (the scripted fake, no training)."""
    (where / "tiny.toml").write_text(TINY)
    plan = plan_sweep(load_sweep(where / "tiny.toml"), where / "sweeps")
    stop = threading.Event()
    runner = FakeSweepRunner(plan, stop=stop, hold_after=1)
    thread = threading.Thread(target=runner.execute)
    thread.start()
    assert runner.holding.wait(30)
    stop.set()
    thread.join(30)
    return plan.sweep_dir


async def test_a_stopped_sweep_folder_resumes_with_ctrl_e(make_app, tmp_path):
    sweep_dir = stopped_folder(tmp_path)
    folder = read_sweep_folder(sweep_dir)
    assert folder.status == "stopped"
    app = make_app(folder.preset, sweep_runner=fake_runner(), sweep=folder)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentsScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.board is not None and app.sweeps.resumable)
        assert sorted(t.status for t in screen.board.trials.values()) == ["completed", "stopped"]
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: app.sweeps.state == "finished" and app.sweeps.status == "completed", timeout=30)
        assert app.sweeps.sweep_dir == sweep_dir
        await pilot.pause()
        statuses = [t.status for t in screen.board.trials.values()]
        assert statuses.count("completed") == 2
        rows = list(csv.DictReader((sweep_dir / TRIALS_FILE).open()))
        assert sorted(r["training.lr"] for r in rows if r["status"] == "completed") == ["0.01", "0.1"]
