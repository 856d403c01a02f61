"""Snapshots of the main screens at fixed sizes, with a fake trainer and fixed device readings.

Update after a deliberate UI change with `pytest tests/tui/test_snapshots.py --snapshot-update`,
then look at the SVGs (tests/tui/__snapshots__/) before committing them.
"""

from __future__ import annotations

from textual.widgets import Input

from nn_tui.core.preset import DataSpec, LayerSpec, Preset, TrainingSpec
from tests.tui.fake_trainer import FakeTrainer
from nn_tui.tui.widgets.chart import PlotWidget
from nn_tui.tui.widgets.layer_table import LayerTable
from nn_tui.tui.widgets.train_view import TrainView
from tests.tui.helpers import wait_for


def spiral_preset() -> Preset:
    return Preset(
        "spiral-demo",
        DataSpec("spiral", options={"samples": 400, "turns": 1.0}),
        [LayerSpec(32, "relu"), LayerSpec(16, "tanh", dropout=0.1), LayerSpec(8, "gelu", batch_norm=True)],
        TrainingSpec(lr=0.01, epochs=30),
    )


async def settle(pilot) -> None:
    """No blinking cursors, no toasts, every chart drawn."""
    app = pilot.app
    for inp in app.query(Input):
        inp.cursor_blink = False
    app.clear_notifications()
    await wait_for(pilot, lambda: all(c.settled for c in app.screen.query(PlotWidget) if c.display and c.size.area))
    await pilot.pause()


def test_data_tab_80x24(snap_compare, make_app):
    async def run_before(pilot):
        await wait_for(pilot, lambda: pilot.app.screen.query_one("#preview").points is not None)
        await settle(pilot)

    assert snap_compare(make_app(spiral_preset()), terminal_size=(80, 24), run_before=run_before)


async def open_network_tab(pilot) -> None:
    await pilot.press("2")
    await wait_for(pilot, lambda: isinstance(pilot.app.focused, LayerTable))


def test_network_tab_120x34(snap_compare, make_app):
    async def run_before(pilot):
        await open_network_tab(pilot)
        await pilot.press("down")
        await settle(pilot)

    assert snap_compare(make_app(spiral_preset()), terminal_size=(120, 34), run_before=run_before)


def test_network_tab_80x24_refused_input(snap_compare, make_app):
    async def run_before(pilot):
        await open_network_tab(pilot)
        pilot.app.screen.query_one("#field-lr").focus()
        await pilot.press(*"abc", "tab")
        await wait_for(pilot, lambda: len(pilot.app.screen.query(".refused")) == 1)
        await settle(pilot)

    assert snap_compare(make_app(spiral_preset()), terminal_size=(80, 24), run_before=run_before)


def test_train_tab_after_a_run_160x50(snap_compare, make_app):
    async def run_before(pilot):
        await wait_for(pilot, lambda: pilot.app.screen.query_one_optional(TrainView) is not None)
        await pilot.press("t")
        tv = pilot.app.screen.query_one(TrainView)
        await wait_for(pilot, lambda: tv.state == "finished" and tv.device_report is not None)
        await settle(pilot)

    app = make_app(spiral_preset(), trainer=FakeTrainer(steps_per_epoch=5))
    assert snap_compare(app, terminal_size=(160, 50), run_before=run_before)


def test_train_tab_paused_80x24(snap_compare, make_app):
    fake = FakeTrainer(hold_after=3)

    async def run_before(pilot):
        await wait_for(pilot, lambda: pilot.app.screen.query_one_optional(TrainView) is not None)
        tv = pilot.app.screen.query_one(TrainView)
        await pilot.press("t")
        await wait_for(pilot, fake.holding.is_set)
        await pilot.press("space")  # paused after epoch 3, before the first step of epoch 4
        fake.release()
        await wait_for(pilot, lambda: tv.history.epoch == 3 and tv.state == "paused")
        tv.history.began_at = None  # the wall clock is the one thing that still moves
        tv._refresh_readouts()
        await settle(pilot)

    assert snap_compare(make_app(spiral_preset(), trainer=fake), terminal_size=(80, 24), run_before=run_before)


def test_help_screen(snap_compare, make_app):
    async def run_before(pilot):
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(make_app(spiral_preset()), terminal_size=(120, 40), run_before=run_before)
