"""`--backend ray`: the same trials as Ray Tune trials (Tune's Optuna search with the sweep's sampler, and its
ASHA scheduler when the sweep prunes), on a local Ray instance or a cluster, writing the same sweep folder."""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

import nn_tui
from nn_tui.core.errors import UserError
from nn_tui.core.sweep.records import write_records
from nn_tui.core.sweep.runner import SweepEvent, SweepPlan
from nn_tui.core.sweep.spec import Sweep, value_of
from nn_tui.core.sweep.study import REDUCTION_FACTOR, TrialTask, make_sampler, rung_epochs, seeds_of
from nn_tui.core.training import Callback, TrainerControl

RAY_FOLDER = "ray"  # Tune's own experiment folder, inside the sweep folder


def _signal_handlers() -> dict:
    import signal

    return {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}


def _restore_signal_handlers(handlers: dict) -> None:
    import signal

    try:
        for signum, handler in handlers.items():
            if handler is not None:
                signal.signal(signum, handler)
    except ValueError:  # not the main thread
        pass


def search_space(sweep: Sweep) -> dict[str, Any]:
    """The sweep's keys as Optuna distributions, with the seed as one more key: a grid of every configuration x
    every seed; random and TPE sample the seed like any key (each Tune trial is one run)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    space: dict[str, Any] = {}
    for key, p in sweep.spec.params.items():
        if p.values is not None:
            space[key] = CategoricalDistribution(p.labels())
        elif p.is_int_range:
            space[key] = IntDistribution(int(p.low), int(p.high), log=p.log)
        else:
            space[key] = FloatDistribution(float(p.low), float(p.high), log=p.log)
    space["seed"] = CategoricalDistribution(seeds_of(sweep))
    return space


class _TuneReporter(Callback):
    """Reports the metric to Tune every epoch when the sweep prunes (ASHA compares trials at its rungs), else
    twice a second at most; the last epoch is left to the trial's final report. When Tune stops the trial (ASHA,
    or the end of the sweep), its report raises SystemExit(0): the run is then stopped cleanly instead."""

    def __init__(self, metric: str, every_epoch: bool, control: TrainerControl) -> None:
        self.metric = metric
        self.every_epoch = every_epoch
        self.control = control
        self.run_dir: str | None = None
        self.stopped_by_tune = False
        self._next = 0.0

    def on_epoch_end(self, state, event) -> None:
        from ray import tune

        now = time.monotonic()
        if self.stopped_by_tune or event.epoch >= event.epochs or not (self.every_epoch or now >= self._next):
            return
        self._next = now + 0.5
        value = event.row().get(self.metric)
        try:
            tune.report({self.metric: value if value is not None and math.isfinite(value) else None,
                         "epoch": event.epoch, "nn_run_dir": self.run_dir})
        except SystemExit:
            self.stopped_by_tune = True
            self.control.stop()


def _trainable(config: dict[str, Any], *, sweep: Sweep, sweep_dir: str, metric: str, direction: str) -> None:
    """One Tune trial: one run of the sweep's preset with this configuration and seed."""
    import torch
    from ray import tune

    from nn_tui.core.sweep.trial import run_trial

    torch.set_num_threads(1)
    trial_id = tune.get_context().get_trial_id()
    labels = {k: config[k] for k in sweep.spec.params}
    values = {k: value_of(sweep.spec.params[k], label) for k, label in labels.items()}
    seed = int(config["seed"])
    preset = sweep.trial_preset(values, seed)
    preset.name = f"{sweep.name}-trial-{trial_id}"
    task = TrialTask(-1, -1, labels, seed, preset, sweep_dir, metric, direction, ())
    control = TrainerControl()
    reporter = _TuneReporter(metric, sweep.spec.prune, control)
    result = run_trial(task, report=None, extra_callbacks=(reporter,), control=control,
                       on_start=lambda run_dir: setattr(reporter, "run_dir", run_dir))
    if reporter.stopped_by_tune:  # Tune is ending this trial: its run folder says "stopped"
        raise SystemExit(0)
    tune.report({metric: result.value, "epoch": result.epochs, "nn_status": result.status, "nn_seconds": result.seconds,
                 "nn_train_seconds": result.train_seconds, "nn_run_dir": result.run_dir, "nn_message": result.message})


_ACTIVE: dict[str, RaySweepRunner] = {}  # Tune pickles its callbacks and stopper: they find the runner by key


