"""Health measured while a run trains (a callback, throttled) and written to a run folder's health.csv.

Measuring happens on the training thread, between steps, a few times a second at most: nothing is added to
the training step itself, and measuring never changes the run (see nn_tui.core.inspection.health).
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nn_tui.core.inspection.health import SAMPLE_ROWS, HealthReport, measure_state
from nn_tui.core.training.callbacks import Callback, Throttle
from nn_tui.core.training.events import EpochEnd, Event, RunFinished, RunStarted, StepProgress
from nn_tui.core.training.state import TrainState

HEALTH_FILE = "health.csv"
CSV_COLUMNS = [
    "epoch", "step", "layer", "units", "activation", "grad_norm", "weight_norm",
    "update_ratio", "dead_fraction", "saturated_fraction", "sample_loss", "flags",
]


class Sampler(Callback):
    """Calls `sample(state, event)` at the start, then on step-progress and epoch-end events when its Throttle
    allows, and once more when the run finishes. All on the training thread, between steps. A sample that
    fails is counted in `errors`, never raised into the run being watched."""

    def __init__(self, *, interval: float, budget: float = 0.01) -> None:
        self.throttle = Throttle(interval, budget)
        self.reports = 0
        self.errors: list[str] = []

    @property
    def seconds(self) -> float:
        """Time spent sampling, for the cost check."""
        return self.throttle.seconds

    def sample(self, state: TrainState, event: Event) -> None:
        raise NotImplementedError

    def _take(self, state: TrainState, event: Event) -> None:
        if not state.built:  # a run that failed before its model was built
            return
        t0 = time.perf_counter()
        try:
            self.sample(state, event)
            self.reports += 1
        except Exception as exc:  # noqa: BLE001 - watching must never break the run being watched
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.throttle.spent(time.perf_counter() - t0)

    def on_run_start(self, state: TrainState, event: RunStarted) -> None:
        self._take(state, event)

    def on_progress(self, state: TrainState, event: StepProgress) -> None:
        if self.throttle.due():
            self._take(state, event)

    def on_epoch_end(self, state: TrainState, event: EpochEnd) -> None:
        if self.throttle.due():
            self._take(state, event)

    def on_run_end(self, state: TrainState, event: RunFinished) -> None:
        self._take(state, event)


class HealthSampler(Sampler):
    """Measures health a few times a second at most (see Sampler), gives each report to `on_report`, and
    with `csv_path` appends it to a health.csv file (closed when the run finishes); a relative path is taken
    inside the run's folder."""

    def __init__(
        self,
        *,
        on_report: Callable[[HealthReport], None] | None = None,
        interval: float = 0.25,
        rows: int = SAMPLE_ROWS,
        budget: float = 0.01,
        csv_path: str | Path | None = None,
    ) -> None:
        super().__init__(interval=interval, budget=budget)
        self.on_report = on_report or (lambda r: None)
        self.rows = rows
        self.csv_path = csv_path
        self._csv: HealthCsv | None = None

    def on_run_start(self, state: TrainState, event: RunStarted) -> None:
        if self.csv_path is not None and event.run_dir is not None:
            self.csv_path = Path(event.run_dir) / self.csv_path  # unchanged when csv_path is absolute
        super().on_run_start(state, event)

    def sample(self, state: TrainState, event: Event) -> None:
        report = measure_state(state, self.rows)
        if self.csv_path is not None:
            if self._csv is None:
                self._csv = HealthCsv(self.csv_path)
            self._csv.write(report)
        self.on_report(report)

    def on_run_end(self, state: TrainState, event: RunFinished) -> None:
        super().on_run_end(state, event)
        if self._csv is not None:
            self._csv.close()


class HealthCsv:
    """Appends health reports to a run folder's health.csv, one row per layer, flushed as it goes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._fh = open(self.path, "a", encoding="utf-8", newline="")
        self._writer = csv.DictWriter(self._fh, fieldnames=CSV_COLUMNS)
        if new:
            self._writer.writeheader()
            self._fh.flush()

    def write(self, report: HealthReport) -> None:
        for row in report.rows():
            self._writer.writerow({k: _csv_value(v) for k, v in row.items()})
        self._fh.flush()

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()


def _csv_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else str(v)
    return v


def read_health(path: str | Path) -> list[dict[str, Any]]:
    """health.csv rows with numbers as numbers (empty cells as None)."""
    path = Path(path)
    if path.is_dir():
        path = path / HEALTH_FILE
    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            parsed: dict[str, Any] = {}
            for k, v in row.items():
                if k in ("layer", "activation", "flags"):
                    parsed[k] = v
                elif v in ("", None):
                    parsed[k] = None
                elif k in ("epoch", "step", "units"):
                    parsed[k] = int(v)
                else:
                    parsed[k] = float(v)
            out.append(parsed)
    return out
