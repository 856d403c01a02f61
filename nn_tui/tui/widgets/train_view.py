"""The Train tab: runs the trainer on a worker thread and shows its progress, throttled.

The trainer's callback only appends to a deque; a 0.25 s timer drains it on the UI thread,
updates the RunHistory and redraws what changed, in one screen update (finished chart builds and
device samples wait for the tick). Widgets are never touched from the thread.

While a run trains, the UI's work comes out of training (a small network's loop holds the GIL), so
it is budgeted: readouts redraw on every tick only while a redraw costs under UI_SHARE of the time
(else every second or third tick), and chart builds take at most CHART_SHARE of it.
"""

from __future__ import annotations

import asyncio
import collections
import time
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.worker import Worker, WorkerState, get_current_worker

from nn_tui.core.device import DeviceReport
from nn_tui.core.errors import UserError
from nn_tui.core.events import EpochEnd, RunError, RunFinished, RunStarted, TrainerControl
from nn_tui.core.preset import Preset
from nn_tui.tui.messages import DeviceSampled
from nn_tui.tui.run_history import RunHistory
from nn_tui.tui.widgets.device_panel import DevicePanel
from nn_tui.tui.widgets.loss_chart import LossChart
from nn_tui.tui.widgets.metric_chart import MetricChart
from nn_tui.tui.widgets.metrics_panel import MetricsPanel, Readout
from nn_tui.tui.widgets.setup_panel import SetupPanel

DRAIN_SECONDS = 0.25
# While training, chart builds (plotext, on a worker thread) may take at most this share of the time: they
# hold the GIL that a small network's training loop needs, so their cost comes out of training one for one.
CHART_SHARE = 0.02
# Likewise the UI thread's own work while training (mostly Textual's screen updates, 3-12 ms a frame for this
# screen): readouts refresh every tick (4 Hz) while that stays under this share of the time, else less often,
# but at least twice a second.
UI_SHARE = 0.03
FRAME_SECONDS_MAX = 0.5
DEVICE_SECONDS = 1.0
ACTIVE = ("starting", "training", "paused", "stopping")