def _runner(key: str) -> RaySweepRunner:
    return _ACTIVE[key]


def _stop_requested(key: str) -> bool:
    runner = _ACTIVE.get(key)
    return runner is not None and runner.stop.is_set()


def _stopper(tune, key: str):
    """A Tune Stopper that ends every trial and the experiment once the sweep is asked to stop (Ctrl-C, SIGTERM)."""

    class SweepStopper(tune.Stopper):
        def __init__(self, key: str) -> None:
            self.key = key

        def __call__(self, trial_id: str, result: dict) -> bool:
            return self.stop_all()

        def stop_all(self) -> bool:
            return _stop_requested(self.key)

    return SweepStopper(key)


def _events_callback(tune):
    """A Tune callback turning trial starts, results and ends into SweepEvents and records (defined once Ray is
    imported)."""

    class Events(tune.Callback):
        def __init__(self, key: str) -> None:
            self.key = key

        def on_trial_start(self, iteration, trials, trial, **info):
            runner = _runner(self.key)
            runner.running[runner.number(trial)] = (dict(trial.config), {})
            params = {k: trial.config.get(k) for k in runner.plan.sweep.spec.params}
            runner.on_event(SweepEvent("trial_start", _runner(self.key).number(trial), {"seed": trial.config.get("seed"),
                                                                       "params": params}))

        def on_trial_result(self, iteration, trials, trial, result, **info):
            runner = _runner(self.key)
            number = runner.number(trial)
            if number in runner.running:
                runner.running[number] = (runner.running[number][0], dict(result))
            if "nn_status" not in result and result.get("epoch"):
                runner.on_event(SweepEvent("trial_epoch", _runner(self.key).number(trial), {
                    "epoch": result["epoch"], "epochs": runner.plan.sweep.preset.training.epochs,
                    "value": result.get(runner.plan.metric)}))

        def on_trial_complete(self, iteration, trials, trial, **info):
            _runner(self.key).trial_ended(trial, error=False)

        def on_trial_error(self, iteration, trials, trial, **info):
            _runner(self.key).trial_ended(trial, error=True)

    return Events


