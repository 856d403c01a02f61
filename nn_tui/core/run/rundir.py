"""The run directory: preset.toml, metrics.csv, model.safetensors and summary.json for one training run.

Every file but metrics.csv is replaced atomically; metrics.csv is appended in whole rows (gathered for at
most METRICS_FLUSH_SECONDS, and always written before a checkpoint), so an interrupted or killed run always
leaves a directory that can be read, whose rows reach at least as far as its last checkpoint.
"""

from __future__ import annotations

import csv
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
from nn_tui.core.fileio import atomic_write_json, atomic_write_safetensors, atomic_write_text, describe_os_error
from nn_tui.core.preset import Preset, dump_preset
from nn_tui.core.training.callbacks import Callback
from nn_tui.core.training.events import EpochBlock, EpochEnd
from nn_tui.core.training.state import TrainState

PRESET_FILE = "preset.toml"
METRICS_FILE = "metrics.csv"
# How long finished epochs' rows may wait before they are written: a tiny network ends thousands of epochs a
# second, and a write and flush per row cost more than its epoch (see benchmarks/README.md, vectorised trials).
METRICS_FLUSH_SECONDS = 0.25
WEIGHTS_FILE = "model.safetensors"
SUMMARY_FILE = "summary.json"


def metrics_columns(metric: str) -> list[str]:
    return ["epoch", "train_loss", "val_loss", metric, "lr", "seconds"]


# The next suffix to try per (folder, stamped name): a sweep makes hundreds of run folders within one second,
# and trying -1, -2, … from the start each time made that quadratic (and gave up after 1,000).
_NEXT_SUFFIX: dict[tuple[str, str], int] = {}


