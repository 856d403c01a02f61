"""The Train tab with a scripted fake trainer: charts and readouts update; pause, step, stop, reset and quit behave."""

from __future__ import annotations

import time

from nn_tui.core.errors import UserError
from tests.tui.fake_trainer import FakeTrainer
from nn_tui.tui.screens.confirm import ConfirmModal
from nn_tui.tui.screens.error import ErrorModal
from nn_tui.tui.widgets.loss_chart import LossChart
from nn_tui.tui.widgets.metric_chart import MetricChart
from nn_tui.tui.widgets.train_view import TrainView
from tests.tui.helpers import small_preset, wait_for


def shown_actions(app) -> set[str]:
    """Actions the Footer offers right now."""
    return {b.binding.action for b in app.screen.active_bindings.values() if b.binding.show and b.enabled}


def text(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def train_view(pilot) -> TrainView:
    await wait_for(pilot, lambda: pilot.app.screen.query_one_optional(TrainView) is not None)
    return pilot.app.screen.query_one(TrainView)


async def test_training_updates_charts_and_readouts(make_app):
    fake = FakeTrainer()
    app = make_app(small_preset(epochs=8), trainer=fake)
    async with app.run_test(size=(100, 30)) as pilot:
        tv = await train_view(pilot)
        assert "train" in shown_actions(app) and "stop" not in shown_actions(app)
        await pilot.press("t")
        await wait_for(pilot, lambda: tv.state == "finished")
        assert fake.calls[0].layers == app.screen.preset.layers
        h = tv.history
        assert h.epoch == 8 and len(h.train_loss) == 8 and len(h.val_loss) == 8
        assert len(h.running_loss) > 8  # steps inside epochs as well as epoch ends
        loss_chart = app.screen.query_one(LossChart)
        await wait_for(pilot, lambda: loss_chart.settled)
        assert loss_chart.builds >= 1 and loss_chart.points_drawn > 0
        assert app.screen.query_one(MetricChart).border_title == "validation accuracy"
        metrics = text(app, "#metrics")
        assert "completed" in metrics and "8 / 8" in metrics and "val acc" in metrics
        assert f"{FakeTrainer.loss(8):.4g}" in metrics
        assert fake.run_dir in text(app, "#run-line")
        assert "train" in shown_actions(app) and "reset" in shown_actions(app)

        # The log-scale toggle redraws the chart in log scale.
        builds = loss_chart.builds
        await pilot.press("l")
        await wait_for(pilot, lambda: loss_chart.settled)
        assert loss_chart.log_scale and loss_chart.builds == builds + 1

        # Reset clears the run.
        await pilot.press("r")
        assert tv.history is None and tv.state == "idle"
        assert "no run yet" in (loss_chart.placeholder() or "")


async def test_pause_step_resume_stop_and_quit_while_paused(make_app):
    fake = FakeTrainer(epoch_seconds=0.1)
    app = make_app(small_preset(epochs=1000), trainer=fake)
    async with app.run_test(size=(100, 30)) as pilot:
        tv = await train_view(pilot)
        await pilot.press("t")
        await wait_for(pilot, lambda: tv.state == "training" and fake.epochs_run >= 1)
        assert {"stop", "pause"} <= shown_actions(app)
        assert not {"train", "resume", "step"} & shown_actions(app)

        await pilot.press("space")
        assert tv.state == "paused"
        assert {"resume", "step", "stop"} <= shown_actions(app) and "pause" not in shown_actions(app)
        time.sleep(0.25)  # an epoch in flight stops at its next step
        paused_at = fake.epochs_run
        time.sleep(0.3)
        assert fake.epochs_run == paused_at

        await pilot.press("n")  # exactly one more epoch
        await wait_for(pilot, lambda: fake.epochs_run == paused_at + 1)
        time.sleep(0.3)
        assert fake.epochs_run == paused_at + 1
        assert tv.state == "paused"
        await wait_for(pilot, lambda: tv.history.epoch == paused_at + 1)

        await pilot.press("space")
        assert tv.state == "training"
        await wait_for(pilot, lambda: fake.epochs_run >= paused_at + 3)

        await pilot.press("x")
        await wait_for(pilot, lambda: tv.state == "finished")
        assert fake.finished.status == "stopped"
        assert "stopped" in text(app, "#metrics")
        assert "train" in shown_actions(app)

        # A second run, paused, then quit: the paused trainer is released and stops at once.
        await pilot.press("t")
        await wait_for(pilot, lambda: len(fake.calls) == 2 and fake.epochs_run >= 1 and tv.state == "training")
        await pilot.press("space")
        started = time.monotonic()
        await app.action_quit()
        assert time.monotonic() - started < 1.0
    assert fake.finished.status == "stopped"


async def test_quit_while_training_stops_the_run_promptly(make_app):
    fake = FakeTrainer(epoch_seconds=0.5)
    app = make_app(small_preset(epochs=1000), trainer=fake)
    async with app.run_test(size=(100, 30)) as pilot:
        await train_view(pilot)
        await pilot.press("t")
        await wait_for(pilot, lambda: fake.epochs_run >= 1)
        started = time.monotonic()
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: fake.finished is not None, timeout=2)
        assert time.monotonic() - started < 1.0
    assert fake.finished.status == "stopped"
    assert app.return_code == 0


