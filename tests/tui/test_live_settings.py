"""Changing the learning rate while a run trains, in the app: the `e` key (and the palette) open a modal with
the values in use; what is applied reaches the run's TrainerControl, the trainer reports it, and the
RunController and the epochs after it carry the new value."""

from __future__ import annotations

from textual.widgets import Input

from nn_tui.tui.screens.live_settings import LiveSettingsModal
from tests.tui.fake_trainer import FakeTrainer
from tests.tui.helpers import small_preset, wait_for
from tests.tui.test_training_view import shown_actions, text, train_view


async def test_e_changes_the_learning_rate_of_the_training_run(make_app):
    fake = FakeTrainer(hold_after=2)
    app = make_app(small_preset(epochs=5), trainer=fake)  # adam, lr 0.1
    async with app.run_test(size=(100, 30)) as pilot:
        tv = await train_view(pilot)
        assert "adjust" not in shown_actions(app)  # nothing trains yet
        await pilot.press("t")
        await wait_for(pilot, fake.holding.is_set)
        run = app.screen.run
        assert "adjust" in shown_actions(app)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, LiveSettingsModal))
        modal = app.screen
        assert modal.query_one("#live-lr", Input).value == "0.1"
        assert modal.query_one_optional("#live-momentum") is None  # adam has no momentum
        await pilot.press("end", "shift+home", *"-1", "enter")
        assert isinstance(app.screen, LiveSettingsModal)  # refused: stays open and says why
        assert "learning rate" in str(modal.query_one("#live-error").render())
        await pilot.press("end", "shift+home", *"0.02", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, LiveSettingsModal))
        assert run.settings["lr"] == 0.02
        await wait_for(pilot, lambda: "lr 0.02" in text(app, "#setup"))  # the Train tab shows the value in use
        fake.release()
        await wait_for(pilot, lambda: tv.state == "finished")
        assert [(c.epoch, c.key, c.old, c.new) for c in fake.changes] == [(3, "lr", 0.1, 0.02)]
        assert run.settings["lr"] == 0.02  # also the lr of the epochs after it (EpochEnd.lr)
        assert "adjust" not in shown_actions(app)


async def test_the_palette_offers_the_change_while_training_and_escape_cancels(make_app):
    fake = FakeTrainer(hold_after=1)
    app = make_app(small_preset(epochs=3), trainer=fake)
    async with app.run_test(size=(100, 30)) as pilot:
        tv = await train_view(pilot)
        await pilot.press("t")
        await wait_for(pilot, fake.holding.is_set)
        await pilot.press("ctrl+p")
        await pilot.press(*"Change learning rate")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LiveSettingsModal))
        await pilot.press("end", "shift+home", *"0.3", "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LiveSettingsModal))
        fake.release()
        await wait_for(pilot, lambda: tv.state == "finished")
        assert fake.changes == [] and app.screen.run.settings["lr"] == 0.1


def test_the_modal_over_a_paused_run_80x24(snap_compare, make_app):
    from tests.tui.test_snapshots import settle, spiral_preset

    fake = FakeTrainer(hold_after=3)

    async def run_before(pilot):
        tv = await train_view(pilot)
        await pilot.press("t")
        await wait_for(pilot, fake.holding.is_set)
        await pilot.press("space")
        fake.release()
        await wait_for(pilot, lambda: tv.history.epoch == 3 and tv.state == "paused")
        tv.history.began_at = None  # the wall clock is the one thing that still moves
        tv._refresh_readouts()
        await settle(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, LiveSettingsModal))
        await settle(pilot)

    assert snap_compare(make_app(spiral_preset(), trainer=fake), terminal_size=(80, 24), run_before=run_before)
