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
class EpochBlock:
    """Consecutive finished epochs of one run, delivered at once by a driver that trains many runs together
    (nn_tui.core.training.batched): one call per callback instead of one per epoch. The run's state (weights,
    optimizer, counters) is that after the last of them. Lists hold one value per epoch, in order."""

    first: int  # the first epoch's number
    epochs: int
    train_loss: list[float]
    val_loss: list[float]
    metric: str
    metric_value: list[float]
    lr: float  # the same for every epoch of a block
    samples_per_sec: list[float]
    seconds: list[float]
    global_step: int  # after the last epoch
    steps_per_epoch: int

    @property
    def last(self) -> int:
        return self.first + len(self.val_loss) - 1

    def row(self, k: int) -> dict[str, Any]:
        """The metrics.csv row of the block's k-th epoch (as EpochEnd.row)."""
        return {"epoch": self.first + k, "train_loss": self.train_loss[k], "val_loss": self.val_loss[k],
                self.metric: self.metric_value[k], "lr": self.lr, "seconds": self.seconds[k]}

    def events(self) -> list[EpochEnd]:
        """The block as the EpochEnd events a trainer alone would have sent."""
        n = len(self.val_loss)
        return [EpochEnd(self.first + k, self.epochs, self.train_loss[k], self.val_loss[k], self.metric,
                         self.metric_value[k], self.lr, self.samples_per_sec[k], self.seconds[k],
                         self.global_step - (n - 1 - k) * self.steps_per_epoch) for k in range(n)]


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


Event = RunStarted | StepProgress | EpochEnd | EpochBlock | SettingChanged | RunFinished | RunError


class TrainerControl:
    """Thread-safe stop / pause / step-one-epoch flags and setting changes, checked by the trainer every step."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._paused = False
        self._epoch_budget = 0  # epochs allowed to run while paused
        self._changes: list[tuple[str, float, int | None]] = []  # (key, value, global step to apply at or None)
        self.changes_pending = False  # read by the trainer every step: a plain attribute, no lock
        self._stop_flags: list[threading.Event] = []  # also set by a stop (a driver of many runs watches one)

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
        for flag in self._stop_flags:
            flag.set()
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
    def signal_stop_to(self, flag: threading.Event) -> None:
        """Set `flag` too when a stop is requested (at once if one already was): a driver training many runs
        checks one flag every step instead of every run's control."""
        self._stop_flags.append(flag)
        if self._stop.is_set():
            flag.set()

    def wait_if_paused(self) -> None:
        """Block while paused (unless an epoch step was granted); return at once on stop."""
        if not self._paused:
            return
        with self._cond:
            while self._paused and self._epoch_budget == 0 and not self._stop.is_set():
                self._cond.wait(0.1)

    def epoch_done(self) -> None:
        if not self._paused:  # the common case, without the lock: a step granted later counts from later
            return
        with self._cond:
            if self._paused and self._epoch_budget > 0:
                self._epoch_budget -= 1
