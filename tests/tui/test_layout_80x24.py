"""Rough edges a user saw at 80x24, through the app's own keys: the leaderboard's "status" column, the network
diagram's column titles and the forward pass's output header, and a lesson beside the tabs."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Footer, Input, Tab, TabbedContent, Tabs

from nn_tui.tui.experiments.leaderboard import Leaderboard
from nn_tui.tui.experiments.screen import ExperimentsScreen
from nn_tui.tui.lessons.panel import LessonPanel
from nn_tui.tui.widgets.forward_pass import ForwardPassView
from nn_tui.tui.widgets.insight_view import InsightView
from nn_tui.tui.widgets.network_diagram import NetworkDiagram, title_lines
from tests.tui.fake_sweep import fake_runner
from tests.tui.helpers import small_preset, train_to_end, wait_for
from tests.tui.test_insight_app import SnapshotTrainer, write_run
from tests.tui.test_layout_as_seen import screen_text


def test_a_title_wider_than_its_column_goes_on_two_lines_of_whole_words():
    assert title_lines("out 1 sigmoid", 13) == ["out 1 sigmoid"]
    assert title_lines("out 1 sigmoid", 8) == ["out 1", "sigmoid"]
    assert title_lines("out 1 sigmoid", 5) == ["out 1", "sigm…"]


async def test_inside_network_titles_and_output_header_fit_at_80x24(make_app, tmp_path):
    run_dir = write_run(tmp_path / "runs" / "20250101-120000-small", "small", [0.7, 0.5, 0.3])
    app = make_app(small_preset(epochs=5), trainer=SnapshotTrainer(run_dir=str(run_dir)))
    async with app.run_test(size=(80, 24)) as pilot:
        await train_to_end(pilot, app)
        await pilot.press("4")
        view = app.screen.query_one(InsightView)
        await wait_for(pilot, lambda: view.views is not None and view.views.epoch == 5)
        await pilot.click("#--content-tab-network-pane")
        diagram, forward = view.query_one(NetworkDiagram), view.query_one(ForwardPassView)
        await wait_for(pilot, lambda: forward.trace is not None and "h1" in "".join(screen_text(diagram)[:1]))
        assert diagram.size.width < 40  # the narrow pane where the titles ran together ("h1 4 tanhout 1 sigmoid")
        top = screen_text(diagram)[:2]
        forward_text = "\n".join(screen_text(forward))
    hidden, output = top[0].index("h1 4 tanh"), top[0].index("out 1")
    assert output > hidden + len("h1 4 tanh")  # a space at least between neighbouring titles
    assert top[1].strip() == "sigmoid"  # the rest of the output's title, under it, not cut
    assert "output" in forward_text and "(sigmoid)" in forward_text and "P(class 1)" in forward_text
    assert "…" not in forward_text, forward_text


async def run_sweep_at_80x24(pilot, *keys: str) -> list[str]:
    """E, the typed values, two seeds, enter: the leaderboard's lines as drawn once the sweep has finished."""
    app = pilot.app
    await pilot.press("E")
    await wait_for(pilot, lambda: isinstance(app.screen, ExperimentsScreen))
    app.screen.query_one("#exp-seeds", Input).value = "2"
    await pilot.press(*keys, "enter")
    await wait_for(pilot, lambda: app.sweeps.state == "finished", timeout=30)
    await pilot.pause(0.2)
    return screen_text(app.screen.query_one(Leaderboard))


async def test_leaderboard_status_column_is_whole_at_80x24_beside_the_fields(make_app):
    app = make_app(small_preset(epochs=3), sweep_runner=fake_runner(epochs=3))
    async with app.run_test(size=(80, 24)) as pilot:
        lines = await run_sweep_at_80x24(pilot, *"0.01, 0.1", "tab", *"adam, sgd")
        assert app.screen.query_one("#exp-setup").display  # the fields are still there
    # "stat" before: the scrollbar took the last column's room. Now the metric's title takes two lines.
    assert lines[1].split() == ["│", "lr", "optimizer", "seed", "val", "status", "│"], lines[1]
    assert lines[2].split() == ["│", "accuracy", "│"], lines[2]
    rows = [line for line in lines if "●" in line]
    assert len(rows) >= 6 and all(line.split()[-2] == "done" for line in rows), "\n".join(lines)


