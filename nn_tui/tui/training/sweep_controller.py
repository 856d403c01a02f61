"""One sweep in the app, outside any widget: it runs the sweep engine (nn_tui.core.sweep) on a thread worker,
hands its events over through a deque, and drains them on the UI thread at a bounded rate (4 times a second,
however many trials run) into messages for its listeners. Stop leaves the sweep folder resumable.

States: idle → starting → running → stopping → finished (or refused: the sweep could not start)."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

from nn_tui.core.errors import UserError
from nn_tui.tui.training.broadcast import Broadcaster

if TYPE_CHECKING:
    from textual.app import App

    from nn_tui.core.sweep.runner import SweepPlan
    from nn_tui.core.sweep.spec import Sweep

DRAIN_SECONDS = 0.25
# Makes the object that runs a planned sweep: (plan, on_event, stop) -> something with execute() -> status.
RunnerFactory = Callable[..., Any]


def real_runner(plan: SweepPlan, on_event: Callable, stop: threading.Event) -> Any:
    from nn_tui.core.sweep.runner import SweepRunner

    return SweepRunner(plan, on_event=on_event, stop=stop)


def start_resource_tracker() -> None:
    """multiprocessing's resource tracker (started with the first worker process) hands it the fd of sys.stderr;
    in the app that is Textual's capture, whose fd is not a real one ("bad value(s) in fds_to_keep"). Start it
    here, on the UI thread, with stderr pointed at /dev/null (it only reports leaked semaphores)."""
    import os
    import sys
    from multiprocessing import resource_tracker

    saved = sys.stderr
    with open(os.devnull, "w") as devnull:
        sys.stderr = devnull
        try:
            resource_tracker.ensure_running()
        finally:
            sys.stderr = saved


def metric_curve(run_dir: str | None, metric: str) -> list[tuple[float, float]]:
    """The metric per epoch from a finished trial's metrics.csv (every epoch, not just the sampled ones)."""
    if not run_dir:
        return []
    from nn_tui.core.run.rundir import read_metrics

    try:
        rows = read_metrics(run_dir)
    except (OSError, ValueError):
        return []
    return [(float(r["epoch"]), float(r[metric])) for r in rows if "epoch" in r and r.get(metric) is not None]


class SweepController(Broadcaster):
    @dataclass
    class Progressed(Message, bubble=False):
        """Events from the sweep engine, as (kind, trial, data), applied in order."""

        controller: SweepController
        events: list[tuple[str, int | None, dict[str, Any]]]

    @dataclass
    class StateChanged(Message, bubble=False):
        controller: SweepController

    @dataclass
    class Refused(Message, bubble=False):
        """The sweep could not start or broke off: the reason in one line."""

        controller: SweepController
        message: str

    def __init__(self, app: App, make_runner: RunnerFactory | None = None, *, out: str | Path = "sweeps") -> None:
        self.app = app
        self.make_runner = make_runner or real_runner
        self.out = Path(out)
        super().__init__()
        self.plan: SweepPlan | None = None
        self.sweep_dir: Path | None = None
        self.status: str | None = None  # the engine's last word: completed or stopped
        self.worker = None
        self._stop = threading.Event()
        self._events: collections.deque = collections.deque()
        self._timer = None

    @property
    def active(self) -> bool:
        return self.state in ("starting", "running", "stopping")

    @property
    def resumable(self) -> bool:
        return not self.active and self.sweep_dir is not None and self.status == "stopped"

    # ------------------------------------------------------------ control

    def start(self, sweep: Sweep) -> bool:
        """Run `sweep` in a new folder under `out`."""
        from nn_tui.core.sweep.runner import plan_sweep

        return self._launch(lambda: plan_sweep(sweep, self.out))

    def resume(self, sweep_dir: str | Path | None = None) -> bool:
        """Finish a stopped sweep (by default the last one): trials that finished are not run again."""
        from nn_tui.core.sweep.runner import plan_resume

        folder = sweep_dir or self.sweep_dir
        if folder is None:
            return False
        return self._launch(lambda: plan_resume(folder))

    def stop(self) -> None:
        """Running trials stop after their current step and are saved as stopped; the folder stays resumable."""
        if self.active:
            self._stop.set()
            self._set_state("stopping")

    def _launch(self, planner: Callable[[], SweepPlan]) -> bool:
        if self.active:
            return False
        self._stop = threading.Event()
        self._events = collections.deque()
        self.status = None
        self._set_state("starting")
        start_resource_tracker()  # once per app; any runner may start worker processes
        if self._timer is None:
            self._timer = self.app.set_interval(DRAIN_SECONDS, self.drain)
        self.worker = self.app.run_worker(lambda: self._work(planner, self._stop, self._events), thread=True,
                                          exit_on_error=False, group=f"sweep-{id(self)}", name="sweep")
        return True

    # ------------------------------------------------------------ the worker thread

    def _work(self, planner: Callable[[], SweepPlan], stop: threading.Event, sink: collections.deque) -> None:
        try:
            plan = planner()
            sink.append(("plan", None, {"plan": plan}))

            def on_event(event) -> None:
                data = dict(event.data)
                if event.kind == "trial_end":  # the whole curve, read here rather than on the UI thread
                    data["curve"] = metric_curve(data.get("run_dir"), plan.metric)
                sink.append((event.kind, event.trial, data))

            status = self.make_runner(plan, on_event, stop).execute()
            sink.append(("done", None, {"status": status}))
        except UserError as exc:
            sink.append(("refused", None, {"message": str(exc)}))
        except Exception as exc:  # noqa: BLE001 - the sweep machinery broke: say so, keep the app
            sink.append(("refused", None, {"message": f"{type(exc).__name__}: {exc}"}))

    # ------------------------------------------------------------ the UI thread

    def drain(self) -> None:
        """Hand what the worker produced since the last call to the listeners, in one message."""
        events = []
        while self._events:
            events.append(self._events.popleft())
        if not events:
            return
        shown = []
        for kind, trial, data in events:
            if kind == "plan":
                self.plan = data["plan"]
                self.sweep_dir = self.plan.sweep_dir
            elif kind == "start":
                self._set_state("stopping" if self._stop.is_set() else "running")
            elif kind == "done":
                self.status = data["status"]
                self._set_state("finished")
            elif kind == "refused":
                self.status = "stopped" if self.sweep_dir is not None else None
                self._set_state("finished" if self.sweep_dir is not None else "idle")
                message = data["message"]
                self._post(lambda: self.Refused(self, message))
            if kind not in ("plan", "done", "refused"):
                shown.append((kind, trial, data))
        if shown:
            self._post(lambda: self.Progressed(self, list(shown)))

    async def wait(self, timeout: float) -> None:
        """Until the worker thread has ended (or `timeout` seconds)."""
        import asyncio
        import time

        end = time.monotonic() + timeout
        while self.worker is not None and self.worker.is_running and time.monotonic() < end:
            await asyncio.sleep(0.05)
