"""What the app knows about the current run, built from trainer events on the UI thread (no Textual here)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nn_tui.core.training.events import EpochEnd, Event, RunError, RunFinished, RunStarted, StepProgress
from nn_tui.tui.series import Series

if TYPE_CHECKING:
    from nn_tui.core.inspection.insight import InsightSnapshot

# Statuses that mean "this run is over" and how the app words them.
FINISHED_WORDS = {
    "completed": "completed",
    "stopped": "stopped",
    "early_stopped": "stopped early",
    "diverged": "diverged",
    "failed": "failed",
}


@dataclass
class RunHistory:
    """Curves and latest numbers of one run. `apply(events)` returns True when anything changed."""

    epochs_total: int = 0
    started: RunStarted | None = None
    last_epoch: EpochEnd | None = None
    last_step: StepProgress | None = None
    finished: RunFinished | None = None
    error: str | None = None
    best_metric: float | None = None
    best_val_loss: float | None = None
    metric: str = "val_accuracy"
    train_loss: Series = field(default_factory=Series)
    val_loss: Series = field(default_factory=Series)
    running_loss: Series = field(default_factory=Series)
    metric_values: Series = field(default_factory=Series)
    version: int = 0  # bumped on every change, so charts redraw only when needed
    began_at: float | None = None  # monotonic clock at RunStarted
    paused_seconds: float = 0.0
    insight: InsightSnapshot | None = None  # the latest snapshot of the network (set by the RunController)

    def apply(self, events: list[Event]) -> bool:
        for event in events:
            if isinstance(event, StepProgress):
                self.last_step = event
                x = event.epoch - 1 + event.step / max(event.steps_per_epoch, 1)
                self.running_loss.append(x, event.running_loss)
            elif isinstance(event, EpochEnd):
                self.last_epoch = event
                self.epochs_total = event.epochs
                self.metric = event.metric
                self.train_loss.append(event.epoch, event.train_loss)
                self.val_loss.append(event.epoch, event.val_loss)
                self.metric_values.append(event.epoch, event.metric_value)
                # The epoch's final running-loss point joins the epoch's train loss, so the curves meet.
                self.running_loss.append(event.epoch, event.train_loss)
                if math.isfinite(event.val_loss) and (self.best_val_loss is None or event.val_loss < self.best_val_loss):
                    self.best_val_loss = event.val_loss
                if math.isfinite(event.metric_value) and (
                    self.best_metric is None or event.metric_value > self.best_metric
                ):
                    self.best_metric = event.metric_value
            elif isinstance(event, RunStarted):
                self.started = event
                self.epochs_total = event.epochs
                self.metric = event.metric
                self.began_at = time.monotonic()
            elif isinstance(event, RunFinished):
                self.finished = event
            elif isinstance(event, RunError):
                self.error = event.message
        if events:
            self.version += 1
        return bool(events)

    @property
    def epoch(self) -> int:
        return self.last_epoch.epoch if self.last_epoch else 0

    @property
    def run_dir(self) -> str | None:
        if self.finished and self.finished.run_dir:
            return self.finished.run_dir
        return self.started.run_dir if self.started else None

    def elapsed(self, now: float | None = None) -> float:
        """Training seconds: the trainer's own clock once finished, else the wall clock since start."""
        if self.finished is not None:
            return self.finished.seconds
        if self.began_at is None:
            return 0.0
        return max(0.0, (now if now is not None else time.monotonic()) - self.began_at - self.paused_seconds)

    def eta(self) -> float | None:
        """Seconds left, from the mean epoch time so far; None before the first epoch or when finished."""
        e = self.last_epoch
        if self.finished is not None or e is None or e.epoch == 0:
            return None
        per_epoch = e.seconds / e.epoch
        return max(0.0, (self.epochs_total - e.epoch) * per_epoch)


def format_seconds(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "–"
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "-∞")
    return f"{value:.{digits}g}"
