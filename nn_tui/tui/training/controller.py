"""One training run in the app, outside any widget: its state machine, history, control and worker thread.

The trainer function runs on a thread worker; its events and network snapshots are only handed over there
(appended to a deque, kept as the latest). `drain()`, on the UI thread, applies them to the RunHistory and
moves the state machine. Whoever shows the run listens: the controller posts StateChanged, Progressed,
SnapshotArrived, Finished and Crashed messages to its listeners. The app holds the controllers (any number
at once) and passes each worker's state changes to the controller that owns the worker.

States: idle (no run yet) → starting → training ⇄ paused → stopping → finished.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.worker import Worker, WorkerState

from nn_tui.core.errors import UserError
from nn_tui.core.preset import Preset
from nn_tui.core.preset.choices import DEFAULT_MOMENTUM
from nn_tui.core.training.events import (
    EpochEnd,
    Event,
    RunError,
    RunFinished,
    RunStarted,
    SettingChanged,
    TrainerControl,
)
from nn_tui.tui.training.broadcast import Broadcaster
from nn_tui.tui.training.history import RunHistory

if TYPE_CHECKING:
    from textual.app import App

    from nn_tui.core.inspection.insight import InsightSnapshot

ACTIVE = ("starting", "training", "paused", "stopping")


class RunController(Broadcaster):
    # Each listener gets its own copy of a message, so none bubbles (a screen would get it twice).

    @dataclass
    class StateChanged(Message, bubble=False):
        controller: RunController

    @dataclass
    class Progressed(Message, bubble=False):
        """New events were applied to the history (`force`: the run ended; draw everything now)."""

        controller: RunController
        events: list[Event]
        force: bool = False

    @dataclass
    class SnapshotArrived(Message, bubble=False):
        controller: RunController
        snapshot: InsightSnapshot

    @dataclass
    class Finished(Message, bubble=False):
        controller: RunController
        finished: RunFinished

    @dataclass
    class StartRefused(Message, bubble=False):
        """The run could not start (a UserError, e.g. a device that is not there): the reason, no traceback."""

        controller: RunController
        message: str

    @dataclass
    class Crashed(Message, bubble=False):
        """The trainer raised (a bug): the error, for an error modal."""

        controller: RunController
        error: BaseException

    def __init__(self, app: App, *, name: str = "run") -> None:
        self.app = app
        self.name = name
        super().__init__()
        self.history: RunHistory | None = None
        self.control: TrainerControl | None = None
        self.run_preset: Preset | None = None
        self.run_io: tuple[int | None, int | None] = (None, None)
        self.resume_dir: str | None = None
        self.worker: Worker | None = None
        self._ended_worker: Worker | None = None
        self.stepping = False  # one epoch granted while paused
        self._events: collections.deque = collections.deque()
        self._snapshot: InsightSnapshot | None = None  # the latest, set on the training thread
        self._paused_at: float | None = None
        # The run's learning rate, momentum, weight decay and L1 as last known: the preset's, then each
        # change asked for, each change the trainer reports, and the lr of every epoch (a schedule moves it).
        self.settings: dict[str, float | None] = {}
        self.changed: set[str] = set()  # the settings changed while this run trained

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def snapshot(self) -> InsightSnapshot | None:
        return self.history.insight if self.history is not None else None

    # ------------------------------------------------------------ control

    def start(self, preset: Preset, *, io: tuple[int | None, int | None] = (None, None), resume_dir: str | None = None) -> bool:
        """Train `preset` in a new run folder, or continue the run in `resume_dir` from its checkpoint."""
        if self.active:
            return False
        self.run_preset = preset.copy()
        self.run_io = io
        self.resume_dir = resume_dir
        self.control = TrainerControl()
        self._events = collections.deque()
        self._snapshot = None
        self.history = RunHistory(epochs_total=preset.training.epochs)
        self.stepping = False
        self._paused_at = None
        t = preset.training
        momentum = t.momentum if t.momentum is not None else DEFAULT_MOMENTUM.get(t.optimizer)
        self.settings = {"lr": t.lr, "momentum": momentum, "weight_decay": t.weight_decay, "l1": t.l1}
        self.changed = set()
        if resume_dir is not None:  # a resumed run goes on with the values it was changed to
            from nn_tui.core.run.changes import read_changes

            try:
                earlier = {c["key"]: c["new"] for c in read_changes(resume_dir)}
            except UserError:
                earlier = {}
            self.settings.update(earlier)
            self.changed.update(earlier)
        self._set_state("starting")
        self._post(lambda: self.Progressed(self, [], force=True))
        self.worker = self.app.run_worker(
            lambda: self._train(self.run_preset, self.control, self._events, resume_dir),
            thread=True, exit_on_error=False, group=f"train-{id(self)}", name="training",
        )
        return True

    def pause(self) -> None:
        if self.control is not None and self.state in ("starting", "training"):
            self.control.pause()
            self._paused_at = time.monotonic()
            self._set_state("paused")

    def resume(self) -> None:
        if self.control is not None and self.state == "paused":
            self.control.resume()
            self._end_pause()
            self.stepping = False
            self._set_state("training")

    def step(self) -> None:
        if self.control is not None and self.state == "paused":
            self.control.step_epoch()
            self.stepping = True
            self._post(lambda: self.StateChanged(self))

    @property
    def can_change_settings(self) -> bool:
        return self.control is not None and self.state in ("starting", "training", "paused")

    def change_settings(self, values: dict[str, float]) -> None:
        """Ask the training run to use these settings from its next step (checked beforehand with
        nn_tui.core.training.live.check_live_change); the weights are kept."""
        if not self.can_change_settings:
            return
        for key, value in values.items():
            self.control.request_change(key, value)
            self.settings[key] = value
            self.changed.add(key)

    def stop(self) -> None:
        if self.control is not None and self.active:
            self.control.stop()
            self._end_pause()
            self._set_state(self.state if self.state == "starting" else "stopping")

    async def stop_and_wait(self, timeout: float = 2.0) -> None:
        """Stop the run and wait (bounded) until the trainer has written its run folder."""
        worker = self.worker
        self.stop()
        if worker is not None and worker.state in (WorkerState.PENDING, WorkerState.RUNNING):
            try:
                await asyncio.wait_for(asyncio.shield(asyncio.ensure_future(worker.wait())), timeout)
            except Exception:  # noqa: BLE001 - timeout or a failed worker: quitting goes on
                pass
        if worker is not None:
            self._worker_done(worker)  # at once, not when the app gets to the worker's StateChanged
        self.drain()

    def show_finished(self, preset: Preset, events: list[Event], *,
                      io: tuple[int | None, int | None] = (None, None)) -> bool:
        """Show a run that ended earlier (its events read back from its folder): no worker, no new run folder."""
        if self.active:
            return False
        self.run_preset = preset.copy()
        self.run_io = io
        self.resume_dir = None
        self.control = None
        self.worker = None
        self._events = collections.deque()
        self._snapshot = None
        self.history = RunHistory(epochs_total=preset.training.epochs)
        self.history.apply(events)
        t = preset.training
        last_lr = self.history.last_epoch.lr if self.history.last_epoch is not None else t.lr
        momentum = t.momentum if t.momentum is not None else DEFAULT_MOMENTUM.get(t.optimizer)
        self.settings = {"lr": last_lr, "momentum": momentum, "weight_decay": t.weight_decay, "l1": t.l1}
        self.changed = set()
        self.state = "finished"
        self._post(lambda: self.StateChanged(self))
        self._post(lambda: self.Progressed(self, [], force=True))
        return True

    def show_snapshot(self, snapshot: InsightSnapshot) -> None:
        """A snapshot made outside training (the saved weights of a run shown with show_finished)."""
        if self.history is None or self.active:
            return
        self.history.insight = snapshot
        self._post(lambda: self.SnapshotArrived(self, snapshot))

    def clear(self) -> None:
        """Forget the last run's curves and numbers (the next Train starts from fresh weights)."""
        if self.active:
            return
        self.history = None
        self.run_preset = None
        self._set_state("idle")
        self._post(lambda: self.Progressed(self, [], force=True))

    def shutdown(self) -> None:
        """However the app ends, a training thread must not outlive it (a paused one would wait forever)."""
        if self.control is not None:
            self.control.stop()

    def _end_pause(self) -> None:
        if self._paused_at is not None and self.history is not None:
            self.history.paused_seconds += time.monotonic() - self._paused_at
        self._paused_at = None

    # ------------------------------------------------------------ the worker

    def _train(self, preset: Preset, control: TrainerControl, sink: collections.deque, resume_dir: str | None) -> Any:
        def on_snapshot(snapshot: InsightSnapshot) -> None:
            self._snapshot = snapshot

        try:
            return self.app.trainer(
                preset, out_dir=self.app.runs_dir, on_event=sink.append, on_snapshot=on_snapshot, control=control,
                resume_dir=resume_dir,
            )
        except UserError as exc:  # e.g. a device that is not there: a message, not a crash
            sink.append(RunError(str(exc)))
            return None

    def worker_changed(self, event: Worker.StateChanged) -> None:
        """The app passes on the state changes of this controller's worker."""
        self._worker_done(event.worker)

    def _worker_done(self, worker: Worker) -> None:
        """The worker ended (once per worker): its outcome becomes the run's state."""
        if worker.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        if worker is not self.worker or worker is self._ended_worker:
            return
        self._ended_worker = worker
        self.drain()
        if worker.state == WorkerState.ERROR:
            error = worker.error
            if self.history is not None:
                self.history.error = f"{type(error).__name__}: {error}"
            self._post(lambda: self.Crashed(self, error))
        self._end_pause()
        self._set_state("finished" if self.history is not None else "idle")
        self._post(lambda: self.Progressed(self, [], force=True))

    # ------------------------------------------------------------ events to history

    def drain(self) -> list[Event]:
        """Apply what the trainer handed over since the last call; returns the events (UI thread only)."""
        events = []
        sink = self._events
        while sink:
            events.append(sink.popleft())
        h = self.history
        if h is None:
            return []
        if events:
            h.apply(events)
            for event in events:
                if isinstance(event, RunStarted) and self.state == "starting":
                    self._set_state("paused" if self.control is not None and self.control.paused else "training")
                elif isinstance(event, EpochEnd):
                    self.settings["lr"] = event.lr
                    if self.stepping:
                        self.stepping = False
                        self._post(lambda: self.StateChanged(self))
                elif isinstance(event, SettingChanged):
                    self.settings[event.key] = event.new
                    self.changed.add(event.key)
                elif isinstance(event, RunFinished):
                    self._post(lambda e=event: self.Finished(self, e))
                elif isinstance(event, RunError) and h.started is None:
                    self._post(lambda e=event: self.StartRefused(self, e.message))
        snapshot = self._snapshot
        if snapshot is not None and snapshot is not h.insight:
            h.insight = snapshot
            self._post(lambda: self.SnapshotArrived(self, snapshot))
        return events
