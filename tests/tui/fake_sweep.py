"""A fast stand-in for the sweep's workers: the real SweepRunner's bookkeeping (Optuna study, sweep folder,
trials.csv, summary.json, resume) with each trial's training replaced by a scripted curve on the same thread.

The metric of a trial is a smooth function of its learning rate (closest to 0.1 is best) and its seed, so
rankings are deterministic. `hold_after=N`: after N trials ended, the next trial waits (its first epochs sent)
until the sweep is stopped, a fixed point for stop + resume tests. `real_folders=True`: each trial also trains its
preset for real (tiny presets only) so its run folder is one the app can open.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

from nn_tui.core.sweep.runner import SweepEvent, SweepRunner
from nn_tui.core.sweep.trial import TrialResult


def fake_value(params: dict, seed: int, epoch: int, epochs: int) -> float:
    lr = params.get("training.lr", 0.1)
    lr = lr if isinstance(lr, (int, float)) else 0.1
    quality = 1.0 / (1.0 + abs(math.log10(max(lr, 1e-9)) + 1.0))  # 1 at lr = 0.1
    bonus = 0.02 if params.get("training.optimizer") == "adam" else 0.0
    return round(0.5 + (0.45 * quality + bonus) * (1 - math.exp(-3 * epoch / epochs)) + 0.01 * (seed % 3), 6)


class FakeSweepRunner(SweepRunner):
    def __init__(self, plan, *, on_event=None, stop=None, hold_after: int | None = None, epochs: int = 5,
                 real_folders: bool = False) -> None:
        super().__init__(plan, on_event=on_event, stop=stop)
        self.hold_after = hold_after
        self.fake_epochs = epochs
        self.holding = threading.Event()
        self.real_folders = real_folders

    def execute(self) -> str:
        p = self.plan
        self.on_event(SweepEvent("start", None, {"sweep_dir": str(p.sweep_dir), "total": p.total, "done": self.done,
                                                 "workers": 1, "metric": p.metric, "direction": p.direction}))
        self.record("running")
        ended = 0
        stopping = False
        while self.done < p.total and not stopping:
            task = self.next_task()
            self.started(task.number, self.trial_folder(task))
            best = None
            status = "completed"
            for epoch in range(1, self.fake_epochs + 1):
                value = fake_value(task.labels, task.seed, epoch, self.fake_epochs)
                best = value if best is None else max(best, value)
                self.on_event(SweepEvent("trial_epoch", task.number, {"epoch": epoch, "epochs": self.fake_epochs,
                                                                      "value": value}))
                if self.hold_after is not None and ended >= self.hold_after and epoch == 2:
                    self.holding.set()
                    self.stop.wait(30)
                if self.stop.is_set():
                    status, stopping = "stopped", True
                    break
            self.finish_trial(TrialResult(task.number, status, best if status == "completed" else None, epoch,
                                          0.01, 0.01, None))
            ended += 1
        status = "stopped" if stopping else "completed"
        self.record(status)
        self.on_event(SweepEvent("end", None, {"status": status, "sweep_dir": str(p.sweep_dir),
                                               "best": self.summary.get("best"), "done": self.done, "total": p.total}))
        return status


    def trial_folder(self, task) -> str:
        if not self.real_folders:
            return str(Path(self.plan.sweep_dir) / "runs" / f"fake-{task.number}")
        from nn_tui.core.run.runner import Run, prepare_run

        run = Run(prepare_run(task.preset), out_dir=Path(self.plan.sweep_dir) / "runs")
        run.execute()
        return str(run.run_dir.path)


def fake_runner(**kwargs):
    """A sweep_runner for NNTuiApp: makes FakeSweepRunners with these options; the last one is `.last`."""

    def make(plan, on_event, stop):
        make.last = FakeSweepRunner(plan, on_event=on_event, stop=stop, **kwargs)
        return make.last

    make.last = None
    return make
