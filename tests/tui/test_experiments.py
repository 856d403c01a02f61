"""The Experiments view through the keys a user presses, with the real sweep bookkeeping and a scripted fake in
place of the trials' training (tests/tui/fake_sweep.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from textual.widgets import DataTable, Input, TabbedContent

from nn_tui.core.run.opened import load_model, open_run_folder
from nn_tui.core.run.rundir import read_metrics, read_summary
from nn_tui.core.sweep.records import SUMMARY_FILE, TRIALS_FILE
from nn_tui.tui.experiments.charts import AgainstChart, OverlayChart
from nn_tui.tui.experiments.screen import ExperimentsScreen
from nn_tui.tui.screens.main import MainScreen
from nn_tui.tui.widgets.insight_view import InsightView
from tests.tui.fake_sweep import fake_runner
from tests.tui.helpers import small_preset, wait_for


async def open_experiments(pilot) -> ExperimentsScreen:
    await pilot.press("E")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ExperimentsScreen))
    return pilot.app.screen


def header(table: DataTable) -> list[str]:
    return [str(c.label) for c in table.columns.values()]


async def test_vary_by_typing_run_open_and_use_best(make_app, tmp_path):
    preset = small_preset(epochs=5)
    preset.training.lr, preset.training.optimizer = 0.05, "sgd"
    app = make_app(preset, sweep_runner=fake_runner(real_folders=True))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_experiments(pilot)
        # two lists vary; the single value sets every trial's epochs and is no column
        await pilot.press(*"0.001, 0.01, 0.1", "tab", *"adam, sgd", "tab", "tab", "3", "enter")
        await wait_for(pilot, lambda: app.sweeps.state == "finished", timeout=30)
        await pilot.pause()
        assert app.sweeps.plan.sweep.preset.training.epochs == 3
        table = screen.query_one(DataTable)
        # the columns: a colour swatch, exactly the varied settings, the metric, the state
        assert header(table) == [" ", "lr", "optimizer", "val_accuracy", "status"]
        assert table.row_count == 6
        assert [table.get_row_at(0)[1], table.get_row_at(0)[2]] == ["0.1", "adam"]  # the best first
        assert len(screen.query_one(OverlayChart).bands) == 6
        assert len(screen.query_one(AgainstChart).points[0]) == 6
        rows = list(csv.DictReader((app.sweeps.sweep_dir / TRIALS_FILE).open()))
        assert sorted(r["status"] for r in rows) == ["completed"] * 6

        main = app.main_screen
        assert (main.preset.training.lr, main.preset.training.optimizer) == (0.05, "sgd")
        await pilot.press("b")  # use best: the setup takes lr 0.1 and adam, the best trial's settings
        await wait_for(pilot, lambda: main.preset.training.lr == 0.1 and main.preset.training.optimizer == "adam")
        assert isinstance(app.screen, ExperimentsScreen)

        table.move_cursor(row=0)
        await pilot.press("down", "down")
        trial = screen.highlighted
        assert (trial.params["training.lr"], trial.params["training.optimizer"]) == (0.01, "adam")
        await pilot.press("enter")  # open the third trial's run folder as a finished run: nothing trains
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_for(pilot, lambda: main.run.state == "finished" and main.run.history.run_dir == trial.run_dir)
        rows = read_metrics(trial.run_dir)
        history = main.run.history
        assert [int(x) for x in history.train_loss.xs] == [r["epoch"] for r in rows] == [1, 2, 3]
        assert history.last_epoch.val_loss == rows[-1]["val_loss"]
        assert history.finished.status == read_summary(trial.run_dir)["status"] == "completed"
        assert main.run.worker is None and not (tmp_path / "runs").exists()  # no new run folder
        assert (main.preset.training.lr, main.preset.training.optimizer) == (0.01, "adam")  # the trial's setup
        assert main.query_one(TabbedContent).active == "tab-train"

        await pilot.press("4")  # the Inside tab: the saved weights, final
        view = main.query_one(InsightView)
        await wait_for(pilot, lambda: view.views is not None, timeout=15)
        assert view.snapshot.final and view.snapshot.epoch == 3
        saved = load_model(open_run_folder(trial.run_dir))[1]
        for got, want in zip(view.snapshot.model.state_dict().values(), saved.state_dict().values()):
            assert torch.equal(got, want)
        with torch.no_grad():
            probs = torch.sigmoid(saved(torch.tensor([[r.x1, r.x2] for r in view.views.truth.rows],
                                                     dtype=torch.float32))).flatten().tolist()
        assert [r.probability for r in view.views.truth.rows] == pytest.approx(probs, abs=1e-6)


async def test_a_trial_without_weights_is_not_opened(make_app):
    """The fake's trials leave no run folder: enter says so and stays in the Experiments view."""
    app = make_app(small_preset(epochs=3), sweep_runner=fake_runner())
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_experiments(pilot)
        await pilot.press(*"0.01, 0.1", "enter")
        await wait_for(pilot, lambda: app.sweeps.state == "finished", timeout=30)
        await pilot.pause()
        screen.query_one(DataTable).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ExperimentsScreen) and app.main_screen.run.history is None
        assert any("saved no weights" in str(n.message) for n in app._notifications)


