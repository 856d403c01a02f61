"""Continue a stopped, killed or finished run in its own folder: `nn-tui run --resume RUN_DIR` and the app.

The run folder's preset.toml says what to train; checkpoints/last.safetensors says where training was.
Everything is checked before anything in the folder is touched, so a refused resume changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from nn_tui.core.run.checkpoint import LAST_FILE, Checkpoint, checkpoint_dir, load_checkpoint
from nn_tui.core.errors import UserError
from nn_tui.core.training.callbacks import Callback
from nn_tui.core.training.events import Event, TrainerControl
from nn_tui.core.preset import load_preset
from nn_tui.core.preset.overrides import option_overrides
from nn_tui.core.run.runner import PreparedRun, Run, prepare_run
from nn_tui.core.run.rundir import PRESET_FILE, SUMMARY_FILE, RunDir, check_run_folder


def model_shapes(prepared) -> dict[str, tuple[int, ...]]:
    """The state-dict shapes of the preset's network, built on the meta device (no memory)."""
    import torch

    from nn_tui.core.model.build import build_model

    with torch.device("meta"):
        model = build_model(prepared.data.n_features, prepared.preset.layers, prepared.n_out)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@dataclass
class ResumePlan:
    """A run folder checked and ready to continue: its prepared preset, its folder and its last checkpoint
    (None when it was killed before writing one: training starts over in the same folder)."""

    prepared: PreparedRun
    run_dir: RunDir
    checkpoint: Checkpoint | None

    def run(
        self,
        *,
        callbacks: Iterable[Callback] = (),
        on_event: Callable[[Event], None] | None = None,
        control: TrainerControl | None = None,
        progress_interval: float = 0.25,
    ) -> Run:
        return Run(
            self.prepared,
            run_dir=self.run_dir,
            callbacks=callbacks,
            on_event=on_event,
            control=control,
            resume_from=self.checkpoint,
            progress_interval=progress_interval,
        )


def prepare_resume(
    run_dir: str | Path, *, epochs: int | None = None, device: str | None = None, threads: int | None = None
) -> ResumePlan:
    """Check `run_dir` for continuing to the preset's epochs (or `epochs`). Raises UserError, before changing
    anything, when the folder, its preset or its checkpoint is missing, broken, or does not fit."""
    path = check_run_folder(run_dir)
    source = str(path)
    preset = load_preset(path / PRESET_FILE, option_overrides(epochs=epochs, device=device, threads=threads))
    ckpt_path = checkpoint_dir(path) / LAST_FILE
    checkpoint: Checkpoint | None = load_checkpoint(ckpt_path) if ckpt_path.exists() else None
    total = preset.training.epochs
    if checkpoint is not None and checkpoint.epoch >= total:
        status = _status(path)
        raise UserError(
            f"the run has already trained {checkpoint.epoch} of {total} epochs"
            + (f" (status {status})" if status else "")
            + "; pass --epochs N with N above that to train further",
            source=source,
        )
    prepared = prepare_run(preset, source=str(path / PRESET_FILE))
    if checkpoint is not None:
        checkpoint.check_fits(prepared.preset, model_shapes(prepared), source=str(ckpt_path))
    run_folder = RunDir.open_existing(path)
    remove_stale_temp_files(path)
    return ResumePlan(prepared, run_folder, checkpoint)


def resume_run(
    run_dir: str | Path,
    *,
    epochs: int | None = None,
    device: str | None = None,
    threads: int | None = None,
    callbacks: Iterable[Callback] = (),
    on_event: Callable[[Event], None] | None = None,
    control: TrainerControl | None = None,
    progress_interval: float = 0.25,
) -> Run:
    """A Run that continues `run_dir` from its last checkpoint (see prepare_resume); call `.execute()` on it."""
    plan = prepare_resume(run_dir, epochs=epochs, device=device, threads=threads)
    return plan.run(callbacks=callbacks, on_event=on_event, control=control, progress_interval=progress_interval)


def remove_stale_temp_files(path: Path) -> None:
    """Temp files of atomic writes cut short by a kill (`.NAME.xxxx.tmp`); the files they were for are whole."""
    for folder in (path, checkpoint_dir(path)):
        for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
            try:
                tmp.unlink()
            except OSError:
                pass


def _status(path: Path) -> str | None:
    try:
        return json.loads((path / SUMMARY_FILE).read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        return None
