"""Checkpoints: everything needed to continue a run exactly, in one safetensors file written atomically.

A run folder keeps two of them under `checkpoints/`:

- `last.safetensors` — the full training state: model weights (`model.*`), optimizer state (`optimizer.*`),
  the random generators (`rng.*`), and, in the JSON metadata, the optimizer's settings, the scheduler, the
  trainer's counters (epoch, step, best so far, early-stopping patience) and a CRC of every tensor.
  Rewritten every `training.checkpoint_every` epochs and when the run ends or is stopped.
- `best.safetensors` — the weights of the epoch with the lowest validation loss, with the same keys as
  `model.safetensors`, so anything that reads one reads the other.

One file per checkpoint means one rename replaces it, so a kill at any moment leaves either the old or the
new checkpoint, never a mix. Files are only ever read as safetensors: the header is checked by hand first,
and a pickle (what `torch.save` writes) is refused without being opened by pickle.
"""

from __future__ import annotations

import json
import math
import struct
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nn_tui.core.errors import UserError
from nn_tui.core.fileio import atomic_write

if TYPE_CHECKING:
    import torch

    from nn_tui.core.training.trainer import Trainer

CHECKPOINT_DIR = "checkpoints"
LAST_FILE = "last.safetensors"
BEST_FILE = "best.safetensors"
FORMAT = "nn-tui-checkpoint"
VERSION = 1
# Periodic checkpoints are spaced at least this far apart, and far enough that writing them takes at most
# MAX_TIME_SHARE of the training time (a write is ~5-20 ms of fsync for a small model, more for a big
# one), so tiny full-batch runs of thousands of epochs a second are not slowed down. The first due one
# is written at once (a kill early on still finds a checkpoint); the one at the end of a run, or when
# it is stopped, is always written.
MIN_INTERVAL_SECONDS = 5.0
MAX_TIME_SHARE = 0.005
MAX_HEADER_BYTES = 100 * 1024 * 1024
# Scheduler keys that follow the preset rather than the checkpoint, so `--epochs` can extend a schedule.
SCHEDULER_HORIZON_KEYS = ("T_max", "step_size", "patience")


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR


# ---------------------------------------------------------------- reading safetensors safely


def read_safetensors_header(path: str | Path) -> dict[str, Any]:
    """The JSON header of a safetensors file, checked against the file's size. Never unpickles anything.

    Raises a UserError naming the file when it is missing, truncated, corrupted, or not safetensors at all
    (a pickle from `torch.save` is recognised and refused by its first bytes).
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            size = fh.seek(0, 2)
            if len(head) < 8:
                raise UserError(f"not a safetensors file: only {size} bytes (truncated?)", source=str(path))
            if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
                raise UserError(
                    "this is a Python pickle, not safetensors; nn-tui refuses to load it because unpickling "
                    "can run arbitrary code. Save weights with safetensors instead",
                    source=str(path),
                )
            if head[:4] == b"PK\x03\x04":
                raise UserError(
                    "this is a zip archive (what torch.save writes: a pickle inside), not safetensors; "
                    "nn-tui refuses to load it because unpickling can run arbitrary code",
                    source=str(path),
                )
            (n,) = struct.unpack("<Q", head)
            if n == 0 or n > MAX_HEADER_BYTES or 8 + n > size:
                raise UserError(
                    f"not a safetensors file, or a truncated one: the header claims {n} bytes in a file of {size}",
                    source=str(path),
                )
            fh.seek(8)
            raw = fh.read(n)
    except FileNotFoundError:
        raise UserError("file not found", source=str(path)) from None
    except IsADirectoryError:
        raise UserError("is a folder, not a safetensors file", source=str(path)) from None
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    try:
        header = json.loads(raw.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
    except (UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"corrupted safetensors header: {exc}", source=str(path)) from None
    data_size = size - 8 - n
    end = 0
    for key, info in header.items():
        if key == "__metadata__":
            continue
        try:
            start, stop = info["data_offsets"]
            shape = info["shape"]
            ok = 0 <= start <= stop and isinstance(shape, list)
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise UserError(f"corrupted safetensors header: bad entry for tensor {key!r}", source=str(path))
        end = max(end, stop)
    if end != data_size:
        raise UserError(
            f"truncated or corrupted: the header describes {end} bytes of tensor data but the file holds {data_size}",
            source=str(path),
        )
    return header


def read_safetensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors on CPU, metadata) from a safetensors file, with clear errors for broken files."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    header = read_safetensors_header(path)
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise UserError(f"not a readable safetensors file: {exc}", source=str(path)) from None
    meta = header.get("__metadata__") or {}
    return tensors, {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}


def _crc(tensors: dict[str, torch.Tensor]) -> str:
    """CRC-32 of every tensor's bytes in key order: safetensors itself cannot notice flipped data bytes."""
    crc = 0
    for key in sorted(tensors):
        t = tensors[key].detach().to("cpu").contiguous().reshape(-1)
        crc = zlib.crc32(key.encode("utf-8"), crc)
        crc = zlib.crc32(t.view(-1).numpy().view("uint8") if t.numel() else b"", crc)
    return f"{crc:08x}"


