"""How the app trains: a function run on a worker thread. The real one calls the core `Run`; tests pass a fake.

A trainer function takes the preset and returns the RunFinished, reporting through `on_event` and
`on_snapshot` (which only hand over) and obeying `control` (stop / pause / step one epoch).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from nn_tui.core.preset import Preset
from nn_tui.core.training.events import Event, RunFinished, TrainerControl

if TYPE_CHECKING:
    from nn_tui.core.inspection.insight import InsightSnapshot


class TrainerFunction(Protocol):
    def __call__(
        self,
        preset: Preset,
        *,
        out_dir: str | Path,
        on_event: Callable[[Event], None],
        on_snapshot: Callable[[InsightSnapshot], None],
        control: TrainerControl,
        resume_dir: str | Path | None = None,
    ) -> RunFinished: ...


def train_with_torch(
    preset: Preset,
    *,
    out_dir: str | Path,
    on_event: Callable[[Event], None],
    on_snapshot: Callable[[InsightSnapshot], None],
    control: TrainerControl,
    resume_dir: str | Path | None = None,
) -> RunFinished:
    """The real trainer: the same `Run` as `nn-tui run`, so the app writes the same run directory; with
    `resume_dir`, it continues that run in its own folder from its last checkpoint, as `nn-tui run --resume`
    does (a UserError explains a run that cannot continue). Snapshots of the network for the Inside tab go
    to `on_snapshot`, twice a second at most.

    Imports torch (via the core) on the calling thread, never on the UI thread.
    """
    from nn_tui.core.inspection.insight import InsightSampler
    from nn_tui.core.run.resume import resume_run
    from nn_tui.core.run.runner import Run, prepare_run
    from nn_tui.core.training.callbacks import EventCallback

    from nn_tui.core.inspection.landscape import ParameterPath

    path = ParameterPath()  # before the sampler, so each snapshot has the path up to its epoch
    callbacks = [EventCallback(on_event), path, InsightSampler(on_snapshot, path=path)]
    if resume_dir is not None:
        run = resume_run(resume_dir, callbacks=callbacks, control=control, progress_interval=0.25)
    else:
        run = Run(prepare_run(preset, source="app"), out_dir=out_dir, callbacks=callbacks, control=control,
                  progress_interval=0.25)
    return run.execute()


def warm_up_torch() -> list[str]:
    """Get PyTorch ready ahead of the first Train; returns the devices a user can pick.

    Importing torch takes seconds, and the first training step lazily imports as much again
    (optimizer and autograd internals), so a one-epoch run on the 4-row XOR table does both
    here, writing nothing. Then the objects all that created are frozen out of the garbage
    collector: a full collection over them took 300-800 ms, a visible stall in the app.
    """
    import gc

    from nn_tui.core.model.device import cuda_device_choices
    from nn_tui.core.preset import DataSpec, LayerSpec, Preset, TrainingSpec
    from nn_tui.core.run.runner import train_preset

    devices = cuda_device_choices()
    warm = Preset("warm-up", DataSpec("xor", batch_size=0), [LayerSpec(2)], TrainingSpec(epochs=1))
    train_preset(warm, out_dir=None)
    gc.freeze()
    return devices