def new_stamped_folder(out: Path, name: str, what: str) -> Path:
    """Make and return a new folder `out/<time>-<name>` (with -1, -2, … when taken); `what` names it in errors."""
    base = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(name)}"
    key = (str(out), base)
    start = _NEXT_SUFFIX.get(key, 0)
    for i in range(start, start + 100_000):
        path = out / (base if i == 0 else f"{base}-{i}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise UserError(f"cannot create a {what} folder: {exc.strerror or exc}", source=str(out)) from None
        if len(_NEXT_SUFFIX) > 64:  # only this second's names matter
            _NEXT_SUFFIX.clear()
        _NEXT_SUFFIX[key] = i + 1
        return path
    raise UserError(f"could not find a free {what} folder name", source=str(out))


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "run"


class RunDir:
    """One run's folder. Create with RunDir.create(); write with the methods below."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._metrics_fh: io.TextIOWrapper | None = None
        self._pending: list[str] = []  # rows not yet written
        self._flush_at = 0.0
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
        path = new_stamped_folder(out, preset_name, "run")
        try:  # fail now, not after an hour of training
            probe_writable(path)
            if need_bytes:
                from nn_tui.core.run.limits import check_disk_space

                check_disk_space(path, need_bytes, source=str(out))
            run_dir = cls(path)
            run_dir.lock()
        except BaseException:  # a refusal, or Ctrl-C / SIGTERM: no half-made folder is left behind
            shutil.rmtree(path, ignore_errors=True)
            raise
        return run_dir

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

    def discard(self) -> None:
        """Remove a folder this process just created and that holds nothing yet (an interrupted start)."""
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)

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
        # One write() of whole lines, then flush: a crash leaves whole rows (and at most a cut last line,
        # which readers drop).
        self._metrics_fh.write(line + "\n")
        self._metrics_fh.flush()

    def append_metrics(self, row: dict[str, Any]) -> None:
        self.append_metrics_line(",".join(_csv_value(row.get(c)) for c in self._columns))

    def append_metrics_line(self, line: str) -> None:
        """A row (its columns in metrics_columns' order), written with the rows of the next
        METRICS_FLUSH_SECONDS or before the next checkpoint, whichever comes first."""
        self._pending.append(line)
        now = time.monotonic()
        if now >= self._flush_at:
            self.flush_metrics()
            self._flush_at = now + METRICS_FLUSH_SECONDS

    def flush_metrics(self) -> None:
        """Write the rows that are waiting (before a checkpoint: it must never run ahead of metrics.csv)."""
        if self._pending and self._metrics_fh is not None:
            lines, self._pending = "\n".join(self._pending), []
            self._write_line(lines)

    def close(self) -> None:
        if self._metrics_fh is not None:
            try:
                self.flush_metrics()
            except OSError:  # a full disk: the rows that did not fit are lost, the rows before them are whole
                self._pending = []
            try:
                os.fsync(self._metrics_fh.fileno())
            except OSError:
                pass
            try:
                self._metrics_fh.close()
            except OSError:  # a full disk: the row that did not fit is lost, the rows before it are whole
                pass
            self._metrics_fh = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    def save_weights(self, state: dict[str, Any], metadata: dict[str, str] | None = None) -> None:
        atomic_write_safetensors(self.path / WEIGHTS_FILE, state, metadata)

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.path / SUMMARY_FILE, _json_safe(summary))

    def overwrite_summary(self, summary: dict[str, Any]) -> None:
        """Rewrite summary.json in place, for when the disk is full and no temp file can be made: a file's
        own blocks can be rewritten without new space. Tries the whole summary, then only its headline
        keys (which fit in what the "running" summary took). Not atomic, so only a last resort."""
        headline = {k: summary.get(k) for k in ("status", "message", "run_id", "preset", "dataset", "epochs_run", "epochs")}
        for data in (summary, headline):
            text = json.dumps(_json_safe(data), separators=(",", ":")) + "\n"
            try:
                with open(self.path / SUMMARY_FILE, "r+b") as fh:
                    fh.write(text.encode("utf-8"))
                    fh.truncate()
                    fh.flush()
                    os.fsync(fh.fileno())
                return
            except OSError:
                continue


class MetricsWriter(Callback):
    """Appends each epoch's row to the run folder's metrics.csv (opened by the run before training)."""

    def __init__(self, run_dir: RunDir) -> None:
        self.append = run_dir.append_metrics_line

    def on_epoch_end(self, state: TrainState, event: EpochEnd) -> None:
        e = event
        self.append(_row(int(e.epoch), float(e.train_loss), float(e.val_loss), float(e.metric_value),
                         repr(float(e.lr)), float(e.seconds)))

    def on_epoch_block(self, state: TrainState, block: EpochBlock) -> None:
        lr = repr(float(block.lr))
        self.append("\n".join(
            _row(e, float(a), float(b), float(c), lr, float(t))
            for e, a, b, c, t in zip(range(block.first, block.last + 1), block.train_loss, block.val_loss,
                                     block.metric_value, block.seconds)))


def _row(epoch: int, train: float, val: float, metric: float, lr: str, seconds: float) -> str:
    """A metrics.csv line in metrics_columns' order, as _csv_value writes each cell (repr of a float is exact and
    spells nan / inf / -inf): built once per epoch of every trial, thousands of times a second."""
    return f"{epoch},{train!r},{val!r},{metric!r},{lr},{seconds!r}"


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
    remove_stale_temp_files(path)
    if not (path / PRESET_FILE).is_file():
        empty = " (an empty folder: its run was stopped before it began, so it can be deleted)" if not any(path.iterdir()) else ""
        raise UserError(f"not a run folder: no {PRESET_FILE}{empty}", source=source)
    if weights and not (path / WEIGHTS_FILE).is_file():
        raise UserError(_no_weights_reason(path), source=source)
    return path


def _no_weights_reason(path: Path) -> str:
    """Why a run folder has no model.safetensors, and what to do: a killed run still has its checkpoint."""
    from nn_tui.core.run.checkpoint import LAST_FILE, checkpoint_dir, read_safetensors_header

    last = checkpoint_dir(path) / LAST_FILE
    if not last.is_file():
        return f"no {WEIGHTS_FILE} in the run folder (the run saved no weights)"
    try:
        epoch = (read_safetensors_header(last).get("__metadata__") or {}).get("epoch")
    except UserError:
        epoch = None
    at = f" at epoch {epoch}" if epoch else ""
    return (f"no {WEIGHTS_FILE}: the run was stopped before saving its weights, but it has a checkpoint{at}; "
            f"finish it with `nn-tui run --resume {path}` and evaluate it then")


def remove_stale_temp_files(path: Path) -> None:
    """Remove the temp files of atomic writes cut short by a kill (`.NAME.xxxx.tmp`; the files they were
    for are whole) from a run folder and its checkpoints, unless a run is writing there now (its lock)."""
    from nn_tui.core.run.checkpoint import checkpoint_dir

    stale = [t for folder in (path, checkpoint_dir(path)) if folder.is_dir() for t in folder.glob(".*.tmp")]
    if not stale:
        return
    probe = RunDir(path)
    try:
        probe.lock()
    except (UserError, OSError):  # a live run owns them
        return
    try:
        for tmp in stale:
            try:
                tmp.unlink()
            except OSError:
                pass
    finally:
        probe.close()


def check_metrics_header(path: Path, columns: list[str]) -> None:
    """Refuse a metrics.csv whose first line is not the header a run writes: appending rows under
    something else would make the file unreadable. A missing or empty file is fine (it starts anew)."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            first = fh.readline()
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {METRICS_FILE}: {exc}", source=str(path)) from None
    if first and first.rstrip("\r\n") != ",".join(columns):
        shown = first.rstrip("\r\n")[:60]
        raise UserError(
            f"the first line is {shown!r}, not the header a run writes ({','.join(columns)}); "
            "the file was replaced or damaged, so --resume will not append to it",
            source=str(path),
        )


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
        reason = describe_os_error(exc)
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
