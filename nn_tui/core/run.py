"""One training run end to end, shared by `nn-tui run` and the app: resolve, load, train, write the run folder."""

from __future__ import annotations

import platform
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import nn_tui
from nn_tui.core.datasets import CLASSIFICATION, Dataset, absolute_path_options, load_dataset
from nn_tui.core.errors import UserError
from nn_tui.core.events import EpochEnd, Event, RunError, RunFinished, RunStarted, TrainerControl
from nn_tui.core.model import LayerSummary, default_loss, output_units, resolved_momentum, summarize
from nn_tui.core.preset import Preset, check_loss_for_task
from nn_tui.core.rundir import RunDir


@dataclass
class PreparedRun:
    """A preset with every default filled in, its dataset loaded, and the device chosen."""

    preset: Preset  # fully resolved: loss and momentum set; runnable as-is
    data: Dataset
    device: str
    threads: int
    n_out: int
    summary: list[LayerSummary]

    @property
    def parameters(self) -> int:
        return sum(r.parameters for r in self.summary)

    @property
    def validation_on_train(self) -> bool:
        return self.data.validation_on_train or len(self.data.X_test) == 0

    @property
    def validation_note(self) -> str | None:
        """Said in the output and summary.json when nothing was held out where a dataset normally holds rows out
        (test_fraction = 0, or classes too small to split): validation metrics and early stopping then use the
        training rows. None for the truth tables, whose validation is their own four rows by design."""
        if self.data.validation_on_train or len(self.data.X_test):
            return None
        fraction = self.preset.data.test_fraction
        why = "data.test_fraction = 0" if fraction <= 0 else f"data.test_fraction = {fraction:g} held out no rows (too few rows per class)"
        stopping = " and early stopping watches the training loss" if self.preset.training.early_stopping else ""
        return f"nothing is held out for validation ({why}): validation metrics are on the training rows{stopping}"


def resolve_preset(preset: Preset, data: Dataset, *, source: str | None = None) -> Preset:
    """Fill in the defaults that depend on the data (the loss) and on the optimizer (momentum)."""
    t = preset.training
    loss = t.loss or default_loss(data.task, data.n_classes)
    check_loss_for_task(loss, data.task, source=source, n_classes=data.n_classes)
    resolved = preset.copy()
    resolved.training = replace(t, loss=loss, momentum=resolved_momentum(t))
    # Relative data paths (a CSV file) made absolute, so the run folder's preset.toml runs from anywhere.
    resolved.data.options = absolute_path_options(preset.data.dataset, preset.data.options, preset.base_dir)
    return resolved


def prepare_run(preset: Preset, *, source: str | None = None) -> PreparedRun:
    from nn_tui.core.device import resolve_device, set_threads

    from nn_tui.core.limits import check_data_fits, check_model_fits

    device = resolve_device(preset.training.device, source=source)
    check_data_fits(preset, source=source)  # before loading: a dataset too big for memory fails with a number
    try:
        data = load_dataset(
            preset.data.dataset, preset.data.options, preset.seed, preset.data.test_fraction, preset.base_dir
        )
    except UserError as exc:
        if exc.source is None and source is not None:  # loaders do not know the preset's file name
            raise UserError(exc.detail, source=source, key=exc.key) from None
        raise
    resolved = resolve_preset(preset, data, source=source)
    n_out = output_units(data.task, resolved.training.loss, data.n_classes, data.n_targets)
    threads = set_threads(preset.training.threads)
    summary = summarize(data.n_features, resolved.layers, n_out, resolved.training.loss)
    parameters = sum(r.parameters for r in summary)
    check_model_fits(parameters, resolved, n_out, len(data.X_train), len(data.X_test), device, source=source)
    return PreparedRun(resolved, data, device, threads, n_out, summary)


