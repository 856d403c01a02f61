"""changes.csv: the settings changed while a run trained (epoch, step, global_step, key, old, new), one whole
line per change, flushed and synced at once, so the run stays explainable; and, on resume, the changes made
after the checkpoint are asked for again at the same steps, so the run goes on as it did."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nn_tui.core.errors import UserError
from nn_tui.core.fileio import atomic_write_text
from nn_tui.core.training.callbacks import Callback
from nn_tui.core.training.events import SettingChanged, TrainerControl
from nn_tui.core.training.live import LIVE_KEYS
from nn_tui.core.training.state import TrainState

CHANGES_FILE = "changes.csv"
COLUMNS = ("epoch", "step", "global_step", "key", "old", "new")


def read_changes(run_dir: str | Path) -> list[dict[str, Any]]:
    """The recorded changes, in order; a line cut short by a kill, or not in this form, is left out."""
    path = Path(run_dir) / CHANGES_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {CHANGES_FILE}: {exc}", source=str(run_dir)) from None
    rows = []
    for line in text.split("\n")[1:-1]:  # the header, and a last line without its newline, are not changes
        cells = line.split(",")
        if len(cells) != len(COLUMNS) or cells[3] not in LIVE_KEYS:
            continue
        try:
            rows.append({"epoch": int(cells[0]), "step": int(cells[1]), "global_step": int(cells[2]),
                         "key": cells[3], "old": float(cells[4]), "new": float(cells[5])})
        except ValueError:
            continue
    return rows


def _line(row: dict[str, Any]) -> str:
    return ",".join(repr(v) if isinstance(v, float) else str(v) for v in (row[c] for c in COLUMNS))


def replay_after(run_dir: str | Path, global_step: int, control: TrainerControl) -> int:
    """Resuming from a checkpoint taken after `global_step` steps: keep the changes it already holds, and ask
    `control` for the later ones again at their steps (they are written back as they happen). Returns how many."""
    path = Path(run_dir) / CHANGES_FILE
    rows = read_changes(run_dir)
    if not path.exists():
        return 0
    kept = [r for r in rows if r["global_step"] < global_step]  # applied before the checkpoint's state was saved
    again = [r for r in rows if r["global_step"] >= global_step]
    atomic_write_text(path, "".join(line + "\n" for line in [",".join(COLUMNS), *map(_line, kept)]))
    for row in again:
        control.request_change(row["key"], row["new"], at_step=row["global_step"])
    return len(again)


class ChangesWriter(Callback):
    """Appends each SettingChanged to the run folder's changes.csv (created with its header on the first)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / CHANGES_FILE

    def on_setting_change(self, state: TrainState, event: SettingChanged) -> None:
        new = not self.path.exists() or self.path.stat().st_size == 0
        text = (",".join(COLUMNS) + "\n" if new else "") + _line(event.row()) + "\n"
        # One write of whole lines, flushed and synced: rare, and a kill must leave whole rows only.
        with open(self.path, "a", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