def write_safetensors(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> Path:
    """Write atomically (temp file, fsync, rename). A full disk raises OSError and leaves the old file whole:
    during training that fails the run (nn_tui.core.run.runner), it is not a mistake in the user's input."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))


# ---------------------------------------------------------------- what a checkpoint holds


def model_fingerprint(trainer_or_preset: Any) -> dict[str, Any]:
    """What must match between a checkpoint and the preset it is resumed with."""
    preset = getattr(trainer_or_preset, "preset", trainer_or_preset)
    t = preset.training
    return {
        "dataset": preset.data.dataset,
        "layers": [[l.units, l.activation, l.dropout, l.batch_norm] for l in preset.layers],
        "loss": t.loss,
        "optimizer": t.optimizer,
        "scheduler": t.scheduler,
    }


def capture(trainer: Trainer, *, within_epoch: dict[str, Any] | None = None) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The trainer's whole state as (tensors, metadata) for one safetensors file.

    `within_epoch` (from a stop in the middle of an epoch) adds where in the epoch training stopped, so a
    resume continues from that very step.
    """
    import torch

    tensors: dict[str, torch.Tensor] = {}
    for k, v in trainer.model.state_dict().items():
        tensors[f"model.{k}"] = v.detach().to("cpu").contiguous().clone()
    opt = trainer.optimizer.state_dict()
    opt_values: dict[str, dict[str, Any]] = {}
    for idx, state in opt["state"].items():
        values = {}
        for name, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{idx}.{name}"] = value.detach().to("cpu").contiguous().clone()
            else:
                values[name] = value
        opt_values[str(idx)] = values
    tensors["rng.torch"] = torch.get_rng_state()
    if trainer.device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(trainer.device)
    partial = None
    if within_epoch is not None:
        tensors["rng.shuffle"] = within_epoch["shuffle_state"].to("cpu")
        tensors["within_epoch.loss_sum"] = within_epoch["loss_sum"].detach().to("cpu").clone()
        partial = {"epoch": within_epoch["epoch"], "step": within_epoch["step"], "seen": within_epoch["seen"]}
    else:
        tensors["rng.shuffle"] = trainer.generator.get_state().to("cpu")
    state = {
        "epoch": trainer.epoch,
        "global_step": trainer.global_step,
        "final": trainer.final,
        "best": trainer.best,
        "best_val_loss": trainer.best_val_loss,
        "epochs_without_improvement": trainer.epochs_without_improvement,
        "within_epoch": partial,
        "optimizer": {"param_groups": opt["param_groups"], "values": opt_values},
        "scheduler": trainer.scheduler.state_dict() if trainer.scheduler is not None else None,
        "fingerprint": model_fingerprint(trainer),
        "n_features": trainer.data.n_features,
        "seed": trainer.preset.seed,
        "device": str(trainer.device),
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    metadata = {
        "format": FORMAT,
        "version": str(VERSION),
        "epoch": str(trainer.epoch),
        "state": json.dumps(state, default=_json_default),
        "crc32": _crc(tensors),
    }
    return tensors, metadata


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint")


def save_checkpoint(path: str | Path, trainer: Trainer, *, within_epoch: dict[str, Any] | None = None) -> Path:
    tensors, metadata = capture(trainer, within_epoch=within_epoch)
    return write_safetensors(path, tensors, metadata)


@dataclass
class Checkpoint:
    """A training checkpoint read from disk and checked: the CRC matches and the metadata parses."""

    path: Path
    tensors: dict[str, Any]
    state: dict[str, Any]
    epoch: int = field(init=False)

    def __post_init__(self) -> None:
        self.epoch = int(self.state["epoch"])

    @property
    def within_epoch(self) -> dict[str, Any] | None:
        return self.state.get("within_epoch")

    @property
    def model_state(self) -> dict[str, Any]:
        return {k[len("model.") :]: v for k, v in self.tensors.items() if k.startswith("model.")}

    def check_fits(self, preset: Any, model_shapes: dict[str, tuple[int, ...]], *, source: str | None = None) -> None:
        """Raise a clear UserError if this checkpoint cannot continue training `preset`."""
        src = source or str(self.path)
        saved = self.state.get("fingerprint") or {}
        wanted = model_fingerprint(preset)
        for key in ("dataset", "loss", "optimizer", "scheduler"):
            if key in saved and saved[key] != wanted[key]:
                raise UserError(
                    f"the checkpoint was trained with {key} {saved[key]!r} but the preset says {wanted[key]!r}; "
                    "a run can only be resumed with the preset it started with",
                    source=src,
                )
        found = {k: tuple(v.shape) for k, v in self.model_state.items()}
        if found != model_shapes:
            diffs = [
                f"{k}: {list(found[k])} in the checkpoint, {list(model_shapes[k])} for the preset"
                for k in model_shapes
                if k in found and found[k] != model_shapes[k]
            ]
            missing = sorted(set(model_shapes) - set(found))
            extra = sorted(set(found) - set(model_shapes))
            detail = "; ".join(
                diffs[:3]
                + ([f"missing {', '.join(missing[:4])}"] if missing else [])
                + ([f"unexpected {', '.join(extra[:4])}"] if extra else [])
            )
            raise UserError(
                f"the checkpoint's weights do not fit the preset's network ({detail}); "
                "was the run folder's preset.toml edited, or the checkpoint copied from another run?",
                source=src,
            )
        if saved.get("layers") is not None and saved["layers"] != wanted["layers"]:
            raise UserError(
                "the checkpoint's hidden layers (activation, dropout or batch norm) differ from the preset's; "
                "a run can only be resumed with the preset it started with",
                source=src,
            )
        # Optimizer state tensors must have their parameter's shape (fused kernels would fail far later).
        param_shapes = [s for k, s in model_shapes.items() if not _is_buffer(k)]
        for key, tensor in self.tensors.items():
            if not key.startswith("optimizer."):
                continue
            _, idx, name = key.split(".", 2)
            if tensor.ndim == 0:
                continue
            if not idx.isdigit() or int(idx) >= len(param_shapes) or tuple(tensor.shape) != param_shapes[int(idx)]:
                raise UserError(
                    f"the checkpoint's optimizer state {name!r} for parameter {idx} does not fit the network",
                    source=src,
                )

    def restore(self, trainer: Trainer) -> None:
        """Put the saved state into a freshly built Trainer for the same preset (after check_fits)."""
        import torch

        s = self.state
        trainer.model.load_state_dict(self.model_state)
        good, live = getattr(trainer, "_good_state", None), getattr(trainer, "_live_state", None)
        if good is not None and live is not None:  # the diverged-run fallback starts from the restored weights
            for g, l in zip(good, live):
                g.copy_(l)
        opt_state: dict[int, dict[str, Any]] = {}
        for idx, values in s["optimizer"]["values"].items():
            opt_state[int(idx)] = dict(values)
        for key, tensor in self.tensors.items():
            if key.startswith("optimizer."):
                _, idx, name = key.split(".", 2)
                opt_state.setdefault(int(idx), {})[name] = tensor
        groups = s["optimizer"]["param_groups"]
        current = trainer.optimizer.state_dict()["param_groups"]
        for g, cur in zip(groups, current):
            for k, v in cur.items():  # keep types torch expects (tuples) and anything newer torch added
                if isinstance(v, tuple) and isinstance(g.get(k), list):
                    g[k] = tuple(g[k])
                g.setdefault(k, v)
        trainer.optimizer.load_state_dict({"state": opt_state, "param_groups": groups})
        if trainer.scheduler is not None and s.get("scheduler") is not None:
            sched = dict(s["scheduler"])
            now = trainer.scheduler.state_dict()
            for k in SCHEDULER_HORIZON_KEYS:
                if k in now:
                    sched[k] = now[k]
            trainer.scheduler.load_state_dict(sched)
        torch.set_rng_state(self.tensors["rng.torch"])
        if trainer.device.type == "cuda" and "rng.cuda" in self.tensors:
            torch.cuda.set_rng_state(self.tensors["rng.cuda"], trainer.device)
        try:
            trainer.generator.set_state(self.tensors["rng.shuffle"])
        except RuntimeError:  # a generator of another device type (resumed on a different device)
            pass
        trainer.epoch = int(s["epoch"])
        trainer.global_step = int(s["global_step"])
        trainer.final = dict(s["final"])
        trainer.best = dict(s["best"])
        trainer.best_val_loss = float(s["best_val_loss"])
        trainer.epochs_without_improvement = int(s["epochs_without_improvement"])
        part = s.get("within_epoch")
        if part is not None:
            trainer.resume_within_epoch = {
                "epoch": int(part["epoch"]),
                "step": int(part["step"]),
                "seen": int(part["seen"]),
                "loss_sum": self.tensors["within_epoch.loss_sum"].to(trainer.device),
            }


def _is_buffer(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked")


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read and verify a training checkpoint (format, CRC, metadata). Raises UserError for anything broken."""
    path = Path(path)
    tensors, meta = read_safetensors(path)
    if meta.get("format") != FORMAT:
        raise UserError(
            "not an nn-tui training checkpoint (safetensors without nn-tui's metadata; "
            "weights alone cannot continue training)",
            source=str(path),
        )
    try:
        version = int(meta.get("version", "0"))
    except ValueError:
        version = -1
    if version != VERSION:
        raise UserError(f"checkpoint format version {meta.get('version')!r}; this nn-tui reads version {VERSION}", source=str(path))
    if meta.get("crc32") != _crc(tensors):
        raise UserError("corrupted: the checkpoint's tensor data does not match its checksum", source=str(path))
    try:
        state = json.loads(meta["state"])
        required = ("epoch", "global_step", "final", "best", "best_val_loss", "epochs_without_improvement", "optimizer")
        missing = [k for k in required if k not in state]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        int(state["epoch"])
        if "rng.torch" not in tensors or "rng.shuffle" not in tensors:
            raise ValueError("missing random generator state")
        if state.get("within_epoch") is not None and "within_epoch.loss_sum" not in tensors:
            raise ValueError("missing the stopped epoch's running loss")
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"corrupted checkpoint metadata: {exc}", source=str(path)) from None
    return Checkpoint(path, tensors, state)


# ---------------------------------------------------------------- writing during a run


class Checkpointer:
    """Writes `last` every `every` epochs (spaced by `min_interval` s and MAX_TIME_SHARE) and `best` with it.

    Called from the training thread at the end of each epoch (after the metrics row is written, so a
    checkpoint never runs ahead of metrics.csv) and once when the run ends.
    """

    def __init__(self, run_dir: str | Path, trainer: Trainer, *, every: int, min_interval: float | None = None):
        self.dir = checkpoint_dir(run_dir)
        self.trainer = trainer
        self.every = every
        self.min_interval = MIN_INTERVAL_SECONDS if min_interval is None else min_interval
        self.last_written_epoch: int | None = None
        self._last_write = -math.inf
        self._last_cost = 0.0
        self._best_buffers: list[Any] | None = None
        self._best_epoch: int | None = None
        self._best_written_epoch: int | None = None
        self.writes = 0
        self.write_seconds = 0.0

    @property
    def last_path(self) -> Path:
        return self.dir / LAST_FILE

    @property
    def best_path(self) -> Path:
        return self.dir / BEST_FILE

    def prepare(self) -> None:
        """Create checkpoints/ and prove it is writable before training starts."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the checkpoint folder: {exc.strerror or exc}", source=str(self.dir)) from None

    def remember_best(self, epoch: int) -> None:
        """Keep a device-side copy of the weights of the new best epoch (no host sync, no disk)."""
        if self._best_buffers is None:
            import torch

            # The model's own tensors (updated in place by training and by load_state_dict), looked up once.
            self._live = getattr(self.trainer, "state_tensors", None) or list(self.trainer.model.state_dict().values())
            self._best_buffers = [t.detach().clone() for t in self._live]
            self._copy = torch._foreach_copy_  # one call: this runs on most epochs of a tiny run
        else:
            self._copy(self._best_buffers, self._live)
        self._best_epoch = epoch

    def on_epoch_end(self, epoch: int) -> None:
        trainer = self.trainer
        if trainer.best.get("epoch") == epoch:
            self.remember_best(epoch)
        if self.every <= 0 or epoch % self.every:
            return
        if time.perf_counter() - self._last_write < max(self.min_interval, self._last_cost / MAX_TIME_SHARE):
            return
        self.write()

    def write(self, *, within_epoch: dict[str, Any] | None = None) -> None:
        t0 = time.perf_counter()
        save_checkpoint(self.last_path, self.trainer, within_epoch=within_epoch)
        self.last_written_epoch = self.trainer.epoch
        self.write_best()
        self._last_write = time.perf_counter()
        self._last_cost = self._last_write - t0
        self.writes += 1
        self.write_seconds += self._last_cost

    def write_best(self) -> None:
        if self._best_buffers is None or self._best_epoch == self._best_written_epoch:
            return
        keys = list(self.trainer.model.state_dict().keys())
        tensors = {k: b.detach().to("cpu").contiguous() for k, b in zip(keys, self._best_buffers)}
        best = self.trainer.best
        meta = {"epoch": str(self._best_epoch), "val_loss": repr(best.get("val_loss")), "preset": self.trainer.preset.name}
        write_safetensors(self.best_path, tensors, meta)
        self._best_written_epoch = self._best_epoch

    def finish(self, status: str, *, consistent: bool = True) -> None:
        """The checkpoint at the end of a run. Skipped when the state is not whole (a hard interrupt)
        or not worth continuing from (diverged: its optimizer state holds the NaNs)."""
        if not consistent or status in ("diverged", "failed"):
            self.write_best()
            return
        within = getattr(self.trainer, "stopped_within_epoch", None) if status == "stopped" else None
        self.write(within_epoch=within)
