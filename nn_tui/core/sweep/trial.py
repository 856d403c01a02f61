"""One trial of a sweep: an ordinary run of the trial's preset (its own run folder), watched by a callback that
keeps the metric's best value, reports it to the pruner at the rung epochs, and stops the run when asked."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nn_tui.core.errors import UserError
from nn_tui.core.sweep.study import TrialTask, load_study_for_pruning
from nn_tui.core.training import Callback, EpochBlock, EpochEnd, StepProgress, TrainerControl, TrainState

RUNS_FOLDER = "runs"


@dataclass
class TrialResult:
    number: int
    status: str  # the run's status (completed, early_stopped, diverged, failed, stopped), or pruned
    value: float | None  # the metric's best value over the epochs run
    epochs: int
    seconds: float  # the whole trial: loading the data, training, writing the folder
    train_seconds: float  # training alone, as the run measured it
    run_dir: str | None
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class TrialWatcher(Callback):
    """Keeps the best value of the sweep's metric; asks the pruner at the rung epochs; stops the run when the
    sweep is stopping (`should_stop`) or the pruner says so; passes (epoch, value) to `on_epoch` now and then."""

    def __init__(self, task: TrialTask, control: TrainerControl, *, should_stop: Callable[[], bool],
                 on_epoch: Callable[[int, int, float], None] | None = None, interval: float = 0.5,
                 report: Callable[[float, int], bool] | None = None) -> None:
        self.task = task
        self.control = control
        self.should_stop = should_stop
        self.on_epoch = on_epoch
        self.interval = interval
        self.report = report
        self.best: float | None = None
        self.pruned = False
        self._sign = 1.0 if task.direction == "minimize" else -1.0
        self._next = 0.0
        self._rungs = set(task.rungs)

    def earlier(self, values: list[float | None]) -> None:
        """The metric's values in the epochs trained before (a stopped trial continued in its run folder)."""
        for value in values:
            if value is not None and math.isfinite(value):
                if self.best is None or self._sign * value < self._sign * self.best:
                    self.best = value

    def on_progress(self, state: TrainState, event: StepProgress) -> None:
        if self.should_stop():
            self.control.stop()

    def on_epoch_end(self, state: TrainState, event: EpochEnd) -> None:
        self._epochs(event.epoch, event.epochs, [event.row().get(self.task.metric)])

    def on_epoch_block(self, state: TrainState, block: EpochBlock) -> None:
        k, n = self.task.metric, len(block.val_loss)
        values = {"train_loss": block.train_loss, "val_loss": block.val_loss, block.metric: block.metric_value}
        self._epochs(block.first, block.epochs, values.get(k, [None] * n))

    def block_ends(self) -> set[int]:
        return self._rungs if self.report is not None else set()

    def _epochs(self, first: int, epochs: int, values: list[float | None]) -> None:
        """Epochs first, first + 1, … ended with these values of the sweep's metric."""
        for value in values:
            if value is not None and math.isfinite(value):
                if self.best is None or self._sign * value < self._sign * self.best:
                    self.best = value
        if self.should_stop():
            self.control.stop()
        last = first + len(values) - 1
        if self.report is not None:
            for epoch in sorted(self._rungs.intersection(range(first, last + 1))):
                value = values[epoch - first]
                if value is not None and self.report(value, epoch):
                    self.pruned = True
                    self.control.stop()
        if self.on_epoch is not None:
            now = time.monotonic()
            if now >= self._next or last == epochs:
                self._next = now + self.interval
                self.on_epoch(last, epochs, values[-1])


def optuna_reporter(task: TrialTask) -> Callable[[float, int], bool] | None:
    """trial.report + trial.should_prune through the shared journal file, or None without pruning."""
    if not task.rungs:
        return None
    import optuna

    study = load_study_for_pruning(task.sweep_dir, task.preset.training.epochs)
    trial = optuna.trial.Trial(study, task.trial_id)

    def report(value: float, epoch: int) -> bool:
        trial.report(value, epoch)
        return trial.should_prune()

    return report


def trial_run(task: TrialTask, watcher: TrialWatcher, control: TrainerControl, callbacks: tuple = ()):
    """The trial's Run: continuing the run folder it was stopped in, from its checkpoint (a stopped trial asked
    again by --resume), or else a new run folder in the sweep's runs/. Raises UserError for a preset that
    cannot be prepared."""
    from nn_tui.core.run.rundir import read_metrics
    from nn_tui.core.run.runner import Run, prepare_run

    every = [watcher, *callbacks]
    if task.continue_in is not None:
        from nn_tui.core.run.resume import prepare_resume

        try:
            plan = prepare_resume(task.continue_in)
        except UserError:
            pass  # nothing to continue from (changed, already finished, damaged): the trial trains anew
        else:
            epochs = plan.checkpoint.epoch if plan.checkpoint is not None else 0
            try:
                watcher.earlier([row.get(task.metric) for row in read_metrics(plan.run_dir.path)[:epochs]])
            except (OSError, ValueError):
                pass
            return Run(plan.prepared, run_dir=plan.run_dir, resume_from=plan.checkpoint, callbacks=every,
                       control=control, progress_interval=0.25)
    return Run(prepare_run(task.preset), out_dir=Path(task.sweep_dir) / RUNS_FOLDER, callbacks=every,
               control=control, progress_interval=0.25)


def run_trial(task: TrialTask, *, should_stop: Callable[[], bool] = lambda: False,
              on_start: Callable[[str], None] | None = None,
              on_epoch: Callable[[int, int, float], None] | None = None,
              report: Callable[[float, int], bool] | None | str = "optuna",
              extra_callbacks: tuple = (), control: TrainerControl | None = None) -> TrialResult:
    """Train one trial into `<sweep_dir>/runs/`. Never raises for a trial's own failure: it is the result."""
    t0 = time.perf_counter()
    if report == "optuna":
        report = optuna_reporter(task)
    try:
        control = control or TrainerControl()
        watcher = TrialWatcher(task, control, should_stop=should_stop, on_epoch=on_epoch, report=report)
        run = trial_run(task, watcher, control, extra_callbacks)
        if on_start is not None and run.run_dir is not None:
            on_start(str(run.run_dir.path))
        finished = run.execute()
    except UserError as exc:
        return TrialResult(task.number, "failed", None, 0, time.perf_counter() - t0, 0.0, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken trial must not end the sweep
        return TrialResult(task.number, "failed", None, 0, time.perf_counter() - t0, 0.0, None,
                           f"{type(exc).__name__}: {exc}")
    status = "pruned" if watcher.pruned else finished.status
    return TrialResult(task.number, status, watcher.best, finished.epochs_run, time.perf_counter() - t0,
                       float(finished.seconds or 0.0), finished.run_dir, finished.message)
