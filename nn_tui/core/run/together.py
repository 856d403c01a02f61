"""Several prepared runs trained together as one stacked model (nn_tui.core.training.batched), each writing its
own ordinary run folder: metrics.csv, checkpoints, model.safetensors and summary.json, as if trained alone."""

from __future__ import annotations

from nn_tui.core.run.runner import Run
from nn_tui.core.training.events import RunFinished


def global_rng_state(device):
    """torch's generator that nn.Dropout draws from on this device, as it stands now."""
    import torch

    if device.type == "cuda":
        return torch.cuda.get_rng_state(device)
    return torch.get_rng_state()


def execute_together(runs: list[Run]) -> list[RunFinished]:
    """Train the runs as one group (they must share a `batch_key`). A run that cannot start fails alone; a failure
    of the group's training fails every run in it. Never raises for a training error, like `Run.execute`."""
    from nn_tui.core.training.batched import BatchedTrainer

    results: list[RunFinished | None] = [None] * len(runs)
    started, trainers, rngs = [], [], []
    for i, run in enumerate(runs):
        try:
            trainer = run.begin()
        except Exception as exc:  # noqa: BLE001 - this run fails; the others train
            results[i] = run.fail(exc)
            continue
        # Right after this run's trainer seeded and built its model: where its dropout masks would start.
        rngs.append(global_rng_state(trainer.device))
        trainers.append(trainer)
        started.append(i)
    if trainers:
        try:
            group = BatchedTrainer(trainers, rngs)
            for k, i in enumerate(started):
                if runs[i].checkpoints is not None:
                    runs[i].checkpoints.share_best(group.best_views(k))
            finished = group.run()
        except Exception as exc:  # noqa: BLE001 - reported as failed runs, with the traceback kept
            for i in started:
                results[i] = runs[i].fail(exc)
        else:
            for i, f in zip(started, finished):
                results[i] = runs[i].end(f)
    return results  # type: ignore[return-value]
