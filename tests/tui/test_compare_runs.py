"""Compare runs tells runs of the same preset apart: a column for each setting that differs between the selected
runs, and legend labels made of those settings (and the start time when even they agree)."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import DataTable

from nn_tui.core.preset import dump_preset
from nn_tui.tui.screens.runs import LossOverlay, RunsScreen
from tests.tui.helpers import small_preset, wait_for


def write_run(folder: Path, started: str, lr: float, optimizer: str = "adam") -> None:
    """A run folder's text files as nn-tui writes them (no weights: nothing here loads them)."""
    folder.mkdir(parents=True)
    preset = small_preset(epochs=3)
    preset.training.lr, preset.training.optimizer = lr, optimizer
    preset.name = "xor"
    (folder / "preset.toml").write_text(dump_preset(preset))
    rows = ["epoch,train_loss,val_loss,val_accuracy,lr,seconds"] + [f"{i},{1 / i},{1.1 / i},0.5,{lr},{i}" for i in (1, 2, 3)]
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n")
    best = {"epoch": 3, "val_loss": 0.37, "val_accuracy": 0.75, "seconds": 3.0}
    (folder / "summary.json").write_text(json.dumps({
        "status": "completed", "preset": "xor", "dataset": "xor", "metric": "val_accuracy", "best": best,
        "final": best, "epochs_run": 3, "started_at": started}))


async def test_selected_runs_show_the_settings_that_differ(make_app, tmp_path):
    runs = tmp_path / "runs"
    write_run(runs / "20250101-120000-xor", "2025-01-01T12:00:00+0000", 0.1)
    write_run(runs / "20250101-120100-xor", "2025-01-01T12:01:00+0000", 0.01, "sgd")
    write_run(runs / "20250101-120200-xor", "2025-01-01T12:02:00+0000", 0.01, "sgd")
    app = make_app(small_preset())
    async with app.run_test(size=(120, 34)) as pilot:
        await pilot.press("ctrl+p", *"compare runs")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and len(app.screen.records) == 3)
        screen = app.screen
        table = screen.query_one(DataTable)
        plain = [str(c.label) for c in table.columns.values()]
        assert plain == [" ", "preset", "status", "best", "epochs", "time", "started"]
        await pilot.press("space", "down", "space", "down", "space")
        labels = [str(c.label) for c in table.columns.values()]
        assert labels == [" ", "preset", "optimizer", "lr", "status", "best", "epochs", "time", "started"]
        assert [table.get_row_at(i)[2:4] for i in range(3)] == [["sgd", "0.01"], ["sgd", "0.01"], ["adam", "0.1"]]
        curves = [label for label, _ in screen.query_one(LossOverlay).curves]
        assert curves == ["xor optimizer=sgd lr=0.01 12:02:00", "xor optimizer=sgd lr=0.01 12:01:00",
                          "xor optimizer=adam lr=0.1"]
        assert len(set(curves)) == 3
        await pilot.press("space")  # unselect the adam run: the two left differ only in their time
        assert [str(c.label) for c in table.columns.values()][2] == "status"
        curves = [label for label, _ in screen.query_one(LossOverlay).curves]
        assert curves == ["xor 12:02:00", "xor 12:01:00"]


async def test_o_opens_a_past_run_as_finished(make_app, tmp_path):
    """o on a run: the main screen shows it (its setup, its epochs, its saved weights) and nothing trains; a run
    without weights is refused with a notification."""
    from nn_tui.core.run.runner import Run, prepare_run
    from nn_tui.core.run.rundir import read_metrics
    from nn_tui.tui.screens.main import MainScreen
    from nn_tui.tui.widgets.insight_view import InsightView

    trained = small_preset(epochs=4)
    trained.training.lr = 0.3
    run = Run(prepare_run(trained), out_dir=tmp_path / "runs")
    assert run.execute().status == "completed"
    write_run(tmp_path / "runs" / "20250101-120000-xor", "2025-01-01T12:00:00+0000", 0.1)  # no weights
    app = make_app(small_preset(epochs=9))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p", *"compare runs")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and len(app.screen.records) == 2)
        screen = app.screen
        assert [r.run_id for r in screen.records][1] == "20250101-120000-xor"  # newest first: the trained run
        await pilot.press("down")
        await pilot.press("o")
        await pilot.pause()
        assert app.screen is screen and any("saved no weights" in str(n.message) for n in app._notifications)

        await pilot.press("up", "o")
        main = app.main_screen
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and main.run.state == "finished")
        history = main.run.history
        assert history.run_dir == str(run.run_dir.path) and main.run.worker is None
        assert history.epoch == 4 and history.last_epoch.train_loss == read_metrics(run.run_dir.path)[-1]["train_loss"]
        assert (main.preset.training.lr, main.preset.training.epochs) == (0.3, 4)
        await pilot.press("4")
        view = main.query_one(InsightView)
        await wait_for(pilot, lambda: view.views is not None, timeout=15)
        assert view.snapshot.final and view.views.truth is not None
    assert len(list((tmp_path / "runs").iterdir())) == 2  # no new run folder
