"""A past sweep folder read back (what `nn-tui sweep` wrote): its sweep, metric, status and the rows of trials.csv,
so the app can show its finished trials and resume it when some are missing."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nn_tui.core.errors import UserError
from nn_tui.core.sweep.records import RANKED, SUMMARY_FILE, SWEEP_FILE, TRIALS_FILE
from nn_tui.core.sweep.spec import Sweep, load_sweep
from nn_tui.core.sweep.study import STUDY_FILE


@dataclass
class SweepFolder:
    sweep: Sweep
    sweep_dir: Path
    metric: str
    direction: str
    status: str  # completed, or stopped: trials are missing and ctrl+e / --resume runs them
    rows: list[dict[str, Any]] = field(default_factory=list)  # trials.csv: numbers as numbers, "" as None

    @property
    def preset(self):
        return self.sweep.preset

    @property
    def done(self) -> int:
        return sum(1 for r in self.rows if r["status"] in RANKED or r["status"] in ("diverged", "failed", "pruned"))


def _cell(text: str) -> Any:
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_sweep_folder(path: str | Path) -> SweepFolder:
    """Read a sweep folder; a folder without sweep.toml and the study journal is a UserError naming it."""
    sweep_dir = Path(path)
    if not (sweep_dir / SWEEP_FILE).is_file() or not (sweep_dir / STUDY_FILE).is_file():
        raise UserError(f"not a sweep folder (it needs {SWEEP_FILE} and {STUDY_FILE}, as `nn-tui sweep` writes)",
                        source=str(sweep_dir))
    sweep = load_sweep(sweep_dir / SWEEP_FILE)
    summary: dict[str, Any] = {}
    try:
        summary = json.loads((sweep_dir / SUMMARY_FILE).read_text())
    except (OSError, ValueError):
        pass
    metric, direction = summary.get("metric"), summary.get("direction")
    if not metric or not direction:
        from nn_tui.core.sweep.runner import settle_metric

        metric, direction = settle_metric(sweep)
    rows: list[dict[str, Any]] = []
    try:
        with (sweep_dir / TRIALS_FILE).open(newline="") as f:
            for raw in csv.DictReader(f):
                row = {k: _cell(v or "") for k, v in raw.items()}
                for key, param in sweep.spec.params.items():  # a listed value as the engine stores its label
                    text = raw.get(key) or ""
                    row[key] = next((lab for lab in param.labels() if str(lab) == text), row.get(key))
                row["status"] = str(raw.get("status") or "")
                rows.append(row)
    except OSError:
        pass
    folder = SweepFolder(sweep, sweep_dir, metric, direction, "completed", rows)
    if folder.done < sweep.spec.total_runs():
        folder.status = "stopped"
    return folder
