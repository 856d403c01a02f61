"""A sweep end to end: the sweep folder, the Optuna study, handing trials to workers (local processes, or Ray
Tune with --backend ray) and recording each result. Observers get plain `SweepEvent`s."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nn_tui.core.errors import UserError
from nn_tui.core.fileio import atomic_write_text
from nn_tui.core.sweep.records import SWEEP_FILE, create_sweep_dir, trial_rows, write_records
from nn_tui.core.sweep.spec import Sweep, load_sweep
from nn_tui.core.sweep.study import (
    FINISHED,
    RESULT_ATTR,
    STUDY_FILE,
    TrialTask,
    ask,
    open_study,
    prepare_resume,
)


@dataclass
class SweepEvent:
    """kind: "start" (the sweep), "trial_start", "trial_epoch", "trial_end", "end"."""

    kind: str
    trial: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class SweepPlan:
    """A sweep ready to run: its folder exists and holds sweep.toml; the metric and direction are settled."""

    sweep: Sweep
    sweep_dir: Path
    metric: str
    direction: str
    workers: int
    resuming: bool = False
    vectorize: str = "auto"  # auto | on | off: train trials that group together as one model (sweep.vectorized)

    @property
    def total(self) -> int:
        return self.sweep.spec.total_runs()


def plan_sweep(sweep: Sweep, out: str | Path) -> SweepPlan:
    """Check the base preset trains (its data loads; the metric fits its task), then create the sweep folder."""
    metric, direction = settle_metric(sweep)
    sweep_dir = create_sweep_dir(out, sweep.name)
    atomic_write_text(sweep_dir / SWEEP_FILE, sweep.to_toml())
    return SweepPlan(sweep, sweep_dir, metric, direction, sweep.spec.workers)


def plan_resume(sweep_dir: str | Path, *, workers: int | None = None) -> SweepPlan:
    sweep_dir = Path(sweep_dir)
    if not (sweep_dir / SWEEP_FILE).is_file() or not (sweep_dir / STUDY_FILE).is_file():
        raise UserError(f"not a sweep folder (it needs {SWEEP_FILE} and {STUDY_FILE})", source=str(sweep_dir))
    sweep = load_sweep(sweep_dir / SWEEP_FILE, workers=workers)
    metric, direction = settle_metric(sweep)
    return SweepPlan(sweep, sweep_dir, metric, direction, sweep.spec.workers, resuming=True)


def settle_metric(sweep: Sweep) -> tuple[str, str]:
    from nn_tui.core.datasets import get_dataset_info, metric_for

    task = get_dataset_info(sweep.preset.data.dataset).task
    if task is None:  # a CSV file: its task comes from the data
        from nn_tui.core.run.runner import prepare_run

        task = prepare_run(sweep.preset, source=sweep.source).data.task
    metric = sweep.spec.metric or metric_for(task)
    wrong = {"classification": "val_r2", "regression": "val_accuracy"}.get(task)
    if metric == wrong:
        raise UserError(f"{metric!r} is not a metric of this {task} dataset; use {metric_for(task)}, val_loss or "
                        "train_loss", source=sweep.source, key="sweep.metric")
    return metric, sweep.spec.resolved_direction(metric)


class SweepRunner:
    """Runs a planned sweep to its end, or until `stop` is set (running trials are then saved as stopped)."""

    def __init__(self, plan: SweepPlan, *, on_event: Callable[[SweepEvent], None] | None = None,
                 stop: threading.Event | None = None) -> None:
        self.plan = plan
        self.on_event = on_event or (lambda e: None)
        self.stop = stop or threading.Event()
        self.study = open_study(plan.sweep, plan.sweep_dir, plan.direction)
        self.done = prepare_resume(self.study, plan.sweep) if plan.resuming else 0
        self.asked: dict[int, Any] = {}  # running trials: number -> Optuna Trial
        self.tasks: dict[int, TrialTask] = {}
        self.run_dirs: dict[int, str] = {}
        self.started_at = time.time()
        self.summary: dict[str, Any] = {}

    def record(self, status: str) -> dict[str, Any]:
        rows = trial_rows(self.study, self.plan.sweep, self.plan.metric)
        self.summary = write_records(rows, self.plan.sweep, self.plan.sweep_dir, metric=self.plan.metric,
                                     direction=self.plan.direction, status=status, total=self.plan.total,
                                     extra={"wall_time": round(time.time() - self.started_at, 3)})
        return self.summary

    def next_task(self) -> TrialTask:
        p = self.plan
        trial, task = ask(self.study, p.sweep, p.sweep_dir, p.metric, p.direction)
        self.asked[task.number] = trial
        self.tasks[task.number] = task
        return task

    def started(self, number: int, run_dir: str) -> None:
        """A worker began the trial (its run folder exists)."""
        task = self.tasks.get(number)
        self.run_dirs[number] = run_dir
        if task is not None:
            self.on_event(SweepEvent("trial_start", number, {"seed": task.seed, "params": task.labels,
                                                             "run_dir": run_dir}))

    def finish_trial(self, result) -> None:
        """Tell Optuna how a trial ended and rewrite the records. A stopped trial is a failed one to Optuna, marked
        "stopped", and runs again on --resume."""
        from optuna.trial import TrialState

        trial = self.asked.pop(result.number)
        task = self.tasks.pop(result.number, None)
        # One user attribute for the whole result: each is an fsynced append to the journal.
        trial.set_user_attr(RESULT_ATTR, {
            "status": result.status, "value": result.value, "epochs": result.epochs,
            "seconds": round(result.seconds, 3), "train_seconds": round(result.train_seconds, 3),
            "run_dir": result.run_dir or self.run_dirs.get(result.number), "message": result.message})
        if result.status in ("completed", "early_stopped") and result.value is not None:
            self.study.tell(trial, result.value)
        elif result.status == "pruned":
            self.study.tell(trial, state=TrialState.PRUNED)
        else:  # diverged, failed, stopped: no value Optuna should learn from
            self.study.tell(trial, state=TrialState.FAIL)
        if result.status in FINISHED:
            self.done += 1
        self.record("running")
        self.on_event(SweepEvent("trial_end", result.number, {
            "seed": task.seed if task else None, "params": task.labels if task else {}, "status": result.status, "value": result.value, "epochs": result.epochs,
            "seconds": round(result.seconds, 3), "run_dir": result.run_dir, "message": result.message,
            "done": self.done, "total": self.plan.total, "group": result.extra.get("group", 1)}))

    def execute(self) -> str:
        """Run the missing trials. Returns the sweep's status: completed or stopped."""
        from nn_tui.core.sweep.pool import LocalPool, default_workers

        p = self.plan
        workers = min(default_workers(p.workers), max(1, p.total - self.done))
        self.on_event(SweepEvent("start", None, {"sweep_dir": str(p.sweep_dir), "total": p.total, "done": self.done,
                                                 "workers": workers, "metric": p.metric, "direction": p.direction}))
        self.record("running")
        if self.done >= p.total:  # a resumed sweep with nothing left: no workers to start
            self.record("completed")
            self.on_event(SweepEvent("end", None, {"status": "completed", "sweep_dir": str(p.sweep_dir),
                                                   "best": self.summary.get("best"), "done": self.done,
                                                   "total": p.total}))
            return "completed"
        pool = LocalPool(workers)
        stopping = False
        try:
            if pool.wait_ready(self.stop):
                self.on_event(SweepEvent("ready", None, {"workers": workers}))
            from nn_tui.core.sweep.vectorized import submit_groups, wanted

            if wanted(p.vectorize, p.sweep.spec.method) and not self.stop.is_set():
                submit_groups(self, pool, workers)
            while True:
                if self.stop.is_set() and not stopping:
                    stopping = True
                    pool.stop_trials()
                while not stopping and pool.idle() and self.done + pool.busy() < p.total:
                    pool.submit(self.next_task())
                if pool.busy() == 0:
                    break
                message = pool.get(timeout=0.2)
                if message is None:
                    continue
                kind, number = message[0], message[1]
                if kind == "started":
                    self.started(number, message[2])
                elif kind == "epoch":
                    self.on_event(SweepEvent("trial_epoch", number, {"epoch": message[2], "epochs": message[3],
                                                                     "value": message[4]}))
                elif kind == "done":
                    self.finish_trial(message[2])
                elif kind == "lost":
                    from nn_tui.core.sweep.trial import TrialResult

                    self.finish_trial(TrialResult(number, "failed", None, 0, 0.0, 0.0, None, message[2]))
            status = "stopped" if stopping else "completed"
            self.record(status)
            self.on_event(SweepEvent("end", None, {"status": status, "sweep_dir": str(p.sweep_dir),
                                                   "best": self.summary.get("best"), "done": self.done,
                                                   "total": p.total}))
        finally:  # the workers have nothing left to do: stopping them is not part of the sweep's time
            pool.close()
        return status
