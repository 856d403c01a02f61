"""The run directory: preset.toml, metrics.csv, model.safetensors and summary.json for one training run.

Every file but metrics.csv is replaced atomically; metrics.csv gets one whole row per write, flushed,
so an interrupted or killed run always leaves a directory that can be read.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from nn_tui.core.datasets import CLASSIFICATION, metric_for
from nn_tui.core.errors import UserError
from nn_tui.core.fileio import atomic_write, atomic_write_json, atomic_write_text
from nn_tui.core.preset import Preset, dump_preset
from nn_tui.core.training.callbacks import Callback
from nn_tui.core.training.events import EpochEnd
from nn_tui.core.training.state import TrainState

PRESET_FILE = "preset.toml"
METRICS_FILE = "metrics.csv"
WEIGHTS_FILE = "model.safetensors"
SUMMARY_FILE = "summary.json"


def metrics_columns(metric: str) -> list[str]:
    return ["epoch", "train_loss", "val_loss", metric, "lr", "seconds"]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "run"


class RunDir:
    """One run's folder. Create with RunDir.create(); write with the methods below."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._metrics_fh: io.TextIOWrapper | None = None
        self._columns: list[str] = []
        self._lock_fd: int | None = None

    @classmethod
    def create(cls, out_dir: str | Path, preset_name: str, *, need_bytes: int = 0) -> RunDir:
        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the output folder: {exc.strerror or exc}", source=str(out)) from None
        if not os.access(out, os.W_OK | os.X_OK):
            why = " (a read-only file system)" if _read_only(out) else ""
            raise UserError(f"the output folder is not writable{why}; choose another with --out", source=str(out))
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = f"{stamp}-{_slug(preset_name)}"
        for i in range(1000):
            path = out / (base if i == 0 else f"{base}-{i}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise UserError(f"cannot create a run folder: {exc.strerror or exc}", source=str(out)) from None
            try:  # fail now, not after an hour of training
                probe_writable(path)
                if need_bytes:
                    from nn_tui.core.run.limits import check_disk_space

                    check_disk_space(path, need_bytes, source=str(out))
            except UserError:
                shutil.rmtree(path, ignore_errors=True)
                raise
            run_dir = cls(path)
            run_dir.lock()
            return run_dir
        raise UserError("could not find a free run folder name", source=str(out))

    @classmethod
    def open_existing(cls, path: str | Path) -> RunDir:
        """An existing run folder to continue writing (resume), checked writable first."""
        path = Path(path)
        if not path.is_dir():
            raise UserError("no such run folder", source=str(path))
        run_dir = cls(path)
        run_dir.lock()
        probe_writable(path)
        return run_dir

    def lock(self) -> None:
        """Hold an advisory lock on the folder while this process writes to it, so a second writer (say, a
        resume while the run is still training elsewhere) is refused. The kernel drops it if we are killed."""
        try:
            import fcntl
        except ImportError:  # Windows: no flock
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise UserError(
                "another nn-tui process is training in this run folder; wait for it to finish or stop it first",
                source=str(self.path),
            ) from None
        self._lock_fd = fd

    def truncate_metrics(self, epoch: int) -> None:
        """Keep metrics.csv's header and whole rows up to `epoch` (what a checkpoint covers), atomically.

        Drops a half-written last line (a kill mid-write) and rows a resumed run is about to write again.
        """
        path = self.path / METRICS_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read {METRICS_FILE}: {exc}", source=str(self.path)) from None
        lines = _whole_lines(text)
        keep = lines[:1]
        for line in lines[1:]:
            first = line.split(",", 1)[0]
            if first.isdigit() and int(first) <= epoch:
                keep.append(line)
        new = "".join(line + "\n" for line in keep)
        if new != text:
            atomic_write_text(path, new)

    @property
    def run_id(self) -> str:
        return self.path.name

    def write_preset(self, preset: Preset) -> None:
        atomic_write_text(self.path / PRESET_FILE, dump_preset(preset))

    def open_metrics(self, metric: str) -> None:
        self._columns = metrics_columns(metric)
        path = self.path / METRICS_FILE
        new = not path.exists() or path.stat().st_size == 0
        self._metrics_fh = open(path, "a", encoding="utf-8", newline="")
        if new:
            self._write_line(",".join(self._columns))

    def _write_line(self, line: str) -> None:
        assert self._metrics_fh is not None
        # One write() of a whole line, then flush: a crash leaves whole rows only.
        self._metrics_fh.write(line + "\n")
        self._metrics_fh.flush()

    def append_metrics(self, row: dict[str, Any]) -> None:
        self._write_line(",".join(_csv_value(row.get(c)) for c in self._columns))

    def close(self) -> None:
        if self._metrics_fh is not None:
            try:
                os.fsync(self._metrics_fh.fileno())
            except OSError:
                pass
            self._metrics_fh.close()
            self._metrics_fh = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    def save_weights(self, state: dict[str, Any], metadata: dict[str, str] | None = None) -> None:
        from safetensors.torch import save_file

        atomic_write(self.path / WEIGHTS_FILE, lambda tmp: save_file(state, tmp, metadata=metadata))

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.path / SUMMARY_FILE, _json_safe(summary))


