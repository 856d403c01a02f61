"""A finished run folder read back for showing: its preset, its epochs as trainer events (so a view of a live run
can replay them), and an insight snapshot of its saved final weights (the "inside the network" views)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nn_tui.core.errors import UserError
from nn_tui.core.preset import Preset
from nn_tui.core.run.rundir import (
    PRESET_FILE, WEIGHTS_FILE, check_run_folder, read_metrics, read_summary, summary_metric,
)
from nn_tui.core.training.events import EpochEnd, Event, RunFinished, RunStarted

if TYPE_CHECKING:
    from nn_tui.core.inspection.insight import InsightSnapshot


@dataclass(frozen=True)
class OpenedRun:
    path: Path
    preset: Preset
    rows: list[dict[str, float]]  # metrics.csv
    summary: dict[str, Any]  # summary.json

    @property
    def metric(self) -> str:
        return summary_metric(self.summary)

    @property
    def epochs_run(self) -> int:
        return int(self.summary.get("epochs_run") or (self.rows[-1]["epoch"] if self.rows else 0))

    @property
    def steps_per_epoch(self) -> int:
        """Batches per epoch, as the trainer counts them (one for full batch: batch_size 0)."""
        samples = int(self.summary.get("train_samples") or 0)
        size = self.preset.data.batch_size
        return max(1, -(-samples // size)) if size and samples else 1

    def global_step(self, epoch: int) -> int:
        return epoch * self.steps_per_epoch


def open_run_folder(run_dir: str | Path) -> OpenedRun:
    """Read a finished run folder (preset.toml, metrics.csv, summary.json, model.safetensors), or a UserError
    saying what is missing (a run still training has no summary.json or weights yet)."""
    from nn_tui.core.preset import load_preset

    path = check_run_folder(run_dir, weights=True)
    summary = read_summary(path)
    if summary.get("status") == "running":
        raise UserError("the run is still training", source=str(path))
    try:
        rows = read_metrics(path)
    except FileNotFoundError:
        raise UserError("no metrics.csv in the run folder", source=str(path)) from None
    return OpenedRun(path, load_preset(path / PRESET_FILE), rows, summary)


def replay_events(run: OpenedRun) -> list[Event]:
    """The events a trainer would have sent for this run (epochs from metrics.csv, the end from summary.json)."""
    s = run.summary
    metric = run.metric
    epochs = int(s.get("epochs") or run.epochs_run)
    events: list[Event] = [RunStarted(
        run_dir=str(run.path), device=str(s.get("device", "cpu")), epochs=epochs, start_epoch=0,
        steps_per_epoch=run.steps_per_epoch,
        batch_size=run.preset.data.batch_size, train_samples=int(s.get("train_samples") or 0),
        val_samples=int(s.get("val_samples") or 0), parameters=int(s.get("parameters") or 0),
        task=str(s.get("task", "")), metric=metric,
    )]
    for row in run.rows:
        events.append(EpochEnd(
            epoch=int(row["epoch"]), epochs=epochs, train_loss=row.get("train_loss", float("nan")),
            val_loss=row.get("val_loss", float("nan")), metric=metric, metric_value=row.get(metric, float("nan")),
            lr=row.get("lr", float("nan")), samples_per_sec=0.0, seconds=row.get("seconds", 0.0),
            global_step=run.global_step(int(row["epoch"])),
        ))
    seconds = run.rows[-1].get("seconds", 0.0) if run.rows else 0.0
    events.append(RunFinished(
        status=str(s.get("status", "completed")), message=str(s.get("message", "")), epochs_run=run.epochs_run,
        seconds=seconds, final=dict(s.get("final") or {}), best=dict(s.get("best") or {}), run_dir=str(run.path),
    ))
    return events


def load_model(run: OpenedRun) -> tuple[Any, Any]:
    """The run's data (as it trained on it) and its model with the saved final weights, on the CPU, eval mode."""
    from nn_tui.core.datasets import load_dataset
    from nn_tui.core.model.build import build_model, default_loss, output_units
    from nn_tui.core.run.evaluation import describe_weight_mismatch
    from nn_tui.core.safetensors_io import read_safetensors

    p = run.preset
    data = load_dataset(p.data.dataset, p.data.options, p.seed, p.data.test_fraction, p.base_dir, p.data.extra_features)
    loss = p.training.loss or default_loss(data.task, data.n_classes)
    model = build_model(data.n_features, p.layers, output_units(data.task, loss, data.n_classes, data.n_targets))
    state, _ = read_safetensors(run.path / WEIGHTS_FILE)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if expected != found:
        raise UserError(f"{WEIGHTS_FILE} does not fit {PRESET_FILE}: {describe_weight_mismatch(found, expected)}",
                        source=str(run.path))
    model.load_state_dict(state)
    model.eval()
    return data, model


def final_snapshot(run: OpenedRun) -> InsightSnapshot:
    """An insight snapshot of the saved weights, as the live run's last one (final, health measured the same way).
    Loads data and torch: call it off the UI thread."""
    from dataclasses import replace

    from nn_tui.core.inspection.health import measure_state
    from nn_tui.core.inspection.insight import InsightSnapshot, insight_data
    from nn_tui.core.model.build import default_loss, loss_function
    from nn_tui.core.training.state import TrainState

    import torch

    data, model = load_model(run)
    loss = run.preset.training.loss or default_loss(data.task, data.n_classes)
    preset = replace(run.preset, training=replace(run.preset.training, loss=loss))
    X, y = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    if loss == "bce":
        y = y.to(torch.float32).unsqueeze(1)
    state = TrainState(preset=preset, data=data, model=model, loss_fn=loss_function(loss), X_train=X, y_train=y,
                       epoch=run.epochs_run)
    try:
        health = measure_state(state)
    except Exception:  # noqa: BLE001 - the other views still work without health
        health = None
    model.eval()
    return InsightSnapshot(epoch=run.epochs_run, global_step=run.global_step(run.epochs_run), final=True, model=model,
                           health=health, data=insight_data(state))
