"""One run with the real PyTorch trainer inside the app: XOR for a few epochs, and the run folder it writes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from nn_tui.core.inspection.landscape import parameter_vector
from nn_tui.core.preset import DataSpec, LayerSpec, Preset, TrainingSpec
from nn_tui.tui.app import NNTuiApp
from nn_tui.tui.widgets.loss_chart import LossChart
from nn_tui.tui.widgets.train_view import TrainView
from tests.tui.helpers import fixed_devices, wait_for


async def test_the_real_trainer_writes_a_run_folder(tmp_path: Path):
    preset = Preset(
        "xor-app", DataSpec("xor", batch_size=0), [LayerSpec(4, "tanh")], TrainingSpec(lr=0.1, epochs=5)
    )
    app = NNTuiApp(preset, runs_dir=tmp_path / "runs", device_source=fixed_devices, warm_torch=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one_optional(TrainView) is not None)
        await pilot.press("t")
        tv = app.screen.query_one(TrainView)
        await wait_for(pilot, lambda: tv.state == "finished", timeout=60)
        h = tv.history
        assert h.finished.status == "completed", h.finished.message
        assert h.epoch == 5 and h.started.device == "cpu"
        run_dir = Path(h.run_dir)
        assert str(run_dir) in str(app.screen.query_one("#run-line").render())
        await wait_for(pilot, lambda: app.screen.query_one(LossChart).settled)
        assert app.screen.query_one(LossChart).builds >= 1
        # the final snapshot carries the weights at the start and after each epoch, for the Inside tab's landscape
        final = h.insight
        assert final is not None and final.final and len(final.path) == 6
        assert (final.path[-1] == parameter_vector(final.model).numpy()).all()

    assert run_dir.parent == tmp_path / "runs"
    for name in ("preset.toml", "metrics.csv", "model.safetensors", "summary.json"):
        assert (run_dir / name).exists(), name
    with open(run_dir / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs_run"] == 5