class TrainView(Vertical):
    """States: idle (no run yet) → starting → training ⇄ paused → stopping → finished."""

    state: reactive[str] = reactive("idle")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: RunHistory | None = None
        self.control: TrainerControl | None = None
        self.run_preset: Preset | None = None
        self.worker: Worker | None = None
        self._events: collections.deque = collections.deque()
        self._drawn_version = -1
        self._stepping = False
        self._paused_at: float | None = None
        self._note = ""
        self._run_io: tuple[int | None, int | None] = (None, None)
        self.device_report: DeviceReport | None = None
        self.redraws = 0  # readout redraws while training, for measurements
        self._next_chart_at = 0.0  # monotonic time before which no chart build starts (while training)
        self._next_frame_at = 0.0  # ... before which readouts are not redrawn (while training)
        self._tick_cpu = time.thread_time()  # UI-thread CPU time at the last tick
        self._framed = False  # the last tick redrew the readouts
        self.frame_cost = 0.0  # UI-thread CPU seconds per tick with a redraw (smoothed), for the frame budget

    def compose(self) -> ComposeResult:
        with Horizontal(id="train-main"):
            with Vertical(id="charts"):
                yield LossChart(id="loss-chart")
                yield MetricChart(id="metric-chart")
            with Vertical(id="train-side"):
                yield MetricsPanel(id="metrics")
                yield DevicePanel(id="device")
                yield SetupPanel(id="setup")
        yield Readout("", id="run-line")

    def on_mount(self) -> None:
        # One screen update per drain tick: finished chart builds and device samples wait for it.
        self.query_one(LossChart).clocked = True
        self.query_one(MetricChart).clocked = True
        self.query_one(LossChart).set_log_scale(False)
        self.query_one(MetricChart).border_title = "validation accuracy / R²"
        self.query_one(MetricsPanel).border_title = "run"
        self.query_one(LossChart).show(None)
        self.query_one(MetricChart).show(None)
        self._refresh_readouts()
        self._device_shown = self._device()
        self.query_one(DevicePanel).show(None, self._device_shown)
        self.set_interval(DRAIN_SECONDS, lambda: self.drain(force=False))
        self._sample_devices()
        self.screen.refresh_bindings()

    def on_unmount(self) -> None:
        """However the app ends, a training thread must not outlive it (a paused one would wait forever)."""
        if self.control is not None:
            self.control.request_stop()

    # ------------------------------------------------------------ control (called by the screen)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def start(self, preset: Preset, *, resume_dir: str | None = None) -> bool:
        """Train `preset` in a new run folder, or continue the run in `resume_dir` from its checkpoint."""
        if self.active:
            return False
        self.run_preset = preset.copy()
        self._run_io = self._current_io()
        self.control = TrainerControl()
        self._events = collections.deque()
        self.history = RunHistory(epochs_total=preset.training.epochs)
        self._stepping = False
        self._paused_at = None
        self._note = ""
        self.state = "starting"
        self.query_one(LossChart).show(self.history)
        self.query_one(MetricChart).show(self.history)
        self._refresh_readouts()
        self.resume_dir = resume_dir
        self.worker = self._train(self.run_preset, self.control, self._events)
        return True

    def pause(self) -> None:
        if self.control is not None and self.state in ("starting", "training"):
            self.control.pause()
            self._paused_at = time.monotonic()
            self.state = "paused"
            self._refresh_readouts()

    def resume(self) -> None:
        if self.control is not None and self.state == "paused":
            self.control.resume()
            self._end_pause()
            self._stepping = False
            self.state = "training"
            self._refresh_readouts()

    def step(self) -> None:
        if self.control is not None and self.state == "paused":
            self.control.step_epoch()
            self._stepping = True
            self._refresh_readouts()

    def stop(self) -> None:
        if self.control is not None and self.active:
            self.control.request_stop()
            self._end_pause()
            if self.state != "starting":
                self.state = "stopping"
            self._refresh_readouts()

    async def stop_and_wait(self, timeout: float = 2.0) -> None:
        """Stop the run and wait (bounded) until the trainer has written its run folder."""
        worker = self.worker
        self.stop()
        if worker is not None and worker.state in (WorkerState.PENDING, WorkerState.RUNNING):
            try:
                await asyncio.wait_for(asyncio.shield(asyncio.ensure_future(worker.wait())), timeout)
            except Exception:  # noqa: BLE001 - timeout or a failed worker: quitting goes on
                pass
        self.drain()

    def clear(self) -> None:
        """Forget the last run's curves and numbers (the next Train starts from fresh weights)."""
        if self.active:
            return
        self.history = None
        self.run_preset = None
        self._note = ""
        self.state = "idle"
        self.query_one(LossChart).show(None)
        self.query_one(MetricChart).show(None)
        self._refresh_readouts()

    def toggle_log_scale(self) -> bool:
        chart = self.query_one(LossChart)
        chart.set_log_scale(not chart.log_scale)
        return chart.log_scale

    def note(self, text: str) -> None:
        self._note = text
        self._refresh_readouts()

    def _end_pause(self) -> None:
        if self._paused_at is not None and self.history is not None:
            self.history.paused_seconds += time.monotonic() - self._paused_at
        self._paused_at = None

    def watch_state(self, _old: str, _new: str) -> None:
        screen = self.screen
        getattr(screen, "run_state_changed", screen.refresh_bindings)()

    # ------------------------------------------------------------ the worker

    @work(thread=True, exit_on_error=False, group="train", name="training")
    def _train(self, preset: Preset, control: TrainerControl, sink: collections.deque) -> RunFinished | None:
        try:
            if getattr(self, "resume_dir", None) is not None:
                from nn_tui.tui.trainers import resume_with_torch

                return resume_with_torch(self.resume_dir, on_event=sink.append, control=control)
            return self.app.trainer(preset, out_dir=self.app.runs_dir, on_event=sink.append, control=control)
        except UserError as exc:  # e.g. a device that is not there: a message, not a crash
            sink.append(RunError(str(exc)))
            return None

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.worker:
            return
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            event.stop()
            self.drain()
            if event.state == WorkerState.ERROR:
                error = event.worker.error
                if self.history is not None:
                    self.history.error = f"{type(error).__name__}: {error}"
                from nn_tui.tui.screens.error import ErrorModal

                self.app.push_screen(ErrorModal("Training failed", error))
            self._end_pause()
            self.state = "finished" if self.history is not None else "idle"
            self._refresh_readouts(force=True)

    # ------------------------------------------------------------ throttled UI updates

    def drain(self, force: bool = True) -> None:
        """Take the trainer's events and show them. The 4 Hz timer calls it with force=False: then, while
        training, the readouts are redrawn only as often as the frame budget allows."""
        if not self._frame_due(force):
            return  # the events wait in the deque for the next redraw (state changes never wait: see _frame_due)
        self._present()
        events = []
        sink = self._events
        while sink:
            events.append(sink.popleft())
        h = self.history
        if h is None:
            return
        if events:
            h.apply(events)
            for event in events:
                if isinstance(event, RunStarted) and self.state == "starting":
                    self.state = "training"
                    if self.control is not None and self.control.paused:
                        self.state = "paused"
                elif isinstance(event, EpochEnd):
                    self._stepping = False
                elif isinstance(event, RunFinished):
                    self._announce(event)
                elif isinstance(event, RunError) and h.started is None:
                    self.notify(event.message, title="Could not start training", severity="error", timeout=8)
        if h.version != self._drawn_version:
            self._drawn_version = h.version
            self.query_one(LossChart).changed(now=h.finished is not None)
            self.query_one(MetricChart).show(h)
        if self.active or events:
            self._refresh_readouts()
            self._framed = True
            self.redraws += self.state == "training"

    def _frame_due(self, force: bool) -> bool:
        """Redraw on this tick? Always, but while training only once the last redraw's cost has been paid
        for: a redraw costing c seconds of UI-thread CPU comes c / UI_SHARE seconds after the previous."""
        cpu = time.thread_time()
        spent, self._tick_cpu = cpu - self._tick_cpu, cpu
        if self._framed:  # the UI thread's CPU since the last tick went mostly on that tick's redraw
            self.frame_cost = spent if self.frame_cost == 0 else 0.7 * self.frame_cost + 0.3 * spent
            self._framed = False
        now = time.monotonic()
        if force or self.state != "training":
            return True
        if now < self._next_frame_at:
            return False
        wait = min(max(self.frame_cost / UI_SHARE, DRAIN_SECONDS), FRAME_SECONDS_MAX)
        self._next_frame_at = now + wait - DRAIN_SECONDS / 2  # due on the first tick after `wait`
        return True

    def _present(self) -> None:
        """What finished since the last tick goes on screen together (one screen update, not several)."""
        now = time.monotonic()
        charts = (self.query_one(LossChart), self.query_one(MetricChart))
        training = self.state == "training"  # the budget protects a running training loop, nothing else
        for chart in charts:
            if chart.present() and training:
                self._next_chart_at = max(self._next_chart_at, now + chart.build_seconds / CHART_SHARE)
        if now >= self._next_chart_at or not training:
            stale = [chart for chart in charts if chart.stale]
            if stale:  # the one that has waited longest
                min(stale, key=lambda chart: chart.shown_at).redraw()
        device = self._device()
        if self._device_pending or device != self._device_shown:  # a new sample, or the run's device became known
            self._device_pending = False
            self._device_shown = device
            self.query_one(DevicePanel).show(self.device_report, device)

    def _announce(self, finished: RunFinished) -> None:
        if finished.status in ("diverged", "failed"):
            self.notify(finished.message, title=f"Run {finished.status}", severity="error", timeout=10)
        elif finished.status == "completed":
            self.notify(f"saved in {finished.run_dir}", title="Training complete", timeout=4)

    def _device(self) -> str:
        if self.history is not None and self.history.started is not None:
            return self.history.started.device
        preset = self.run_preset or getattr(self.screen, "preset", None)
        return preset.training.device if preset is not None else "auto"

    def _refresh_readouts(self, force: bool = False) -> None:
        state = "training" if self.state == "training" else self.state
        shown = state
        if self.state == "paused" and self._stepping:
            shown = "stepping"
        if self.state == "finished":
            shown = "finished"
        self.query_one(MetricsPanel).show(self.history, shown)
        self._show_setup()
        self.query_one("#run-line", Readout).show_markup(self._run_line(), wraps=True)

    def _show_setup(self) -> None:
        """The run's own setup while it runs or after it, else the setup being edited."""
        h = self.history
        preset = self.run_preset or getattr(self.screen, "preset", None)
        n_in, n_out = self._run_io if self.run_preset is not None else self._current_io()
        parameters = h.started.parameters if h is not None and h.started is not None else None
        self.query_one(SetupPanel).show(preset, n_in=n_in, n_out=n_out, parameters=parameters, running=self.run_preset is not None)

    def _current_io(self) -> tuple[int | None, int | None]:
        table = self.screen.query_one_optional("#layers")
        return getattr(table, "n_in", None), getattr(table, "n_out", None)

    def setup_changed(self) -> None:
        if self.run_preset is None:
            self._refresh_readouts()

    def _run_line(self) -> str:
        from textual.markup import escape

        h = self.history
        parts: list[str] = []
        if h is None:
            if getattr(self.app, "torch_state", "") == "loading":
                parts.append("[$text-accent]loading PyTorch in the background (once per session)…[/]")
            else:
                parts.append("[$text-muted]Every run is saved in a run folder (preset.toml, metrics.csv, model.safetensors, summary.json).[/]")
        else:
            if h.run_dir:
                parts.append(f"[$text-muted]run folder[/] [b]{escape(h.run_dir)}[/]")
            elif self.state == "starting":
                parts.append("[$text-muted]starting: loading the dataset and PyTorch…[/]")
            if h.finished is not None:
                style = "$text-error" if h.finished.status in ("diverged", "failed") else "$text-success"
                if h.finished.status == "stopped":
                    style = "$text-warning"
                parts.append(f"[{style}]{escape(h.finished.status)}: {escape(h.finished.message)}[/]")
            elif h.error:
                parts.append(f"[$text-error]{escape(h.error)}[/]")
            elif self.state == "paused":
                parts.append("[$text-warning]paused[/] [$text-muted]· space resumes · n runs one epoch[/]")
        if self._note:
            parts.append(f"[$text-accent]{escape(self._note)}[/]")
        return "  ".join(parts)

    # ------------------------------------------------------------ devices

    @work(thread=True, exit_on_error=False, group="devices", name="device monitor")
    def _sample_devices(self) -> None:
        worker = get_current_worker()
        source = self.app.device_source
        monitor = None
        if source is None:
            from nn_tui.core.device import DeviceMonitor

            monitor = DeviceMonitor()
            source = monitor.sample
        try:
            while not worker.is_cancelled:
                try:
                    report = source(self._device_for_thread)
                except Exception:  # noqa: BLE001 - a monitoring hiccup must never stop the app
                    report = None
                if report is not None:
                    self.post_message(DeviceSampled(report))
                worker.cancelled_event.wait(DEVICE_SECONDS)
        finally:
            if monitor is not None:
                monitor.close()

    _device_for_thread: str | None = None
    _device_pending = False
    _device_shown: str | None = None

    @on(DeviceSampled)
    def _device_sampled(self, event: DeviceSampled) -> None:
        event.stop()
        self.device_report = event.report
        self._device_for_thread = self._device()
        self._device_pending = True  # shown at the next drain tick
