"""The footer's key hints fit the screen, tab by tab, with and without a lesson, and a lesson's panel starts
under the header: read from the screen as drawn, after the keys a user presses."""

from __future__ import annotations

from textual.widgets import Footer, Header

from nn_tui.tui.experiments.screen import ExperimentsScreen
from nn_tui.tui.lessons.panel import LessonPanel
from nn_tui.tui.screens.runs import RunsScreen
from nn_tui.tui.widgets.insight_view import InsightView
from nn_tui.tui.widgets.key_footer import fitting
from nn_tui.tui.widgets.train_view import TrainView
from tests.tui.fake_trainer import FakeTrainer
from tests.tui.helpers import small_preset, wait_for
from tests.tui.test_insight_app import SnapshotTrainer


def drawn_lines(app) -> list[str]:
    """The whole screen as the terminal gets it (what is covered or off the edge is not there)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def footer_hints(app) -> list[str]:
    """The footer's hints as drawn on its line, each checked to be whole: its own text at its place on the
    line, inside the screen, and left of the palette's key."""
    line, width = drawn_lines(app)[-1], app.size.width
    keys = list(app.screen.query_one(Footer).query("FooterKey"))
    palette = [key for key in keys if key.has_class("-command-palette")]
    assert len(palette) == 1 and palette[0].region.right == width and line.rstrip().endswith("^p palette"), line
    hints = []
    for key in keys:
        if key in palette:
            continue
        x, w = key.region.x, key.region.width
        assert 0 <= x and x + w <= palette[0].region.x, (key.key_display, key.description, line)
        text = f"{key.key_display} {key.description}"
        assert line[x:x + w].strip() == text, (text, line)  # drawn whole, not cut or covered
        hints.append(text)
    return hints


async def test_every_tab_keeps_quit_help_the_lesson_key_and_train_at_80x24(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("NN_TUI_STATE_DIR", str(tmp_path / "state"))
    app = make_app(lesson=2, lesson_run=False, trainer=SnapshotTrainer())  # as `nn-tui lessons 2` opens
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one_optional(LessonPanel) is not None, timeout=10)
        seen = {}
        for key in "1234":
            await pilot.press(key)
            await pilot.pause()
            seen[key] = footer_hints(app)
        await pilot.press("t")  # the lesson's setup, trained
        tv = app.screen.query_one(TrainView)
        await wait_for(pilot, lambda: tv.state == "finished")
        await pilot.press("4")
        view = app.screen.query_one(InsightView)
        await wait_for(pilot, lambda: view.snapshot is not None)
        await pilot.click("#--content-tab-network-pane")  # Inside → Network, where the footer overflowed
        await wait_for(pilot, lambda: "[ Prev" in footer_hints(app))
        seen["inside network"] = footer_hints(app)
        await pilot.press("1")
        await pilot.pause()
        seen["data after the run"] = footer_hints(app)
    for where, hints in seen.items():
        assert {"^q Quit", "f1 Help", "^l Lesson", "t Train"} <= set(hints), (where, hints)
    assert {"a Add", "d Delete"} <= set(seen["2"])  # the Network tab is for building the network
    assert {"[ Prev", "] Next"} <= set(seen["inside network"])  # the forward pass's samples
    assert "r Reset" in seen["data after the run"]


async def test_a_paused_run_the_experiments_view_and_compare_runs_fit_at_80x24(make_app):
    fake = FakeTrainer(hold_after=1)
    app = make_app(small_preset(epochs=4), trainer=fake)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await wait_for(pilot, lambda: fake.holding.is_set() or app.screen.query_one(TrainView).state == "training")
        await pilot.press("space")
        fake.release()
        await wait_for(pilot, lambda: app.screen.run.state == "paused")
        paused = footer_hints(app)
        await pilot.press("2")
        await pilot.pause()
        network = footer_hints(app)
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.screen.run.active)
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentsScreen))
        experiments = footer_hints(app)
        await pilot.press("escape", "escape")  # out of its field, then back
        await wait_for(pilot, lambda: not isinstance(app.screen, ExperimentsScreen))
        await pilot.press("ctrl+p", *"compare runs")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        runs = footer_hints(app)
    assert {"x Stop", "space Resume", "n Step", "f1 Help", "^q Quit"} <= set(paused), paused
    assert {"a Add", "x Stop", "space Resume", "^q Quit"} <= set(network), network
    assert {"esc Back", "^r Run", "^q Quit"} <= set(experiments), experiments
    assert {"esc Back", "space Select", "o Open", "^q Quit"} <= set(runs), runs


async def test_at_160x50_a_lesson_starts_under_the_header_every_key_shows_and_a_resize_refits(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("NN_TUI_STATE_DIR", str(tmp_path / "state"))
    app = make_app(lesson=2, lesson_run=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one_optional(LessonPanel) is not None, timeout=10)
        await wait_for(pilot, lambda: app.screen.query_one(LessonPanel).region.width > 0)
        header, panel = app.screen.query_one(Header).region, app.screen.query_one(LessonPanel).region
        top = drawn_lines(app)[0]
        hints = footer_hints(app)
        await pilot.press("2")
        await pilot.pause()
        wide_network = footer_hints(app)
        await pilot.resize_terminal(80, 24)  # the footer chooses again for the new width
        await wait_for(pilot, lambda: "^s Save" not in footer_hints(app))
        narrow_network = footer_hints(app)
    assert panel.x > 100 and panel.y >= header.bottom == 1  # beside the tabs, under the header
    assert f"{app.title} — {app.sub_title}" in top and app.sub_title.startswith("lesson02"), top
    assert "╭" not in top and "Lesson 2" not in top  # the panel's border is not drawn over the header
    assert {"^s Save", "^o Open", "y Try this", "^l Lesson", "^q Quit"} <= set(hints)  # room for them all
    assert {"c Activation", "^s Save", "^o Open", "^l Lesson"} <= set(wide_network)
    assert {"a Add", "d Delete", "t Train", "^l Lesson", "f1 Help", "^q Quit"} <= set(narrow_network), narrow_network


def test_the_least_needed_keys_go_first_and_none_is_cut():
    # (binding id, width): quit and train stay, the layer keys next, save and open go first.
    keys = [("layer.add", 7), ("layer.delete", 10), ("run.train", 9), ("preset.save", 9), ("app.quit", 9)]
    assert fitting(keys, 100) == [0, 1, 2, 3, 4]
    assert fitting(keys, 35) == [0, 1, 2, 4]
    assert fitting(keys, 26) == [0, 2, 4]  # d Delete does not fit; nothing less needed is added after it
    assert fitting(keys, 10) == [2]