async def test_a_leaderboard_too_wide_beside_the_fields_folds_them_at_80x24(make_app):
    app = make_app(small_preset(epochs=3), sweep_runner=fake_runner(epochs=3))
    async with app.run_test(size=(80, 24)) as pilot:
        lines = await run_sweep_at_80x24(pilot, *"0.01, 0.1", "tab", *"adam, sgd", "tab", *"0, 0.1")
        setup = app.screen.query_one("#exp-setup")
        assert not setup.display  # folded away for the leaderboard
        assert lines[1].split() == ["│", "lr", "optimizer", "weight_decay", "seed", "val_accuracy", "status", "│"]
        assert all(line.split()[-2] == "done" for line in lines if "●" in line)
        await pilot.press("f")  # the fields come back at once
        assert setup.display and isinstance(app.focused, Input)


THREE = """name = "three"
seed = 0
[data]
dataset = "xor"
[training]
epochs = 3
[sweep]
method = "grid"
seeds = 2
[sweep.params]
"training.lr" = [0.01, 0.1]
"training.optimizer" = ["adam", "sgd"]
"training.weight_decay" = [0.0, 0.1]
"""


async def test_a_past_sweep_too_wide_beside_the_fields_folds_them_when_opened_at_80x24(make_app, tmp_path):
    """As `nn-tui open SWEEP_DIR` shows a folder: the table is only laid out after the board is drawn."""
    from nn_tui.core.sweep.folder import read_sweep_folder
    from nn_tui.core.sweep.runner import plan_sweep
    from nn_tui.core.sweep.spec import load_sweep
    from tests.tui.fake_sweep import FakeSweepRunner

    (tmp_path / "three.toml").write_text(THREE)
    plan = plan_sweep(load_sweep(tmp_path / "three.toml"), tmp_path / "sweeps")
    FakeSweepRunner(plan, epochs=3).execute()
    folder = read_sweep_folder(plan.sweep_dir)
    app = make_app(folder.preset, sweep=folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentsScreen) and app.screen.board is not None)
        await wait_for(pilot, lambda: not app.screen.query_one("#exp-setup").display)
        await pilot.pause()
        lines = screen_text(app.screen.query_one(Leaderboard))
        assert isinstance(app.focused, Leaderboard)  # the keys move in the leaderboard
    assert lines[1].split() == ["│", "lr", "optimizer", "weight_decay", "seed", "val_accuracy", "status", "│"]
    assert all(line.split()[-2] == "done" for line in lines if "●" in line)


async def test_a_lesson_at_80x24_goes_under_the_tabs_and_ctrl_l_hides_it(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("NN_TUI_STATE_DIR", str(tmp_path / "state"))  # the learner's progress file
    app = make_app(lesson=2, lesson_run=False)  # as `nn-tui lessons 2` opens
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one_optional(LessonPanel) is not None, timeout=10)
        await pilot.pause(0.2)
        panel, tabs = app.screen.query_one(LessonPanel), app.screen.query_one(TabbedContent)
        # Beside the tabs it left them 48 columns; under them, both have the full width.
        assert tabs.region.width == panel.region.width == 80 and panel.region.y > tabs.region.y + 5
        shown = [(screen_text(tab)[0].strip(), tab.region.right <= 80) for tab in tabs.query_one(Tabs).query(Tab)]
        assert shown == [("1 Data", True), ("2 Network", True), ("3 Train", True), ("4 Inside", True)]
        idea = " ".join(screen_text(panel.query_one("#lesson-idea")))
        assert idea.split() == panel.lesson.idea.split()  # every word of the lesson's idea in view
        footer = [" ".join(screen_text(key)).strip() for key in app.screen.query_one(Footer).query("FooterKey")]
        assert "^l Lesson" in footer, footer
        assert "ctrl+l hides" in screen_text(panel)[-1]  # and on the panel itself
        assert panel.region.bottom <= app.screen.query_one(Footer).region.y  # that line is not under the footer
        await pilot.press("ctrl+l")  # the tabs get the whole screen
        await pilot.pause()
        assert not panel.display and tabs.region.height == 24 - 1
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert panel.display and panel.region.width == 80
