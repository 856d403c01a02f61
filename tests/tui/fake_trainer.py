"""A scripted stand-in for the trainer: fast, deterministic events for UI tests and snapshots.

It obeys the TrainerControl like the real trainer (stop, pause, step one epoch), writes no files
and never imports torch.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

from nn_tui.core.datasets import CLASSIFICATION, get_dataset_info, metric_for
from nn_tui.core.training.events import (
    EpochEnd,
    Event,
    RunFinished,
    RunStarted,
    SettingChanged,
    StepProgress,
    TrainerControl,
)
from nn_tui.core.preset import Preset


class FakeTrainer:
    """Call it like `train_with_torch`. `epoch_seconds` of real sleep per epoch keeps pause/stop testable.

    outcome: "completed", "diverged" (NaN at `diverge_at`), or "raise" (an exception, as a bug would).
    """

    def __init__(
        self,
        *,
        epoch_seconds: float = 0.0,
        steps_per_epoch: int = 4,
        outcome: str = "completed",
        diverge_at: int = 3,
        run_dir: str = "runs/20250101-120000-fake",
        hold_after: int | None = None,
    ) -> None:
        self.epoch_seconds = epoch_seconds
        self.steps_per_epoch = steps_per_epoch
        self.outcome = outcome
        self.diverge_at = diverge_at
        self.run_dir = run_dir
        self.calls: list[Preset] = []
        self.epochs_run = 0
        self.finished: RunFinished | None = None
        # hold_after=N: after epoch N, wait until the test calls release() (a fixed point to pause at)
        self.hold_after = hold_after
        self.holding = threading.Event()
        self._release = threading.Event()

    def release(self) -> None:
        self._release.set()

    def __call__(
        self,
        preset: Preset,
        *,
        out_dir: str | Path,
        on_event: Callable[[Event], None],
        control: TrainerControl,
        on_snapshot: Callable[[object], None] | None = None,
        resume_dir: str | Path | None = None,
    ) -> RunFinished:
        self.calls.append(preset)
        if self.outcome == "raise":
            raise RuntimeError("scripted failure in the fake trainer")
        info = get_dataset_info(preset.data.dataset)
        metric = metric_for(info.task or CLASSIFICATION)
        epochs = preset.training.epochs
        steps = self.steps_per_epoch
        on_event(RunStarted(self.run_dir, "cpu", epochs, 1, steps, 32, 400, 100, 1234, info.task or CLASSIFICATION, metric))
        status, message = "completed", f"trained {epochs} epochs"
        seconds = 0.0
        epoch = 0
        # Settings changed while training (TrainerControl.request_change) apply from the next step, as in the
        # real trainer: reported as SettingChanged, and the lr goes into each later EpochEnd.
        settings = {"lr": preset.training.lr, "momentum": preset.training.momentum or 0.0,
                     "weight_decay": preset.training.weight_decay, "l1": preset.training.l1}
        self.changes: list[SettingChanged] = []
        for epoch in range(1, epochs + 1):
            stop = False
            for step in range(1, steps + 1):
                if control.stop_requested:
                    stop = True
                    break
                control.wait_if_paused()
                if control.stop_requested:
                    stop = True
                    break
                if control.changes_pending:
                    done = (epoch - 1) * steps + step - 1
                    for key, value in control.due_changes(done):
                        change = SettingChanged(epoch, step - 1, done, key, settings[key], value)
                        settings[key] = value
                        self.changes.append(change)
                        on_event(change)
                if self.epoch_seconds:
                    time.sleep(self.epoch_seconds / steps)
                running = self.loss(epoch - 1 + step / steps)
                on_event(StepProgress(epoch, step, steps, (epoch - 1) * steps + step, running, 1000.0))
            if stop:
                status, message = "stopped", f"stopped by request during epoch {epoch}"
                epoch -= 1
                break
            if self.outcome == "diverged" and epoch >= self.diverge_at:
                status = "diverged"
                message = "the loss became NaN or infinite in epoch %d: the learning rate is probably too high" % epoch
                epoch -= 1
                break
            seconds = epoch * 0.5
            train = self.loss(epoch)
            value = min(1.0, 0.5 + 0.5 * (1 - math.exp(-epoch / 4)))
            on_event(EpochEnd(epoch, epochs, train, train * 1.1, metric, value, settings["lr"], 1000.0, seconds, epoch * steps))
            self.epochs_run = epoch
            control.epoch_done()
            if epoch == self.hold_after:
                self.holding.set()
                self._release.wait(10)
        final = {"epoch": epoch, "train_loss": self.loss(epoch), "seconds": epoch * 0.5}
        finished = RunFinished(status, message, epoch, epoch * 0.5, final, dict(final), self.run_dir)
        on_event(finished)
        self.finished = finished
        return finished

    @staticmethod
    def loss(x: float) -> float:
        return 0.7 * math.exp(-x / 5) + 0.02
