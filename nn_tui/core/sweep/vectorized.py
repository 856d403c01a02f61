"""Vectorised sweeps: the trials that can train together (same data, architecture, loss and optimizer family; see
nn_tui.core.training.grouping.batch_key) go to a worker as one group and are trained as one stacked model, each
into its own ordinary run folder. Groups are cut to fit memory and spread over the workers."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from nn_tui.core.sweep.study import TrialTask
from nn_tui.core.sweep.trial import TrialResult, TrialWatcher, optuna_reporter, trial_run

MODES = ("auto", "on", "off")
MEMORY_SHARE = 0.5  # a group may use at most this share of the memory available when it starts


def wanted(mode: str, method: str) -> bool:
    """auto: only where asking every trial up front changes nothing (grid and random, not TPE, which learns
    from the trials before); on: always; off: never."""
    return mode == "on" or (mode == "auto" and method in ("grid", "random"))


def group_tasks(tasks: list[TrialTask], workers: int) -> list[list[TrialTask]]:
    """Trials that share a batch key, in groups (at least 2 to a group), spread evenly over the workers;
    the rest one to a list."""
    from nn_tui.core.training.grouping import batch_key

    keyed: dict[tuple, list[TrialTask]] = {}
    alone: list[list[TrialTask]] = []
    for task in tasks:
        key = batch_key(task.preset)
        if key is None:
            alone.append([task])
        else:
            keyed.setdefault(key, []).append(task)
    groups: list[list[TrialTask]] = []
    for members in keyed.values():
        parts = max(1, min(workers, len(members) // 2))
        size = math.ceil(len(members) / parts)
        groups.extend(members[i : i + size] for i in range(0, len(members), size))
    return groups + alone


def submit_groups(runner, pool, workers: int) -> int:
    """Ask for every remaining trial now and hand them to the pool in groups. Returns how many were asked."""
    p = runner.plan
    tasks = [runner.next_task() for _ in range(max(0, p.total - runner.done))]
    for group in group_tasks(tasks, workers):
        pool.submit_group(group) if len(group) > 1 else pool.submit(group[0])
    return len(tasks)


def memory_budget(device: str) -> int:
    from nn_tui.core.run.limits import available_memory

    if device.startswith("cuda"):
        import torch

        return int(torch.cuda.mem_get_info(torch.device(device))[0] * MEMORY_SHARE)
    return int(available_memory() * MEMORY_SHARE)


def fitting_chunks(prepared: list, budget: int) -> list[list[int]]:
    """Indices of the runs cut into groups of one data shape each, small enough for the memory budget."""
    from nn_tui.core.training.grouping import estimate_bytes

    by_shape: dict[tuple, list[int]] = {}
    for i, p in enumerate(prepared):
        by_shape.setdefault((p.data.X_train.shape, p.data.X_test.shape, p.n_out, p.parameters), []).append(i)
    chunks = []
    for members in by_shape.values():
        p = prepared[members[0]]
        rows = len(p.data.X_train)
        batch = rows if p.preset.data.batch_size == 0 else min(rows, p.preset.data.batch_size)
        units = max([layer.units for layer in p.preset.layers] + [p.n_out])
        one = estimate_bytes(p.parameters, max(rows, len(p.data.X_test)), batch, units, 1, False, p.data.n_features)
        size = max(1, min(len(members), budget // max(one, 1)))
        chunks.extend(members[i : i + size] for i in range(0, len(members), size))
    return chunks


def run_group(tasks: list[TrialTask], *, should_stop: Callable[[], bool] = lambda: False,
              on_start: Callable[[int, str], None] | None = None,
              on_epoch: Callable[[int, int, int, float], None] | None = None,
              report: str | None = "optuna") -> list[TrialResult]:
    """Train a group of trials together (as many at once as fit in memory). Never raises for a trial's failure."""
    from nn_tui.core.run.together import execute_together
    from nn_tui.core.training import TrainerControl

    t0 = time.perf_counter()
    results: dict[int, TrialResult] = {}
    ready: list[tuple[TrialTask, object, TrialWatcher]] = []
    for task in tasks:
        try:
            control = TrainerControl()
            epoch_hook = None if on_epoch is None else (lambda e, es, v, n=task.number: on_epoch(n, e, es, v))
            watcher = TrialWatcher(task, control, should_stop=should_stop, on_epoch=epoch_hook,
                                   report=optuna_reporter(task) if report == "optuna" else None)
            run = trial_run(task, watcher, control)
        except Exception as exc:  # noqa: BLE001 - one broken trial must not end the others
            results[task.number] = TrialResult(task.number, "failed", None, 0, time.perf_counter() - t0, 0.0, None,
                                               f"{type(exc).__name__}: {exc}")
            continue
        if on_start is not None and run.run_dir is not None:
            on_start(task.number, str(run.run_dir.path))
        ready.append((task, run, watcher))
    if ready:
        budget = memory_budget(ready[0][1].prepared.device)
        for chunk in fitting_chunks([r.prepared for _, r, _ in ready], budget):
            members = [ready[i] for i in chunk]
            runs = [r for _, r, _ in members]
            finished = [runs[0].execute()] if len(runs) == 1 else execute_together(runs)
            for (task, _, watcher), f in zip(members, finished):
                status = "pruned" if watcher.pruned else f.status
                results[task.number] = TrialResult(
                    task.number, status, watcher.best, f.epochs_run, time.perf_counter() - t0,
                    float(f.seconds or 0.0), f.run_dir, f.message, extra={"group": len(runs)})
    return [results[t.number] for t in tasks]