async def test_a_range_samples_and_log_axis(make_app):
    app = make_app(small_preset(epochs=5), sweep_runner=fake_runner())
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_experiments(pilot)
        screen.query_one("#exp-trials", Input).value = "3"
        await pilot.press(*"1e-4..1e-1 log", "tab", "*", "enter")  # *: every optimizer
        await wait_for(pilot, lambda: app.sweeps.state == "finished", timeout=30)
        await pilot.pause()
        assert screen.query_one(DataTable).row_count == 3
        assert header(screen.query_one(DataTable))[1:3] == ["lr", "optimizer"]
        assert set(app.sweeps.plan.sweep.spec.params["training.optimizer"].values) == {
            "sgd", "momentum", "rmsprop", "adam", "adamw", "adagrad"}
        assert screen.query_one(AgainstChart).points[2] is True  # the lr axis is logarithmic


async def test_a_bad_value_is_refused_in_one_line(make_app):
    app = make_app(small_preset(epochs=5), sweep_runner=fake_runner())
    async with app.run_test(size=(100, 30)) as pilot:
        await open_experiments(pilot)
        await pilot.press("tab", *"adam, nesterov", "enter")
        await pilot.pause()
        assert app.sweeps is None or app.sweeps.state == "idle"
        assert any("nesterov" in n.message and "training.optimizer" in n.message for n in app._notifications)


async def test_stop_then_resume_finishes_the_same_sweep_folder(make_app):
    runner = fake_runner(hold_after=2)
    app = make_app(small_preset(epochs=5), sweep_runner=runner)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_experiments(pilot)
        screen.query_one("#exp-seeds", Input).value = "2"
        await pilot.press(*"0.01, 0.1", "ctrl+r")
        await wait_for(pilot, lambda: runner.last is not None and runner.last.holding.is_set(), timeout=30)
        table = screen.query_one(DataTable)
        await wait_for(pilot, lambda: any(t.status == "running" for t in screen.board.trials.values()))
        table.focus()
        for row in range(table.row_count):  # the trial still training: enter only says so
            table.move_cursor(row=row)
            if screen.highlighted.status == "running":
                break
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ExperimentsScreen) and app.main_screen.run.history is None
        assert any("still training" in str(n.message) for n in app._notifications)
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: app.sweeps.state == "finished", timeout=30)
        folder = app.sweeps.sweep_dir
        assert app.sweeps.status == "stopped" and app.sweeps.resumable
        runner.last.hold_after = None
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: app.sweeps.state == "finished" and app.sweeps.status == "completed", timeout=30)
        assert app.sweeps.sweep_dir == folder
        rows = list(csv.DictReader((Path(folder) / TRIALS_FILE).open()))
        done = [r for r in rows if r["status"] == "completed"]
        assert len(done) == 4 and {(r["training.lr"], r["seed"]) for r in done} == {
            ("0.01", "0"), ("0.01", "1"), ("0.1", "0"), ("0.1", "1")}
        assert (Path(folder) / SUMMARY_FILE).is_file()
        await pilot.pause()
        assert "seed" in header(screen.query_one(DataTable))


