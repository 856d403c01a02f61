"""One training run end to end, shared by `nn-tui run` and the app: resolve, load, train, write the run folder."""

from __future__ import annotations

import platform
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import nn_tui
from nn_tui.core.datasets import Dataset, absolute_path_options, load_dataset, metric_for
from nn_tui.core.errors import UserError
from nn_tui.core.fileio import describe_os_error
from nn_tui.core.run.checkpoint import Checkpoint, Checkpointer
from nn_tui.core.run.changes import ChangesWriter, replay_after
from nn_tui.core.training.callbacks import Callback, Callbacks, EventCallback
from nn_tui.core.training.events import Event, RunError, RunFinished, RunStarted, TrainerControl
from nn_tui.core.training.state import TrainState
from nn_tui.core.model.build import LayerSummary, default_loss, output_units, resolved_momentum, summarize
from nn_tui.core.preset import Preset, check_loss_for_task
from nn_tui.core.run.rundir import MetricsWriter, RunDir


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
    from nn_tui.core.model.device import resolve_device, set_threads

    from nn_tui.core.run.limits import check_data_fits, check_model_fits

    device = resolve_device(preset.training.device, source=source)
    check_data_fits(preset, source=source)  # before loading: a dataset too big for memory fails with a number
    try:
        data = load_dataset(
            preset.data.dataset, preset.data.options, preset.seed, preset.data.test_fraction, preset.base_dir,
            preset.data.extra_features,
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
    """Runs a prepared preset, writing the run folder as it goes. Complete at construction; used from any thread.

    run_dir: an existing run folder to continue in (see nn_tui.core.run.resume), or else out_dir: where a new
    run folder is created (None: no folder). callbacks see every event with the TrainState (on_event=fn is a
    shorthand for a callback passing each event to fn). resume_from: a checkpoint whose TrainState (and
    callbacks' states) training continues from.
    """

    def __init__(
        self,
        prepared: PreparedRun,
        *,
        run_dir: RunDir | str | Path | None = None,
        out_dir: str | Path | None = "runs",
        callbacks: Iterable[Callback] = (),
        on_event: Callable[[Event], None] | None = None,
        control: TrainerControl | None = None,
        resume_from: Checkpoint | None = None,
        progress_interval: float = 0.25,
    ) -> None:
        self.prepared = prepared
        self.control = control or TrainerControl()
        self.progress_interval = progress_interval
        self.resume_from = resume_from
        self.resuming = run_dir is not None
        self.state = TrainState(preset=prepared.preset, data=prepared.data)
        self.trainer = None
        self.evaluation: dict[str, Any] | None = None
        self.started_at = time.time()
        if run_dir is not None:
            self.run_dir: RunDir | None = run_dir if isinstance(run_dir, RunDir) else RunDir.open_existing(run_dir)
        elif out_dir is not None:
            self.run_dir = RunDir.create(out_dir, prepared.preset.name, need_bytes=self._disk_bytes())
            # Written at once, so a run killed before its first step still leaves a folder that reads and resumes.
            try:
                self.run_dir.write_preset(prepared.preset)
                self.run_dir.write_summary(self._summary("running", "training", None))
            except BaseException:  # Ctrl-C, SIGTERM or a full disk right now: no folder rather than half of one
                self.run_dir.discard()
                raise
        else:
            self.run_dir = None
        own: list[Callback] = []
        self.checkpoints: Checkpointer | None = None
        if self.run_dir is not None:
            self.checkpoints = Checkpointer(
                self.run_dir.path, self.state, every=prepared.preset.training.checkpoint_every,
                extra_state=lambda: self.callbacks.state_dicts(), before_write=self.run_dir.flush_metrics,
            )
            # The metrics row first, so a checkpoint never runs ahead of metrics.csv.
            own = [MetricsWriter(self.run_dir), ChangesWriter(self.run_dir.path), self.checkpoints]
        extra = [EventCallback(on_event)] if on_event is not None else []
        self.callbacks = Callbacks(self.state, [*own, *callbacks, *extra])

    def _summary(self, status: str, message: str, finished: RunFinished | None) -> dict[str, Any]:
        p, s = self.prepared, self.state
        best = finished.best if finished else s.best
        summary = {
            "status": status,
            "message": message,
            "run_id": self.run_dir.run_id if self.run_dir else None,
            "preset": p.preset.name,
            "dataset": p.preset.data.dataset,
            "task": p.data.task,
            "metric": metric_for(p.data.task),
            "final": finished.final if finished else s.final,
            "best": best,
            "epochs_run": finished.epochs_run if finished else s.epoch,
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
        if self.resuming:  # this session continued the run from a checkpoint (or from scratch, epoch 0)
            summary["resumed_from_epoch"] = self.resume_from.epoch if self.resume_from is not None else 0
        if p.preset.expect:
            summary["expect"] = expectations(p.preset, best)
        if finished is not None and self.trainer is not None:
            summary["evaluation"] = self.evaluate()
        return summary

    def evaluate(self) -> dict[str, Any] | None:
        """Accuracy, per-class precision/recall and confusion matrix (or R², RMSE, MAE) of the final weights
        on the validation split. Kept in self.evaluation; {"error": ...} if it cannot be computed."""
        from nn_tui.core.inspection.evaluate import evaluate_model

        try:
            self.evaluation = evaluate_model(
                self.trainer.model, self.prepared.data, self.prepared.preset.training.loss, device=self.trainer.device
            )
        except Exception as exc:  # noqa: BLE001 - scoring must never turn a finished run into a failed one
            self.evaluation = {"error": f"{type(exc).__name__}: {exc}"}
        return self.evaluation

    def _disk_bytes(self) -> int:
        from nn_tui.core.run.limits import run_folder_bytes

        return run_folder_bytes(self.prepared.parameters, self.prepared.preset)

    def execute(self) -> RunFinished:
        """Train to the end (or stop / divergence). Never raises for training errors: they become status 'failed'."""
        from nn_tui.core.training.trainer import Trainer

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
                callbacks=self.callbacks.items,
                control=self.control,
                progress_interval=self.progress_interval,
                run_dir=str(rd.path) if rd else None,
                state=self.state,
            )
            if self.resume_from is not None:
                self.trainer.load_state_dict(self.resume_from.train_state())
                self.callbacks.load_state_dicts(self.resume_from.callback_states)
            if rd is not None:
                self._open_folder(rd)
            started = True
            finished = self.trainer.run()
        except KeyboardInterrupt:
            hard_stop = True  # raised anywhere in a step: the state is not whole, so no checkpoint of it
            finished = self._fallback("stopped", "interrupted")
        except UserError:
            raise
        except OSError as exc:  # a full or failing disk: one plain line, not a traceback
            message = f"could not write to the run folder: {describe_os_error(exc)}"
            self.callbacks.emit(RunError(message, traceback.format_exc()))
            finished = self._fallback("failed", message)
        except Exception as exc:  # noqa: BLE001 - reported as a failed run, with the traceback kept
            tb = traceback.format_exc()
            self.callbacks.emit(RunError(f"{type(exc).__name__}: {exc}", tb))
            finished = self._fallback("failed", f"{type(exc).__name__}: {exc}")
        finally:
            if rd is not None and (started or not self.resuming):  # a resume that never began keeps its folder
                finished = self._write_results(finished, hard_stop=hard_stop)
            elif rd is not None:
                rd.close()
        self.callbacks.emit(finished)
        return finished

    def begin(self):
        """Build the trainer (restored from `resume_from`) and ready the run folder, without training: for a driver
        that trains several runs together (nn_tui.core.training.batched). Then `end(finished)` writes the results."""
        from nn_tui.core.training.trainer import Trainer

        p, rd = self.prepared, self.run_dir
        self.trainer = Trainer(
            p.preset, p.data, device=p.device, n_out=p.n_out, callbacks=self.callbacks.items, control=self.control,
            progress_interval=self.progress_interval, run_dir=str(rd.path) if rd else None, state=self.state,
        )
        if self.resume_from is not None:
            self.trainer.load_state_dict(self.resume_from.train_state())
            self.callbacks.load_state_dicts(self.resume_from.callback_states)
        if rd is not None:
            self._open_folder(rd)
        return self.trainer

    def end(self, finished: RunFinished) -> RunFinished:
        """The counterpart of `begin`: final checkpoint, weights and summary written, the end event emitted."""
        return self.announce(self.write_results(finished))

    def write_results(self, finished: RunFinished) -> RunFinished:
        """`end` without its event: the folder's final files (safe to call for several runs at once, one thread
        each: each run writes only its own folder)."""
        if self.run_dir is not None:
            finished = self._write_results(finished, hard_stop=False) or finished
        return finished

    def announce(self, finished: RunFinished) -> RunFinished:
        """The end event, to the callbacks (on the caller's thread)."""
        self.callbacks.emit(finished)
        return finished

    def fail(self, exc: BaseException) -> RunFinished:
        """A run that `begin` or its driver could not train: reported as failed, its folder closed."""
        message = f"{type(exc).__name__}: {exc}"
        self.callbacks.emit(RunError(message, traceback.format_exc()))
        return self.end(self._fallback("failed", message))

    def _open_folder(self, rd: RunDir) -> None:
        """Ready the folder for training: checkpoints/ writable, metrics.csv open (cut back to the checkpoint's
        epoch when resuming), the resolved preset and a "training" summary written."""
        self.checkpoints.prepare()
        if self.resuming:
            rd.truncate_metrics(self.state.epoch)
            replay_after(rd.path, self.state.global_step, self.control)
        if self.resuming:  # a new folder has both already (written when it was made)
            rd.write_preset(self.prepared.preset)
            rd.write_summary(self._summary("running", "training", None))
        rd.open_metrics(self.trainer.metric)

    def _write_results(self, finished: RunFinished | None, *, hard_stop: bool) -> RunFinished | None:
        """Final checkpoint, weights and summary. A full disk here fails the run with a clear message;
        every file written before stays readable (each is replaced atomically)."""
        rd, p = self.run_dir, self.prepared
        status = finished.status if finished else "failed"
        message = finished.message if finished else "failed"
        if self.trainer is not None:
            meta = {"preset": p.preset.name}
            if self.checkpoints is not None:  # what the weights were trained on, for `nn-tui eval`
                from nn_tui.core.run.fingerprint import METADATA_KEY, to_metadata

                meta[METADATA_KEY] = to_metadata(self.checkpoints.definition)
            saves = [lambda: rd.save_weights(self.trainer.state_dict_cpu(), meta)]
            if self.checkpoints is not None:
                saves.insert(0, lambda: self.checkpoints.finish(status, consistent=not hard_stop))
            for save in saves:  # each on its own: a checkpoint that does not fit must not cost the weights
                try:
                    save()
                except OSError as exc:
                    if status != "failed":
                        status = "failed"
                        message = f"could not save the run's weights: {describe_os_error(exc)} ({message})"
            if finished is not None and status != finished.status:
                finished = replace(finished, status=status, message=message)
        summary = self._summary(status, message, finished)
        try:
            rd.write_summary(summary)
        except OSError:  # a full disk: overwrite the old summary in its own blocks, so it says what happened
            rd.overwrite_summary(summary)
        rd.close()
        return finished

    def _fallback(self, status: str, message: str) -> RunFinished:
        s = self.state
        return RunFinished(
            status=status,
            message=message,
            epochs_run=s.epoch,
            seconds=s.final.get("seconds", 0.0),
            final=dict(s.final),
            best=dict(s.best),
            run_dir=str(self.run_dir.path) if self.run_dir else None,
        )


def train_preset(
    preset: Preset,
    *,
    out_dir: str | Path | None = "runs",
    on_event: Callable[[Event], None] | None = None,
    control: TrainerControl | None = None,
    callbacks: Iterable[Callback] = (),
    source: str | None = None,
) -> tuple[RunFinished, Run]:
    """Convenience: prepare and run in one call (tests, scripts)."""
    run = Run(prepare_run(preset, source=source), out_dir=out_dir, callbacks=callbacks, on_event=on_event,
              control=control)
    return run.execute(), run


__all__ = ["PreparedRun", "Run", "prepare_run", "resolve_preset", "train_preset", "RunStarted"]
