"""The app holds its runs in RunControllers, outside any widget: several can train at once, each with its own
state, history and worker, and the Train tab shows only the one it is given."""

from __future__ import annotations

from tests.tui.fake_trainer import FakeTrainer
from tests.tui.helpers import small_preset, wait_for


async def test_two_controllers_train_side_by_side(make_app):
    fake = FakeTrainer(epoch_seconds=0.02)
    app = make_app(small_preset(epochs=4), trainer=fake)
    async with app.run_test(size=(100, 30)) as pilot:
        shown = app.screen.run
        other = app.add_run()
        assert app.runs == [shown, other]
        assert other.start(small_preset(epochs=6))
        shown.start(small_preset(epochs=4))
        for run in (shown, other):  # nothing draws `other`: its history fills as it is drained
            await wait_for(pilot, lambda run=run: (run.drain(), run.state == "finished")[1], timeout=20)
        assert shown.history.epoch == 4 and other.history.epoch == 6
        assert shown.history is not other.history and shown.worker is not other.worker
        assert app.screen.query_one("TrainView").controller is shown
