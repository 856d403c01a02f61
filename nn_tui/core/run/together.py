"""Several prepared runs trained together as one stacked model (nn_tui.core.training.batched), each writing its
own ordinary run folder: metrics.csv, checkpoints, model.safetensors and summary.json, as if trained alone."""

from __future__ import annotations

from nn_tui.core.run.runner import Run
from nn_tui.core.training.events import RunFinished


WRITER_THREADS = 4  # runs of a group writing their final files at once


def global_rng_state(device):
    """torch's generator that nn.Dropout draws from on this device, as it stands now."""
    import torch

    if device.type == "cuda":
        return torch.cuda.get_rng_state(device)
    return torch.get_rng_state()


def set_global_rng_state(device, state) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.set_rng_state(state, device)
    else:
        torch.set_rng_state(state)


def execute_together(runs: list[Run]) -> list[RunFinished]:
    """Train the runs as one group (they must share a `batch_key`). A run that cannot start fails alone; a failure
    of the group's training fails every run in it. Runs resumed from different points (epoch, step) train in one
    group per point, a run alone at its point by its own trainer. Never raises for a training error, like
    `Run.execute`."""
    from nn_tui.core.training.batched import start_point

    results: list[RunFinished | None] = [None] * len(runs)
    by_point: dict[tuple, list[tuple[int, object, object]]] = {}
    for i, run in enumerate(runs):
        try:
            trainer = run.begin()
        except Exception as exc:  # noqa: BLE001 - this run fails; the others train
            results[i] = run.fail(exc)
            continue
        # Right after this run's trainer seeded and built its model (or restored its generators): where its
        # dropout masks would start.
        by_point.setdefault(start_point(trainer.state), []).append((i, trainer, global_rng_state(trainer.device)))
    for members in by_point.values():
        started = [i for i, _, _ in members]
        try:
            if len(members) == 1:
                set_global_rng_state(members[0][1].device, members[0][2])  # its dropout stream, as alone
                finished = [members[0][1].run()]
            else:
                finished = train_group(runs, started, [t for _, t, _ in members], [r for _, _, r in members])
        except Exception as exc:  # noqa: BLE001 - reported as failed runs, with the traceback kept
            for i in started:
                results[i] = runs[i].fail(exc)
        else:
            for i, f in zip(started, end_all([runs[i] for i in started], finished)):
                results[i] = f
    return results  # type: ignore[return-value]


def train_group(runs: list[Run], which: list[int], trainers: list, rngs: list) -> list[RunFinished]:
    """Train runs[which] (their trainers ready) as one group, then what it hands over (the trials still training
    once half have left) as a smaller group, and so on. Returns their RunFinished, in order."""
    from nn_tui.core.training.batched import BatchedTrainer

    order = list(which)
    finished: dict[int, RunFinished] = {}
    group = BatchedTrainer(trainers, rngs)
    while True:
        for k, i in enumerate(which):
            if runs[i].checkpoints is not None:
                runs[i].checkpoints.share_best(group.best_views(k))
        for i, f in zip(which, group.run()):
            if f is not None:
                finished[i] = f
        if not group.handed_over:
            break
        keep = group.handed_over
        which = [which[k] for k in keep]
        group = BatchedTrainer([group.trainers[k] for k in keep], [group.dropout_gens[k].get_state() for k in keep],
                               best=[group.best_row(k) for k in keep], continuing=True)
    return [finished[i] for i in order]


def end_all(runs: list[Run], finished: list[RunFinished]) -> list[RunFinished]:
    """Run.end for each run: the folders' final files written side by side on a few threads (it is mostly
    waiting for the disk: fsync, safetensors), then the end events in order on this thread."""
    if len(runs) == 1:
        return [runs[0].end(finished[0])]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(WRITER_THREADS, len(runs)), thread_name_prefix="nn-tui-end") as pool:
        written = list(pool.map(lambda rf: rf[0].write_results(rf[1]), zip(runs, finished)))
    return [run.announce(f) for run, f in zip(runs, written)]
