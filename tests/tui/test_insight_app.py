"""The Inside tab, compare-runs screen and export commands in the whole app, with a scripted fake trainer."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from nn_tui.core.training.events import EpochEnd
from nn_tui.core.model.build import build_model
from nn_tui.core.preset import dump_preset
from tests.tui.fake_trainer import FakeTrainer
from nn_tui.tui.screens.runs import LossOverlay, RunsScreen
from nn_tui.tui.widgets.insight_view import InsightView
from tests.tui.helpers import small_preset, train_to_end, wait_for
from tests.tui.insight_fakes import fake_snapshot


class SnapshotTrainer(FakeTrainer):
    """The fake trainer plus a network snapshot after every epoch, as the real trainer's InsightSampler sends."""

    def __call__(self, preset, *, out_dir, on_event, control, on_snapshot, resume_dir=None):
        shared = {}

        def with_snapshots(event):
            on_event(event)
            if isinstance(event, EpochEnd):
                snap = fake_snapshot(epoch=event.epoch, data=shared.get("data"))
                shared["data"] = snap.data
                on_snapshot(snap)

        return super().__call__(preset, out_dir=out_dir, on_event=with_snapshots, control=control)


def write_run(folder: Path, name: str, losses: list[float], preset=None) -> Path:
    """A run folder as nn-tui writes one, with untrained weights (nothing is trained here)."""
    folder.mkdir(parents=True)
    preset = preset or small_preset(epochs=len(losses))
    preset.name = name
    preset.training.loss = "bce"
    (folder / "preset.toml").write_text(dump_preset(preset))
    torch.manual_seed(0)
    model = build_model(2, preset.layers, 1)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"))
    rows = ["epoch,train_loss,val_loss,val_accuracy,lr,seconds"]
    rows += [f"{i + 1},{v},{v * 1.1},0.5,0.1,{0.1 * (i + 1)}" for i, v in enumerate(losses)]
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n")
    best = {"epoch": len(losses), "val_loss": losses[-1] * 1.1, "val_accuracy": 0.75, "seconds": 0.1 * len(losses)}
    summary = {"status": "completed", "preset": name, "dataset": "xor", "metric": "val_accuracy", "best": best,
               "final": best, "epochs_run": len(losses), "started_at": f"2025-01-0{len(losses)}T12:00:00+0000"}
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


async def test_the_inside_tab_follows_the_run(make_app, tmp_path):
    run_dir = write_run(tmp_path / "runs" / "20250101-120000-small", "small", [0.7, 0.5, 0.3])
    app = make_app(small_preset(epochs=5), trainer=SnapshotTrainer(run_dir=str(run_dir)))
    async with app.run_test(size=(110, 34)) as pilot:
        tv = await train_to_end(pilot, app)
        assert tv.history.insight is not None and tv.history.insight.epoch == 5
        await pilot.press("4")
        view = app.screen.query_one(InsightView)
        await wait_for(pilot, lambda: view.views is not None and view.views.epoch == 5)
        assert view.views.truth is not None and view.views.boundary is not None
        assert app.focused is not None and view in app.focused.ancestors_with_self  # keys reach the Inside tab

        # The palette offers the runs view and exports of the finished run; exporting writes here.
        await pilot.press("ctrl+p")
        await pilot.press(*"export last run as safetensors")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: Path("small.json").exists(), timeout=20)
        assert Path("small.safetensors").is_file()
        assert json.loads(Path("small.json").read_text())["input_features"] == 2
        # Again: a free name, never over the first export (the CLI would need --force).
        first = Path("small.safetensors").read_bytes()
        await pilot.press("ctrl+p")
        await pilot.press(*"export last run as safetensors")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: Path("small-2.json").exists(), timeout=20)
        assert Path("small-2.safetensors").is_file() and Path("small.safetensors").read_bytes() == first

        # Reset clears the run, and the Inside tab with it.
        await pilot.press("r")
        await wait_for(pilot, lambda: view.snapshot is None)


async def test_compare_runs_overlays_loss_curves(make_app, tmp_path):
    runs = tmp_path / "runs"
    write_run(runs / "20250101-120000-first", "first", [0.9, 0.6])
    write_run(runs / "20250102-120000-second", "second", [0.8, 0.4, 0.2])
    write_run(runs / "20250103-120000-third", "third", [0.5, 0.45, 0.4, 0.35])
    (runs / "not-a-run").mkdir()
    app = make_app(small_preset())
    async with app.run_test(size=(120, 34)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"compare runs")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and len(app.screen.records) == 3)
        screen = app.screen
        assert [r.preset for r in screen.records] == ["third", "second", "first"]  # newest first
        chart = screen.query_one(LossOverlay)
        assert [label for label, _ in chart.curves] == ["third"]  # nothing selected: the highlighted run
        await pilot.press("space", "down", "space")
        assert screen.selected == ["20250103-120000-third", "20250102-120000-second"]
        assert [label for label, _ in chart.curves] == ["third", "second"]
        assert chart.curves[1][1] == [(1.0, 0.8 * 1.1), (2.0, 0.4 * 1.1), (3.0, 0.2 * 1.1)]  # validation loss
        await pilot.press("t")
        assert chart.which == "train_loss" and chart.curves[1][1][-1] == (3.0, 0.2)
        await pilot.pause()
        assert chart.builds >= 1
        await pilot.press("escape")
        assert not isinstance(app.screen, RunsScreen)
