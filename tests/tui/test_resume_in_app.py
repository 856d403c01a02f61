"""Resume from the command palette: a stopped run continues in its own folder, with the real trainer."""

from __future__ import annotations

from pathlib import Path

from nn_tui.core.training.events import EpochEnd, TrainerControl
from nn_tui.core.preset import parse_preset
from nn_tui.core.run.runner import Run, prepare_run
from nn_tui.core.run.rundir import read_metrics, read_summary
from nn_tui.tui.app import NNTuiApp
from nn_tui.tui.widgets.train_view import TrainView
from tests.tui.helpers import fixed_devices, wait_for


async def test_resume_a_stopped_run_from_the_palette(tmp_path: Path):
    preset = parse_preset(
        {"name": "xr", "data": {"dataset": "xor", "batch_size": 0},
         "model": {"layers": [{"units": 4, "activation": "tanh"}]}, "training": {"epochs": 8, "lr": 0.1}}
    )
    control = TrainerControl()

    def stop_after_3(event):
        if isinstance(event, EpochEnd) and event.epoch == 3:
            control.request_stop()

    run = Run(prepare_run(preset), out_dir=tmp_path / "runs", on_event=stop_after_3, control=control)
    assert run.execute().status == "stopped"

    app = NNTuiApp(preset, runs_dir=tmp_path / "runs", device_source=fixed_devices, warm_torch=False)
    async with app.run_test(size=(120, 34)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one_optional(TrainView) is not None)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Resume run")
        await pilot.pause(0.5)
        await pilot.press("enter")
        tv = app.screen.query_one(TrainView)
        await wait_for(pilot, lambda: tv.state == "finished", timeout=60)
        assert tv.history.finished.status == "completed" and tv.history.finished.epochs_run == 8
        assert Path(tv.history.run_dir) == run.run_dir.path

    assert [r["epoch"] for r in read_metrics(run.run_dir.path)] == list(range(1, 9))
    assert read_summary(run.run_dir.path)["status"] == "completed"
