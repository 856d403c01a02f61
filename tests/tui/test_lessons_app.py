"""The lessons path in the app: `nn-tui lessons 2` opens on the XOR lesson, runs it, shows the truth table's
failure, "try this" (y) adds the hidden layer and the truth table shows XOR solved; progress is kept in the
user's data folder (here a temporary one), and the Lessons screen (f2) shows it."""

from __future__ import annotations

import json

import pytest
from textual.widgets import OptionList, TabbedContent

from nn_tui.tui.lessons.list_screen import LessonsScreen
from nn_tui.tui.lessons.panel import LessonPanel
from nn_tui.tui.training.trainers import train_with_torch
from nn_tui.tui.widgets.insight_view import InsightView
from tests.tui.helpers import wait_for


@pytest.fixture(autouse=True)
def progress_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("NN_TUI_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state" / "lessons.json"


def truth_shown(app):
    """The truth table the Inside tab shows once the lesson's run has finished and the tab is on it."""
    screen = app.screen
    tabs = screen.query_one_optional("#insight-tabs", TabbedContent)
    view = screen.query_one_optional(InsightView)
    if tabs is None or view is None or screen.run.active or tabs.active != "truth-pane":
        return None
    if screen.query_one(TabbedContent).active != "tab-inside" or view.views is None:
        return None
    snap = view.snapshot
    return view.views.truth if snap is not None and snap.final and view.views.epoch == snap.epoch else None


async def test_lesson2_walk_open_run_fail_try_solved(make_app, progress_in_tmp):
    # The real trainer on the lesson's 4 rows (300 full-batch epochs train in a fraction of a second).
    app = make_app(trainer=train_with_torch, lesson=2)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one_optional(LessonPanel) is not None, timeout=10)
        panel = app.screen.query_one(LessonPanel)
        assert panel.lesson.title == "Why hidden layers" and panel.border_title == "Lesson 2 of 10"
        assert app.screen.preset.layers == []  # the perceptron

        await wait_for(pilot, lambda: truth_shown(app) is not None, timeout=60)
        failed = truth_shown(app)
        assert failed.gate == "xor" and not failed.solved and failed.correct <= 3
        first_run = app.screen.run.history.run_dir

        await pilot.press("y")  # try this: one hidden layer of 8 tanh units
        await wait_for(pilot, lambda: app.screen.run.history is not None
                       and app.screen.run.history.run_dir != first_run and truth_shown(app) is not None, timeout=60)
        assert [(l.units, l.activation) for l in app.screen.preset.layers] == [(8, "tanh")]
        assert truth_shown(app).solved
        assert "Compare runs" in str(panel.query_one("#lesson-status").render())

        assert json.loads(progress_in_tmp.read_text())["lessons"]["02_hidden_layers"] == {"ran": True, "tried": True}

        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonsScreen))
        options = app.screen.query_one(OptionList)
        assert "✓ Why hidden layers" in str(options.get_option_at_index(1).prompt)
        assert options.highlighted == 1  # the current lesson
        await pilot.press("escape")
        await pilot.press("ctrl+p")  # the palette's command opens the same list
        await pilot.press(*"lessons")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonsScreen))
        await pilot.press("escape")

        await pilot.press("greater_than_sign")  # next lesson: its setup and text replace this one's
        await wait_for(pilot, lambda: panel.lesson.number == 3, timeout=20)
        assert app.screen.preset.data.dataset == "linear" and app.screen.preset.training.lr == 0.001
        assert not panel.query_one("#lesson-figure").display

        await pilot.press("greater_than_sign")  # lesson 4 draws the activations' shapes and slopes beside its text
        await wait_for(pilot, lambda: panel.lesson.number == 4, timeout=20)
        figure = str(panel.query_one("#lesson-figure").render())
        assert panel.query_one("#lesson-figure").display
        assert "sigm" in figure and "f′≤0.25" in figure and "gelu" in figure


async def test_a_sweep_lesson_opens_its_comparison_in_experiments(make_app):
    # Lesson 3 (learning rates) is a sweep: `s` (and the panel's button) opens all its settings side by side.
    from nn_tui.tui.experiments.screen import ExperimentsScreen

    app = make_app(lesson=3, lesson_run=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one_optional(LessonPanel) is not None, timeout=10)
        panel = app.screen.query_one(LessonPanel)
        assert panel.lesson.is_sweep and panel.query_one("#lesson-compare-button").display
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentsScreen), timeout=10)
        assert app.screen.loaded is not None and app.screen.loaded.preset.data.dataset == "linear"
        assert "training.lr" in app.screen.loaded.spec.params
        await pilot.press("escape", "escape")  # the first leaves the field being typed in
        await wait_for(pilot, lambda: not isinstance(app.screen, ExperimentsScreen))

        await pilot.press("less_than_sign")  # lesson 2 is a single run: no side-by-side, `s` does nothing
        await wait_for(pilot, lambda: panel.lesson.number == 2, timeout=20)
        assert not panel.query_one("#lesson-compare-button").display
        await pilot.press("s")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ExperimentsScreen)
