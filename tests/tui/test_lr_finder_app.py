"""The learning-rate finder in the app: from the palette, a real sweep in a worker, then y sets training.lr."""

from __future__ import annotations

from textual.widgets import Input

from nn_tui.tui.screens.lr_finder import LrFinderScreen
from nn_tui.tui.screens.main import MainScreen
from nn_tui.tui.widgets.lr_curve_chart import LrCurveChart
from tests.tui.helpers import small_preset, wait_for


async def open_finder(pilot) -> LrFinderScreen:
    await pilot.press("ctrl+p")
    await pilot.press(*"find learning rate")
    await pilot.pause(0.3)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, LrFinderScreen))
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.curve is not None, timeout=60)  # the first sweep imports torch
    chart = screen.query_one(LrCurveChart)
    await wait_for(pilot, lambda: chart.settled and chart.builds >= 1)
    return screen


async def test_palette_finder_sets_the_suggested_lr(make_app):
    app = make_app(small_preset())
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_finder(pilot)
        curve = screen.curve
        assert curve.suggested_lr is not None and 1e-6 < curve.suggested_lr < 10
        assert "Set training.lr to" in str(screen.query_one("#lr-answer").render())
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        wanted = float(f"{curve.suggested_lr:.3g}")
        assert app.screen.preset.training.lr == wanted
        await pilot.press("2")  # the Network tab's training form shows it
        await wait_for(pilot, lambda: app.screen.query_one_optional("#field-lr") is not None)
        assert float(app.screen.query_one("#field-lr", Input).value) == wanted


async def test_n_keeps_the_lr_and_the_key_opens_it(make_app):
    app = make_app(small_preset())
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LrFinderScreen))
        await wait_for(pilot, lambda: app.screen.curve is not None, timeout=60)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.screen.preset.training.lr == 0.1
        assert not app.runs_dir.exists() or not any(app.runs_dir.iterdir())  # no run folder written
