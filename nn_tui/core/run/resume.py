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
from nn_tui.core.datasets import metric_for
from nn_tui.core.errors import UserError
from nn_tui.core.training.callbacks import Callback
from nn_tui.core.training.events import Event, TrainerControl
from nn_tui.core.preset import load_preset
from nn_tui.core.preset.overrides import option_overrides
from nn_tui.core.run.runner import PreparedRun, Run, prepare_run
from nn_tui.core.run.rundir import (
    METRICS_FILE,
    PRESET_FILE,
    SUMMARY_FILE,
    RunDir,
    check_metrics_header,
    check_run_folder,
    metrics_columns,
)


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
        check_same_inputs(checkpoint, prepared, source=source)
        checkpoint.check_fits(prepared.preset, model_shapes(prepared), source=str(ckpt_path))
    check_metrics_header(path / METRICS_FILE, metrics_columns(metric_for(prepared.data.task)))
    return ResumePlan(prepared, RunDir.open_existing(path), checkpoint)  # opening it removes stale temp files


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


def check_same_inputs(checkpoint: Checkpoint, prepared, *, source: str) -> None:
    """Refuse to continue a run whose preset or data changed since its checkpoint: the epochs already run
    would be reported as trained with settings they never saw. Checkpoints from before definitions were
    recorded are let through (the older checks in Checkpoint.check_fits still apply)."""
    from nn_tui.core.run.fingerprint import definition_changes, run_definition

    saved = checkpoint.state.get("definition")
    if not isinstance(saved, dict):
        return
    changes = definition_changes(saved, run_definition(prepared.preset, prepared.data))
    if changes:
        raise UserError(
            f"the run's inputs changed since its checkpoint at epoch {checkpoint.epoch}: {'; '.join(changes[:6])}"
            + (f" (and {len(changes) - 6} more)" if len(changes) > 6 else "")
            + f"; a run resumes only with the preset and data it started with; start a new run from {PRESET_FILE} instead",
            source=source,
        )


def _status(path: Path) -> str | None:
    try:
        return json.loads((path / SUMMARY_FILE).read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        return None