class MetricsWriter(Callback):
    """Appends each epoch's row to the run folder's metrics.csv (opened by the run before training)."""

    def __init__(self, run_dir: RunDir) -> None:
        self.append = run_dir.append_metrics

    def on_epoch_end(self, state: TrainState, event: EpochEnd) -> None:
        self.append(event.row())


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    return str(v)


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    return v


def summary_metric(summary: dict[str, Any]) -> str:
    """The metric a summary.json judges its run by (older summaries say it only through their best row)."""
    return summary.get("metric") or metric_for(CLASSIFICATION if "val_accuracy" in (summary.get("best") or {}) else None)


def check_run_folder(run_dir: str | Path, *, weights: bool = False) -> Path:
    """The path of an existing run folder (with preset.toml, and model.safetensors if asked), or a UserError."""
    path = Path(run_dir)
    source = str(path)
    if not path.exists():
        raise UserError("no such run folder", source=source)
    if not path.is_dir():
        raise UserError("not a folder; expected a run folder (runs/<run-id>/)", source=source)
    if not (path / PRESET_FILE).is_file():
        raise UserError(f"not a run folder: no {PRESET_FILE}", source=source)
    if weights and not (path / WEIGHTS_FILE).is_file():
        raise UserError(f"no {WEIGHTS_FILE} in the run folder (the run saved no weights)", source=source)
    return path


def read_metrics(path: str | Path) -> list[dict[str, float]]:
    """Rows of a run's metrics.csv as numbers (epoch as int)."""
    path = Path(path)
    if path.is_dir():
        path = path / METRICS_FILE
    with open(path, encoding="utf-8", newline="") as fh:
        rows = []
        for row in csv.DictReader(io.StringIO("".join(line + "\n" for line in _whole_lines(fh.read())))):
            rows.append({k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v not in (None, "")})
        return rows


def _whole_lines(text: str) -> list[str]:
    """Lines of a file that were completely written: a last line without its newline is a kill mid-write."""
    lines = text.split("\n")
    return [line for line in lines[:-1] if line]


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def probe_writable(folder: Path) -> None:
    """Write, sync and delete a small file: a read-only or full disk fails here with a clear message."""
    probe = folder / f".nn-tui-write-test-{os.getpid()}"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"\0" * 65536)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        reason = {
            errno.ENOSPC: "the disk is full",
            errno.EDQUOT: "the disk quota is used up",
            errno.EROFS: "the file system is read-only",
            errno.EACCES: "permission denied",
            errno.EPERM: "permission denied",
        }.get(exc.errno, exc.strerror or str(exc))
        raise UserError(f"cannot write to the output folder: {reason}; choose another with --out", source=str(folder)) from None
    finally:
        try:
            probe.unlink()
        except OSError:
            pass


def read_summary(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / SUMMARY_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("not a run folder (no summary.json)", source=str(run_dir)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"summary.json is not valid JSON: {exc}", source=str(run_dir)) from None
