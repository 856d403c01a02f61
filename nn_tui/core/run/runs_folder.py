"""The runs folder as a list of past runs (preset, status, best metric, time) and their loss curves."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nn_tui.core.run.rundir import METRICS_FILE, SUMMARY_FILE, read_metrics, summary_metric


@dataclass
class RunRecord:
    path: Path
    preset: str
    dataset: str
    status: str
    metric: str  # val_accuracy or val_r2
    best_metric: float | None
    best_val_loss: float | None
    epochs_run: int
    started_at: str  # as summary.json has it, e.g. 2025-01-01T12:00:00+0000
    seconds: float | None  # training time
    summary: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def run_id(self) -> str:
        return self.path.name


def read_run(path: str | Path) -> RunRecord | None:
    """A run folder's record from its summary.json, or None when it is not a readable run folder."""
    path = Path(path)
    try:
        summary = json.loads((path / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict):
        return None
    best = summary.get("best") or {}
    final = summary.get("final") or {}
    metric = summary_metric(summary)
    return RunRecord(
        path=path,
        preset=str(summary.get("preset") or path.name),
        dataset=str(summary.get("dataset") or ""),
        status=str(summary.get("status") or "unknown"),
        metric=metric,
        best_metric=_number(best.get(metric)),
        best_val_loss=_number(best.get("val_loss")),
        epochs_run=int(summary.get("epochs_run") or 0),
        started_at=str(summary.get("started_at") or ""),
        seconds=_number(final.get("seconds")),
        summary=summary,
    )


def list_runs(folder: str | Path) -> list[RunRecord]:
    """Every readable run in the folder, newest first (run ids start with their date and time)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    records = [read_run(p) for p in folder.iterdir() if p.is_dir() and (p / SUMMARY_FILE).is_file()]
    return sorted((r for r in records if r is not None), key=lambda r: (r.started_at, r.run_id), reverse=True)


def loss_curves(path: str | Path) -> dict[str, list[tuple[float, float]]]:
    """{"train_loss": [(epoch, value), ...], "val_loss": [...]} from a run's metrics.csv (empty if none)."""
    path = Path(path)
    curves: dict[str, list[tuple[float, float]]] = {"train_loss": [], "val_loss": []}
    if not (path / METRICS_FILE).is_file():
        return curves
    try:
        rows = read_metrics(path)
    except (OSError, ValueError):
        return curves
    for row in rows:
        for key in curves:
            if key in row and "epoch" in row:
                curves[key].append((float(row["epoch"]), float(row[key])))
    return curves


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
