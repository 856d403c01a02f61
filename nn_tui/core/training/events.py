"""Events the trainer sends to its caller (the CLI or the app) and the control object the caller holds.

Events are small frozen dataclasses passed to a plain callback on the training thread.
The callback must be quick: the app only appends them to a deque; the CLI prints.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunStarted:
    run_dir: str | None
    device: str
    epochs: int
    start_epoch: int
    steps_per_epoch: int
    batch_size: int
    train_samples: int
    val_samples: int
    parameters: int
    task: str
    metric: str  # "val_accuracy" or "val_r2"


@dataclass(frozen=True)
class StepProgress:
    epoch: int  # 1-based epoch in progress
    step: int  # steps done in this epoch
    steps_per_epoch: int
    global_step: int
    running_loss: float  # mean training loss over this epoch so far
    samples_per_sec: float


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    metric: str  # "val_accuracy" or "val_r2"
    metric_value: float
    lr: float
    samples_per_sec: float
    seconds: float  # wall seconds since training began
    global_step: int

    def row(self) -> dict[str, Any]:
        """The metrics.csv row for this epoch, keyed by column name."""
        return {
            "epoch": self.epoch,
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            self.metric: self.metric_value,
            "lr": self.lr,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class SettingChanged:
    """A setting changed while training (TrainerControl.request_change), taking effect before the next step."""

    epoch: int  # the epoch in progress (1-based)
    step: int  # steps already done in that epoch
    global_step: int  # steps done in the whole run when it took effect
    key: str  # lr | momentum | weight_decay | l1
    old: float
    new: float

    def row(self) -> dict[str, Any]:
        """The changes.csv row."""
        return {"epoch": self.epoch, "step": self.step, "global_step": self.global_step, "key": self.key,
                "old": self.old, "new": self.new}


@dataclass(frozen=True)
class RunFinished:
    status: str  # completed | stopped | early_stopped | diverged | failed
    message: str
    epochs_run: int
    seconds: float
    final: dict[str, Any] = field(default_factory=dict)
    best: dict[str, Any] = field(default_factory=dict)
    run_dir: str | None = None


@dataclass(frozen=True)
class RunError:
    message: str
    traceback: str = ""


Event = RunStarted | StepProgress | EpochEnd | SettingChanged | RunFinished | RunError


class TrainerControl:
    """Thread-safe stop / pause / step-one-epoch flags and setting changes, checked by the trainer every step."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._paused = False
        self._epoch_budget = 0  # epochs allowed to run while paused
        self._changes: list[tuple[str, float, int | None]] = []  # (key, value, global step to apply at or None)
        self.changes_pending = False  # read by the trainer every step: a plain attribute, no lock

    def request_change(self, key: str, value: float, *, at_step: int | None = None) -> None:
        """Set a training setting (nn_tui.core.training.live.LIVE_KEYS) before the next step, or, for a resumed
        run replaying its changes.csv, before the step after `at_step` steps. Check values with
        `nn_tui.core.training.live.check_live_change` first."""
        with self._cond:
            self._changes.append((key, float(value), at_step))
            self.changes_pending = True

    def due_changes(self, global_step: int) -> list[tuple[str, float]]:
        """The changes to apply now, in the order they were asked for (trainer side)."""
        with self._cond:
            due = [(k, v) for k, v, at in self._changes if at is None or at <= global_step]
            self._changes = [c for c in self._changes if c[2] is not None and c[2] > global_step]
            self.changes_pending = bool(self._changes)
        return due

    # caller side
    def request_stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def stop(self) -> None:
        """Stop after the current step (the run ends as "stopped", its folder resumable). For callbacks too."""
        self.request_stop()

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._epoch_budget = 0
            self._cond.notify_all()

    def step_epoch(self) -> None:
        """While paused, let exactly one more epoch run."""
        with self._cond:
            self._paused = True
            self._epoch_budget += 1
            self._cond.notify_all()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return self._paused

    # trainer side
    def wait_if_paused(self) -> None:
        """Block while paused (unless an epoch step was granted); return at once on stop."""
        if not self._paused:
            return
        with self._cond:
            while self._paused and self._epoch_budget == 0 and not self._stop.is_set():
                self._cond.wait(0.1)

    def epoch_done(self) -> None:
        with self._cond:
            if self._paused and self._epoch_budget > 0:
                self._epoch_budget -= 1