class RaySweepRunner:
    """Runs a planned sweep with Ray Tune. Ctrl-C / SIGTERM (`stop`) stop the running trials; they are recorded as
    stopped. --resume is for the local backend."""

    def __init__(self, plan: SweepPlan, *, on_event: Callable[[SweepEvent], None] | None = None,
                 stop: threading.Event | None = None, address: str | None = None) -> None:
        if plan.resuming:
            raise UserError("--resume continues a sweep with the local backend; leave out --backend ray")
        self.plan = plan
        self.on_event = on_event or (lambda e: None)
        self.stop = stop or threading.Event()
        self.address = address
        self.rows: dict[int, dict[str, Any]] = {}
        self.numbers: dict[str, int] = {}
        self.running: dict[int, tuple[dict, dict]] = {}  # started, not ended: config, last result
        self.summary: dict[str, Any] = {}
        self.started_at = time.time()

    def record(self, status: str) -> None:
        p = self.plan
        rows = [self.rows[n] for n in sorted(self.rows)]
        self.summary = write_records(rows, p.sweep, p.sweep_dir, metric=p.metric, direction=p.direction, status=status,
                                     total=p.total, extra={"backend": "ray",
                                                           "wall_time": round(time.time() - self.started_at, 3)})

    def number(self, trial) -> int:
        """Trials are numbered in the order they start (Tune's ids are not numbers)."""
        return self.numbers.setdefault(trial.trial_id, len(self.numbers))

    def trial_ended(self, trial, *, error: bool) -> None:
        p = self.plan
        number = self.number(trial)
        self.running.pop(number, None)
        last = dict(trial.last_result or {})
        row = self._row(number, trial.config, last, error)
        self.rows[number] = row
        self.record("running")
        done = sum(1 for r in self.rows.values() if r["status"] != "stopped")
        self.on_event(SweepEvent("trial_end", number, {
            "seed": row["seed"], "params": {k: row[k] for k in p.sweep.spec.params}, "status": row["status"], "value": row[p.metric], "epochs": row["epochs"], "seconds": row["seconds"],
            "run_dir": row["run_dir"], "message": last.get("nn_message", ""), "done": done, "total": p.total}))

    def _row(self, number: int, config: dict[str, Any], metrics: dict[str, Any], error: bool) -> dict[str, Any]:
        p = self.plan
        if "nn_status" in metrics:
            status = metrics["nn_status"]
        elif error:
            status = "failed"
        else:  # ended without its final report: stopped by ASHA, or by Ctrl-C
            status = "stopped" if self.stop.is_set() else "pruned"
        value = metrics.get(p.metric)
        row = {"trial": number, "status": status, "seed": int(config["seed"]),
               **{k: config[k] for k in p.sweep.spec.params}, p.metric: value,
               "epochs": metrics.get("epoch", 0),
               "seconds": round(metrics["nn_seconds"], 3) if metrics.get("nn_seconds") is not None else None, "run_dir": metrics.get("nn_run_dir")}
        if row["run_dir"]:
            row["run_dir"] = os.path.relpath(row["run_dir"]) if not Path(str(p.sweep_dir)).is_absolute() else row["run_dir"]
        return row

    def execute(self) -> str:
        import ray
        from ray import tune
        from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
        from ray.tune.search.optuna import OptunaSearch

        from nn_tui.core.sweep.pool import default_workers

        p = self.plan
        sweep_dir = p.sweep_dir.resolve()
        workers = default_workers(p.workers)
        started_ray = False
        handlers = _signal_handlers()
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, logging_level=logging.ERROR, log_to_driver=False)
            else:  # a private instance on loopback, with this checkout importable by its workers
                root = str(Path(nn_tui.__file__).resolve().parents[1])
                path = os.pathsep.join(x for x in (root, os.environ.get("PYTHONPATH", "")) if x)
                ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False,
                         _node_ip_address="127.0.0.1", runtime_env={"env_vars": {"PYTHONPATH": path}})
            started_ray = True
        _restore_signal_handlers(handlers)  # Ray's own SIGTERM handler aborts the process; the caller's stops the sweep
        try:
            return self._fit(tune, OptunaSearch, ASHAScheduler, FIFOScheduler, sweep_dir, workers)
        finally:
            if started_ray:
                ray.shutdown()

    def _fit(self, tune, OptunaSearch, ASHAScheduler, FIFOScheduler, sweep_dir: Path, workers: int) -> str:
        p = self.plan
        mode = "min" if p.direction == "minimize" else "max"
        # Tune keeps the search in memory (it pickles it, and the journal storage holds a lock): no study.log here.
        search = OptunaSearch(space=search_space(p.sweep), metric=p.metric, mode=mode, sampler=make_sampler(p.sweep))
        epochs = p.sweep.preset.training.epochs
        if p.sweep.spec.prune:
            scheduler = ASHAScheduler(time_attr="epoch", metric=p.metric, mode=mode, max_t=epochs,
                                      grace_period=rung_epochs(epochs, True)[0] if epochs > 1 else 1,
                                      reduction_factor=REDUCTION_FACTOR)
        else:
            scheduler = FIFOScheduler()
        key = str(id(self))
        _ACTIVE[key] = self
        events = _events_callback(tune)(key)
        self.on_event(SweepEvent("start", None, {"sweep_dir": str(p.sweep_dir), "total": p.total, "done": 0,
                                                 "workers": workers, "metric": p.metric, "direction": p.direction,
                                                 "backend": "ray"}))
        self.record("running")
        trainable = tune.with_resources(
            tune.with_parameters(_trainable, sweep=p.sweep, sweep_dir=str(sweep_dir), metric=p.metric,
                                 direction=p.direction),
            {"cpu": 1},
        )
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(search_alg=search, scheduler=scheduler, num_samples=p.total,
                                        max_concurrent_trials=workers, reuse_actors=True),
            run_config=tune.RunConfig(name="tune", storage_path=str(sweep_dir / RAY_FOLDER), verbose=0,
                                      callbacks=[events], stop=_stopper(tune, key)),
        )
        try:
            tuner.fit()
        finally:
            _ACTIVE.pop(key, None)
        for number, (config, last) in self.running.items():  # ended by the stop without Tune saying so
            self.rows[number] = {**self._row(number, config, last, False), "status": "stopped"}
        status = "stopped" if self.stop.is_set() or len(self.rows) < p.total else "completed"
        self.record(status)
        done = sum(1 for r in self.rows.values() if r["status"] != "stopped")
        self.on_event(SweepEvent("end", None, {"status": status, "sweep_dir": str(p.sweep_dir),
                                               "best": self.summary.get("best"), "done": done, "total": p.total}))
        return status