async def test_failed_runs_are_messages_not_crashes(make_app):
    app = make_app(small_preset(epochs=10), trainer=FakeTrainer(outcome="diverged", diverge_at=3))
    async with app.run_test(size=(100, 30)) as pilot:
        tv = await train_view(pilot)

        # diverged: a clear message in the readout and the run line
        await pilot.press("t")
        await wait_for(pilot, lambda: tv.state == "finished")
        assert "diverged" in text(app, "#metrics")
        assert "learning rate is probably too high" in text(app, "#run-line")
        assert not isinstance(app.screen, ErrorModal)

        # a setup the trainer refuses (UserError): the reason, no traceback
        def refuse(preset, **_):
            raise UserError("'cuda:3' does not exist: 1 CUDA device(s) visible", key="training.device")

        app.trainer = refuse
        await pilot.press("t")
        await wait_for(pilot, lambda: tv.state == "finished" and tv.history.error is not None)
        assert "cuda:3" in text(app, "#run-line")
        assert "failed" in text(app, "#metrics")

        # a bug in the trainer: an error modal with the traceback, and the app carries on
        app.trainer = FakeTrainer(outcome="raise")
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorModal))
        assert "scripted failure" in str(app.screen.query_one("#error-message").render())
        await pilot.press("escape")
        assert tv.state == "finished" and "failed" in text(app, "#metrics")

        app.trainer = FakeTrainer()
        await pilot.press("t")
        await wait_for(pilot, lambda: tv.state == "finished" and tv.history.finished is not None)
        assert tv.history.finished.status == "completed"


async def test_editing_during_a_run_and_restarting_it(make_app):
    fake = FakeTrainer(epoch_seconds=0.1)
    app = make_app(small_preset(epochs=500), trainer=fake)
    async with app.run_test(size=(100, 30)) as pilot:
        tv = await train_view(pilot)
        await pilot.press("t")
        await wait_for(pilot, lambda: fake.epochs_run >= 1)
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("a")
        assert "setup changed" in text(app, "#run-line")
        assert len(fake.calls[0].layers) == 1  # the running run keeps its own copy

        await pilot.press("r")  # restart with the new setup, after a confirmation
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: len(fake.calls) == 2)
        assert len(fake.calls[1].layers) == 2
        assert tv.state in ("starting", "training")
        await pilot.press("x")
        await wait_for(pilot, lambda: tv.state == "finished")


async def test_train_key_before_the_train_tab_has_mounted_still_trains(make_app):
    """The Network, Train and Inside tabs mount just after the first frame; a t pressed before that waits
    for them instead of failing or being lost."""
    fake = FakeTrainer()
    app = make_app(small_preset(epochs=3), trainer=fake)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        mounted_at_first_key = screen.all_mounted
        screen.action_train()  # what the t key runs, before any pause
        tv = await train_view(pilot)
        await wait_for(pilot, lambda: tv.state == "finished")
        assert len(fake.calls) == 1 and tv.history.epoch == 3
        assert app.screen.query_one("TabbedContent").active == "tab-train"
    # The point of the test is the early key; if mounting ever became synchronous it would still pass, so
    # say which case ran.
    print(f"deferred tabs mounted at the first key: {mounted_at_first_key}")
    assert not mounted_at_first_key


async def test_readouts_redraw_less_often_when_a_redraw_is_expensive(make_app):
    """While training, readouts redraw on every 4 Hz tick while a redraw's UI-thread cost stays within the
    budget, else less often, but at least twice a second."""
    from nn_tui.tui.widgets.train_view import DRAIN_SECONDS, FRAME_SECONDS_MAX

    app = make_app(small_preset())
    async with app.run_test(size=(100, 30)) as pilot:
        tv = await train_view(pilot)

        def ticks_between_redraws(cost: float) -> int:
            """Simulated ticks (the clock moved on by one tick each) from one redraw to the next."""
            tv.state, tv._framed, tv.frame_cost, tv._next_frame_at = "training", False, cost, 0.0
            assert tv._frame_due(force=False)
            ticks = 1
            while True:
                tv._next_frame_at -= DRAIN_SECONDS
                if tv._frame_due(force=False):
                    return ticks
                ticks += 1

        assert ticks_between_redraws(0.001) == 1  # 1 ms a redraw: every tick
        assert ticks_between_redraws(0.012) == 2  # 12 ms: every other tick (3% of 0.5 s = 15 ms)
        assert ticks_between_redraws(1.0) == round(FRAME_SECONDS_MAX / DRAIN_SECONDS)  # at least twice a second
        # Forced redraws (a finished run) and paused or idle views are never held back.
        tv.state, tv._next_frame_at = "training", float("inf")
        assert tv._frame_due(force=True)
        tv.state = "paused"
        assert tv._frame_due(force=False)
        tv.state = "idle"


def first_palette_hit(app) -> str:
    """The highlighted command in the open palette, or "" while it is still searching."""
    lists = app.screen.query("CommandList")
    if not lists or not lists.first().option_count:
        return ""
    return str(lists.first().get_option_at_index(0).prompt)


async def test_palette_screenshot_goes_to_the_current_folder_when_there_is_no_downloads_folder(
    make_app, tmp_path, monkeypatch
):
    """Through the palette, as a user does it: Textual's palette command calls deliver_screenshot directly."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    app = make_app(small_preset())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.press(*"screenshot")
        await wait_for(pilot, lambda: first_palette_hit(app).startswith("Screenshot"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(tmp_path.glob("*.svg")), timeout=10)
        await wait_for(pilot, lambda: any("Saved screenshot" in str(n.message) for n in app._notifications))
        notes = [str(n.message) for n in app._notifications]
    assert not (home / "Downloads").exists()
    shot = next(tmp_path.glob("*.svg"))
    assert "<svg" in shot.read_text()
    assert any(str(shot) in note for note in notes), notes
    assert not any("Failed" in note for note in notes), notes