def expectations(preset: Preset, best: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Check the preset's [expect] table against the best epoch: minimums for accuracy/R², maximums for losses."""
    out = {}
    for key, target in preset.expect.items():
        value = best.get(key)
        if value is None:
            continue
        met = value <= target if key.endswith("loss") else value >= target
        out[key] = {"target": target, "value": value, "met": bool(met)}
    return out


def versions() -> dict[str, str]:
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "nn_tui": nn_tui.__version__}


class Run:
    """Runs a prepared preset, writing the run folder as it goes. Used from any thread."""

    def __init__(
        self,
        prepared: PreparedRun,
        *,
        out_dir: str | Path | None = "runs",
        on_event: Callable[[Event], None] | None = None,
        control: TrainerControl | None = None,
        progress_interval: float = 0.25,
    ) -> None:
        self.prepared = prepared
        self.on_event = on_event or (lambda e: None)
        self.control = control or TrainerControl()
        self.progress_interval = progress_interval
        self.trainer = None
        self.checkpoints = None  # nn_tui.core.checkpoint.Checkpointer, while training with a run folder
        self.resume_from = None  # a Checkpoint to continue from (nn_tui.core.resume)
        self.evaluation: dict[str, Any] | None = None
        self.started_at = time.time()
        self.run_dir = RunDir.create(out_dir, prepared.preset.name, need_bytes=self._disk_bytes()) if out_dir is not None else None
        if self.run_dir is not None:
            # Written at once, so a run killed before its first step still leaves a folder that reads and resumes.
            self.run_dir.write_preset(prepared.preset)
            self.run_dir.write_summary(self._summary("running", "starting", None))

    def _summary(self, status: str, message: str, finished: RunFinished | None) -> dict[str, Any]:
        p = self.prepared
        trainer = self.trainer
        best = finished.best if finished else (trainer.best if trainer else {})
        final = finished.final if finished else (trainer.final if trainer else {})
        summary = {
            "status": status,
            "message": message,
            "run_id": self.run_dir.run_id if self.run_dir else None,
            "preset": p.preset.name,
            "dataset": p.preset.data.dataset,
            "task": p.data.task,
            "metric": "val_accuracy" if p.data.task == CLASSIFICATION else "val_r2",
            "final": final,
            "best": best,
            "epochs_run": finished.epochs_run if finished else (trainer.epoch if trainer else 0),
            "epochs": p.preset.training.epochs,
            "parameters": p.parameters,
            "device": p.device,
            "threads": p.threads,
            "seed": p.preset.seed,
            "train_samples": len(p.data.X_train),
            "val_samples": len(p.data.X_test) or len(p.data.X_train),
            "validation_on_train": p.validation_on_train,
            "versions": versions(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started_at)),
            "wall_time": round(time.time() - self.started_at, 3),
        }
        if p.validation_note:
            summary["validation_note"] = p.validation_note
        if self.resume_from is not None:  # this session continued the run from a checkpoint
            summary["resumed_from_epoch"] = self.resume_from.epoch
        if p.preset.expect:
            summary["expect"] = expectations(p.preset, best)
        if finished is not None and trainer is not None:
            summary["evaluation"] = self.evaluate()
        return summary

    def evaluate(self) -> dict[str, Any] | None:
        """Accuracy, per-class precision/recall and confusion matrix (or R², RMSE, MAE) of the final weights
        on the validation split. Kept in self.evaluation for the app; {"error": ...} if it cannot be computed."""
        from nn_tui.core.evaluate import evaluate_model

        try:
            self.evaluation = evaluate_model(
                self.trainer.model, self.prepared.data, self.prepared.preset.training.loss, device=self.trainer.device
            )
        except Exception as exc:  # noqa: BLE001 - scoring must never turn a finished run into a failed one
            self.evaluation = {"error": f"{type(exc).__name__}: {exc}"}
        return self.evaluation

    def _disk_bytes(self) -> int:
        from nn_tui.core.limits import run_folder_bytes

        return run_folder_bytes(self.prepared.parameters, self.prepared.preset)

    def _event(self, event: Event) -> None:
        if isinstance(event, EpochEnd) and self.run_dir is not None:
            self.run_dir.append_metrics(event.row())
            if self.checkpoints is not None:  # after the row, so a checkpoint never runs ahead of metrics.csv
                self.checkpoints.on_epoch_end(event.epoch)
        self.on_event(event)

    def execute(self) -> RunFinished:
        """Train to the end (or stop / divergence). Never raises for training errors: they become status 'failed'."""
        from nn_tui.core.trainer import Trainer

        p = self.prepared
        rd = self.run_dir
        finished: RunFinished | None = None
        hard_stop = started = False
        try:
            self.trainer = Trainer(
                p.preset,
                p.data,
                device=p.device,
                n_out=p.n_out,
                on_event=self._event,
                control=self.control,
                progress_interval=self.progress_interval,
                run_dir=str(rd.path) if rd else None,
            )
            if self.resume_from is not None:
                self.resume_from.restore(self.trainer)
            if rd is not None:
                from nn_tui.core.checkpoint import Checkpointer

                self.checkpoints = Checkpointer(rd.path, self.trainer, every=p.preset.training.checkpoint_every)
                self.checkpoints.prepare()
                if self.resume_from is not None:
                    rd.truncate_metrics(self.trainer.epoch)
                rd.write_preset(p.preset)
                rd.open_metrics(self.trainer.metric)
                rd.write_summary(self._summary("running", "training", None))
            started = True
            finished = self.trainer.run()
        except KeyboardInterrupt:
            hard_stop = True  # raised anywhere in a step: the state is not whole, so no checkpoint of it
            finished = self._fallback("stopped", "interrupted")
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported as a failed run, with the traceback kept
            tb = traceback.format_exc()
            self.on_event(RunError(f"{type(exc).__name__}: {exc}", tb))
            finished = self._fallback("failed", f"{type(exc).__name__}: {exc}")
        finally:
            if rd is not None and (started or self.resume_from is None):  # a resume that never began keeps its folder
                finished = self._write_results(finished, hard_stop=hard_stop)
            elif rd is not None:
                rd.close()
        self.on_event(finished)
        return finished

    def _write_results(self, finished: RunFinished | None, *, hard_stop: bool) -> RunFinished | None:
        """Final checkpoint, weights and summary. A full disk here fails the run with a clear message;
        every file written before stays readable (each is replaced atomically)."""
        rd, p = self.run_dir, self.prepared
        status = finished.status if finished else "failed"
        message = finished.message if finished else "failed"
        try:
            if self.trainer is not None:
                if self.checkpoints is not None:
                    self.checkpoints.finish(status, consistent=not hard_stop)
                rd.save_weights(self.trainer.state_dict_cpu(), {"preset": p.preset.name})
        except OSError as exc:
            status, message = "failed", f"could not save the run's weights: {exc.strerror or exc} ({message})"
            if finished is not None:
                finished = replace(finished, status=status, message=message)
        try:
            rd.write_summary(self._summary(status, message, finished))
        except OSError:
            pass  # the previous summary.json stays; nothing more can be written to this folder
        rd.close()
        return finished

    def _fallback(self, status: str, message: str) -> RunFinished:
        t = self.trainer
        return RunFinished(
            status=status,
            message=message,
            epochs_run=t.epoch if t else 0,
            seconds=t.final.get("seconds", 0.0) if t else 0.0,
            final=dict(t.final) if t else {},
            best=dict(t.best) if t else {},
            run_dir=str(self.run_dir.path) if self.run_dir else None,
        )


def train_preset(
    preset: Preset,
    *,
    out_dir: str | Path | None = "runs",
    on_event: Callable[[Event], None] | None = None,
    control: TrainerControl | None = None,
    source: str | None = None,
) -> tuple[RunFinished, Run]:
    """Convenience: prepare and run in one call (tests, scripts)."""
    run = Run(prepare_run(preset, source=source), out_dir=out_dir, on_event=on_event, control=control)
    return run.execute(), run


__all__ = ["PreparedRun", "Run", "prepare_run", "resolve_preset", "train_preset", "RunStarted"]