def fixed_sweep_folder(monkeypatch) -> None:
    """Sweep folders are named by the clock; a snapshot needs the same name every time."""
    import nn_tui.core.sweep.runner as runner

    def create(out, name):
        path = Path(out) / f"20250101-120000-{name}"
        path.mkdir(parents=True)
        return path

    monkeypatch.setattr(runner, "create_sweep_dir", create)


def snapshot_app(make_app):
    preset = small_preset(epochs=5)
    preset.name = "xor"
    preset.training.lr, preset.training.optimizer = 0.05, "sgd"
    return make_app(preset, sweep_runner=fake_runner(epochs=12))


async def run_snapshot_sweep(pilot) -> None:
    from tests.tui.test_snapshots import settle

    app = pilot.app
    await pilot.press("E")
    await wait_for(pilot, lambda: isinstance(app.screen, ExperimentsScreen))
    app.screen.query_one("#exp-seeds", Input).value = "2"
    await pilot.press(*"0.001, 0.01, 0.1", "tab", *"adam, sgd", "enter")
    await wait_for(pilot, lambda: app.sweeps.state == "finished", timeout=30)
    await pilot.pause(0.3)
    await settle(pilot)


def test_experiments_snapshot_80x24(snap_compare, make_app, monkeypatch):
    fixed_sweep_folder(monkeypatch)
    assert snap_compare(snapshot_app(make_app), terminal_size=(80, 24), run_before=run_snapshot_sweep)


def test_experiments_snapshot_160x50(snap_compare, make_app, monkeypatch):
    fixed_sweep_folder(monkeypatch)
    assert snap_compare(snapshot_app(make_app), terminal_size=(160, 50), run_before=run_snapshot_sweep)


async def test_a_bundled_sweep_opens_with_its_values(make_app):
    """As `nn-tui open width_vs_depth` does: its base preset is the setup and its layer lists run as they are."""
    from nn_tui.cli import open_sweep_target

    sweep = open_sweep_target("width_vs_depth")
    assert sweep is not None and open_sweep_target("xor") is None  # a preset's name stays a preset
    app = make_app(sweep.preset, sweep_runner=fake_runner(epochs=2), sweep=sweep)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentsScreen))
        screen = app.screen
        assert screen.query_one("#exp-seeds", Input).value == str(sweep.spec.seeds)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.sweeps.state == "finished", timeout=30)
        await pilot.pause()
        assert header(screen.query_one(DataTable))[1] == "layers"
        assert screen.query_one(DataTable).row_count == sweep.spec.total_runs()
        assert app.sweeps.plan.metric == (sweep.spec.metric or "val_accuracy")


async def test_the_palette_opens_a_bundled_sweep(make_app):
    app = make_app(small_preset(epochs=5), sweep_runner=fake_runner())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p", *"bundled sweep: optimizers")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentsScreen))
        texts = app.screen.texts()
        assert texts["training.optimizer"] == "sgd, momentum, rmsprop, adam"


def test_a_diverged_trial_puts_the_overlay_on_a_log_axis_labelled_by_decade():
    """A diverging trial's loss (1e25) would flatten every other curve: the overlay plots log10 of the values
    with decade labels (1e-2 … 1e24), not plotext's own log ticks written out 26 digits wide."""
    from textual_plotext.plot import Plot

    from nn_tui.tui.experiments.board import Band
    from nn_tui.tui.experiments.charts import OverlayChart

    xs = [1.0, 2.0, 3.0, 4.0]
    bands = [Band("lr 0.1", 0, xs, [0.5, 0.1, 0.05, 0.01], [0.4, 0.1, 0.04, 0.01], [0.6, 0.1, 0.06, 0.02]),
             Band("lr 10", 1, xs[:3], [3.0, 1e12, 6e25], [3.0, 1e12, 6e25], [3.0, 1e12, 6e25])]
    chart = OverlayChart()
    chart.bands, chart.metric = bands, "val_loss"
    width, height = 60, 16
    data = chart.snapshot(width, height)
    assert data[2] is True  # logarithmic
    plt = Plot()
    plt.plotsize(width, height)
    plt._set_size(width, height)
    chart.draw(plt, data)
    text = plt.build()
    import re

    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    labels = [line.split("┤")[0].strip() for line in plain.splitlines() if "┤" in line]
    assert labels and all(re.fullmatch(r"1e-?\d+", label) for label in labels), labels
    assert "val_loss (log)" in plain
