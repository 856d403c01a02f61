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
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nn_tui.core.errors import UserError
from nn_tui.core.fileio import atomic_write_safetensors
from nn_tui.core.safetensors_io import read_safetensors, read_safetensors_header  # noqa: F401 - re-exported
from nn_tui.core.training.callbacks import Callback
from nn_tui.core.training.state import TrainState

if TYPE_CHECKING:
    import torch

    from nn_tui.core.training.events import EpochBlock, EpochEnd

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


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR


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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_safetensors(path, tensors, metadata)


# ---------------------------------------------------------------- what a checkpoint holds


def model_fingerprint(preset: Any) -> dict[str, Any]:
    """What must match between a checkpoint and the preset it is resumed with."""
    t = preset.training
    return {
        "dataset": preset.data.dataset,
        "layers": [[l.units, l.activation, l.dropout, l.batch_norm] for l in preset.layers],
        "loss": t.loss,
        "optimizer": t.optimizer,
        "scheduler": t.scheduler,
    }


def capture(
    state: TrainState, callbacks: dict[str, Any] | None = None, definition: dict[str, Any] | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """A TrainState (and the callbacks' saved states) as (tensors, metadata) for one safetensors file.

    A state stopped in the middle of an epoch also holds where in the epoch it stopped, so a resume
    continues from that very step. `definition` (nn_tui.core.run.fingerprint.run_definition) records the
    preset and data the run trains on, so a resume can refuse changed ones.
    """
    import torch

    sd = state.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    for k, v in sd["model"].items():
        tensors[f"model.{k}"] = v.detach().to("cpu").contiguous().clone()
    opt = sd["optimizer"]
    opt_values: dict[str, dict[str, Any]] = {}
    for idx, values_in in opt["state"].items():
        values = {}
        for name, value in values_in.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{idx}.{name}"] = value.detach().to("cpu").contiguous().clone()
            else:
                values[name] = value
        opt_values[str(idx)] = values
    tensors["rng.torch"] = sd["rng"]["torch"]
    if "cuda" in sd["rng"]:
        tensors["rng.cuda"] = sd["rng"]["cuda"]
    tensors["rng.shuffle"] = sd["rng"]["shuffle"].to("cpu")
    partial = sd["within_epoch"]
    if partial is not None:
        tensors["within_epoch.loss_sum"] = partial["loss_sum"].detach().to("cpu").clone()
        partial = {k: partial[k] for k in ("epoch", "step", "seen")}
    saved = {
        "epoch": sd["epoch"],
        "global_step": sd["global_step"],
        "final": sd["final"],
        "best": sd["best"],
        "best_val_loss": sd["best_val_loss"],
        "epochs_without_improvement": sd["epochs_without_improvement"],
        "l1": sd.get("l1", 0.0),
        "within_epoch": partial,
        "optimizer": {"param_groups": opt["param_groups"], "values": opt_values},
        "scheduler": sd["scheduler"],
        "fingerprint": model_fingerprint(state.preset),
        "definition": definition,
        "n_features": state.data.n_features,
        "seed": state.preset.seed,
        "device": str(state.device),
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if callbacks:
        saved["callbacks"] = callbacks
    metadata = {
        "format": FORMAT,
        "version": str(VERSION),
        "epoch": str(sd["epoch"]),
        "state": json.dumps(saved, default=_json_default),
        "crc32": _crc(tensors),
    }
    return tensors, metadata


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint")


def save_checkpoint(
    path: str | Path, state: TrainState, callbacks: dict[str, Any] | None = None, definition: dict[str, Any] | None = None
) -> Path:
    tensors, metadata = capture(state, callbacks, definition)
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

    def train_state(self) -> dict[str, Any]:
        """The saved TrainState, in the form TrainState.load_state_dict takes (after check_fits)."""
        s = self.state
        opt_state: dict[int, dict[str, Any]] = {}
        for idx, values in s["optimizer"]["values"].items():
            opt_state[int(idx)] = dict(values)
        for key, tensor in self.tensors.items():
            if key.startswith("optimizer."):
                _, idx, name = key.split(".", 2)
                opt_state.setdefault(int(idx), {})[name] = tensor
        rng = {"torch": self.tensors["rng.torch"], "shuffle": self.tensors["rng.shuffle"]}
        if "rng.cuda" in self.tensors:
            rng["cuda"] = self.tensors["rng.cuda"]
        part = s.get("within_epoch")
        return {
            "model": self.model_state,
            "optimizer": {"state": opt_state, "param_groups": s["optimizer"]["param_groups"]},
            "scheduler": s.get("scheduler"),
            "rng": rng,
            **{k: s[k] for k in ("epoch", "global_step", "final", "best", "best_val_loss", "epochs_without_improvement")},
            "l1": s.get("l1"),
            "within_epoch": None if part is None else {**part, "loss_sum": self.tensors["within_epoch.loss_sum"]},
        }

    @property
    def callback_states(self) -> dict[str, Any]:
        return dict(self.state.get("callbacks") or {})


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


class Checkpointer(Callback):
    """Writes `last` every `every` epochs (spaced by `min_interval` s and MAX_TIME_SHARE) and `best` with it.

    A callback: at the end of each epoch (after the metrics row is written, so a checkpoint never runs ahead
    of metrics.csv). The run calls `finish` once when it ends. `extra_state` gives the other callbacks' saved
    states, written into every checkpoint with the TrainState.
    """

    def __init__(
        self,
        run_dir: str | Path,
        state: TrainState,
        *,
        every: int,
        min_interval: float | None = None,
        extra_state: Callable[[], dict[str, Any]] | None = None,
        before_write: Callable[[], None] | None = None,
    ):
        self.dir = checkpoint_dir(run_dir)
        self.state = state
        self.every = every
        self.min_interval = MIN_INTERVAL_SECONDS if min_interval is None else min_interval
        self.extra_state = extra_state or dict
        self.before_write = before_write  # the metrics rows still waiting go to disk first
        self.last_written_epoch: int | None = None
        self._last_write = -math.inf
        self._last_cost = 0.0
        self._best_buffers: list[Any] | None = None
        self._best_epoch: int | None = None
        self._best_written_epoch: int | None = None
        self.writes = 0
        self.write_seconds = 0.0
        self._definition: dict[str, Any] | None = None
        self._shared_best = False

    @property
    def definition(self) -> dict[str, Any]:
        """What defines the run (its resolved preset and a fingerprint of its data), recorded in every
        checkpoint and in model.safetensors. Computed once, when first needed: hashing the data is not free."""
        if self._definition is None:
            from nn_tui.core.run.fingerprint import run_definition

            self._definition = run_definition(self.state.preset, self.state.data)
        return self._definition

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

    def share_best(self, buffers: list[Any]) -> None:
        """For a driver that keeps each epoch's best weights itself, updated before the epoch's event (several
        runs trained together: nn_tui.core.run.together): `remember_best` then only notes the epoch."""
        self._best_buffers = buffers
        self._shared_best = True

    def remember_best(self, epoch: int) -> None:
        """Keep a device-side copy of the weights of the new best epoch (no host sync, no disk)."""
        if self._shared_best:
            pass
        elif self._best_buffers is None:
            import torch

            # The model's own tensors (updated in place by training and by load_state_dict), looked up once.
            self._live = list(self.state.model.state_dict().values())
            self._best_buffers = [t.detach().clone() for t in self._live]
            self._copy = torch._foreach_copy_  # one call: this runs on most epochs of a tiny run
        else:
            self._copy(self._best_buffers, self._live)
        self._best_epoch = epoch

    def on_epoch_end(self, state: TrainState, event: EpochEnd) -> None:
        epoch = event.epoch
        if state.best.get("epoch") == epoch:
            self.remember_best(epoch)
        if self.every > 0 and epoch % self.every == 0 and self._spaced():
            self.write()

    def _spaced(self) -> bool:
        """Long enough since the last write (min_interval, and writing takes at most MAX_TIME_SHARE of the time)."""
        return time.perf_counter() - self._last_write >= max(self.min_interval, self._last_cost / MAX_TIME_SHARE)

    def on_epoch_block(self, state: TrainState, block: EpochBlock) -> None:
        """Several epochs at once (a run trained in a group, whose driver keeps the best weights: share_best).
        A checkpoint is due when the block passed a multiple of `every`; it holds the block's last epoch."""
        best = state.best.get("epoch")
        if best is not None and best >= block.first:
            self.remember_best(best)
        if self.every > 0 and block.last // self.every > (block.first - 1) // self.every and self._spaced():
            self.write()

    def write(self) -> None:
        t0 = time.perf_counter()
        if self.before_write is not None:
            self.before_write()
        save_checkpoint(self.last_path, self.state, self.extra_state(), self.definition)
        self.last_written_epoch = self.state.epoch
        self.write_best()
        self._last_write = time.perf_counter()
        self._last_cost = self._last_write - t0
        self.writes += 1
        self.write_seconds += self._last_cost

    def write_best(self) -> None:
        if self._best_buffers is None or self._best_epoch == self._best_written_epoch:
            return
        keys = list(self.state.model.state_dict().keys())
        tensors = {k: b.detach().to("cpu").contiguous() for k, b in zip(keys, self._best_buffers)}
        best = self.state.best
        meta = {"epoch": str(self._best_epoch), "val_loss": repr(best.get("val_loss")), "preset": self.state.preset.name}
        write_safetensors(self.best_path, tensors, meta)
        self._best_written_epoch = self._best_epoch

    def finish(self, status: str, *, consistent: bool = True) -> None:
        """The checkpoint at the end of a run. Skipped when the state is not whole (a hard interrupt)
        or not worth continuing from (diverged: its optimizer state holds the NaNs). A stopped run's state
        says where in the epoch it stopped."""
        if not consistent or status in ("diverged", "failed"):
            self.write_best()
            return
        self.write()
