"""The Train tab: a view of a RunController (nn_tui.tui.training.controller) — charts, readouts, device.

The controller owns the run; this view drains it on a 0.25 s timer and redraws what changed, in one screen
update (finished chart builds and device samples wait for the tick). Widgets are never touched from a thread.

While a run trains, the UI's work comes out of training (a small network's loop holds the GIL), so
it is budgeted: readouts redraw on every tick only while a redraw costs under UI_SHARE of the time
(else every second or third tick), and chart builds take at most CHART_SHARE of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.worker import get_current_worker

from nn_tui.core.model.device import DeviceReport
from nn_tui.core.preset import Preset
from nn_tui.tui.messages import DeviceSampled
from nn_tui.tui.training.controller import RunController
from nn_tui.tui.training.history import RunHistory
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


class TrainView(Vertical):
    """Shows one RunController's run. `state` mirrors the controller's (see RunController.StateChanged)."""

    def __init__(
        self,
        controller: RunController,
        *,
        device_source: Callable[[str | None], DeviceReport] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.controller = controller
        self.state = controller.state
        self.device_source = device_source
        self.setup: Preset | None = None  # the setup being edited (shown while no run is)
        self.setup_io: tuple[int | None, int | None] = (None, None)
        self.torch_loading = False
        self._drawn_version = -1
        self._shown_history: RunHistory | None = None
        self._note = ""
        self.device_report: DeviceReport | None = None
        self.redraws = 0  # readout redraws while training, for measurements
        self._next_chart_at = 0.0  # monotonic time before which no chart build starts (while training)
        self._next_frame_at = 0.0  # ... before which readouts are not redrawn (while training)
        self._tick_cpu = time.thread_time()  # UI-thread CPU time at the last tick
        self._framed = False  # the last tick redrew the readouts
        self.frame_cost = 0.0  # UI-thread CPU seconds per tick with a redraw (smoothed), for the frame budget

    @property
    def history(self) -> RunHistory | None:
        return self.controller.history

    @property
    def active(self) -> bool:
        return self.controller.active

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
        self.controller.listen(self)
        self._show_history()
        self._device_shown = self._device()
        self.query_one(DevicePanel).show(None, self._device_shown)
        self.set_interval(DRAIN_SECONDS, lambda: self.drain(force=False))
        self._sample_devices()

    def on_unmount(self) -> None:
        self.controller.shutdown()

    # ------------------------------------------------------------ what the screen tells it

    def show_setup(self, preset: Preset, io: tuple[int | None, int | None]) -> None:
        """The setup being edited changed (shown while no run is)."""
        self.setup, self.setup_io = preset, io
        if self.controller.run_preset is None:
            self._refresh_readouts()

    def set_torch_loading(self, loading: bool) -> None:
        self.torch_loading = loading
        self._refresh_readouts()

    def toggle_log_scale(self) -> bool:
        chart = self.query_one(LossChart)
        chart.set_log_scale(not chart.log_scale)
        return chart.log_scale

    def note(self, text: str) -> None:
        self._note = text
        self._refresh_readouts()

    # ------------------------------------------------------------ what the controller tells it

    @on(RunController.StateChanged)
    def _state_changed(self, event: RunController.StateChanged) -> None:
        event.stop()
        if event.controller is self.controller:
            self.state = self.controller.state
            self._refresh_readouts()

    @on(RunController.Progressed)
    def _progressed(self, event: RunController.Progressed) -> None:
        event.stop()
        if event.controller is self.controller and event.force:
            if self.controller.history is not self._shown_history:  # a new run, or the last one cleared
                self._note = ""
                self._show_history()
            self.drain()

    def _show_history(self) -> None:
        h = self._shown_history = self.controller.history
        self.query_one(LossChart).show(h)
        self.query_one(MetricChart).show(h)
        self._refresh_readouts()

    # ------------------------------------------------------------ throttled UI updates

    def drain(self, force: bool = True) -> None:
        """Take the run's new events and show them. The 4 Hz timer calls it with force=False: then, while
        training, the readouts are redrawn only as often as the frame budget allows."""
        if not self._frame_due(force):
            return  # the events wait in the controller for the next redraw
        self._present()
        events = self.controller.drain()
        h = self.controller.history
        if h is None:
            return
        if h.version != self._drawn_version:
            self._drawn_version = h.version
            self.query_one(LossChart).changed(now=h.finished is not None)
            self.query_one(MetricChart).show(h)
        if self.active or events or force:
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

    def _device(self) -> str:
        if self.history is not None and self.history.started is not None:
            return self.history.started.device
        preset = self.controller.run_preset or self.setup
        return preset.training.device if preset is not None else "auto"

    def _refresh_readouts(self, force: bool = False) -> None:
        state = "training" if self.state == "training" else self.state
        shown = state
        if self.state == "paused" and self.controller.stepping:
            shown = "stepping"
        if self.state == "finished":
            shown = "finished"
        self.query_one(MetricsPanel).show(self.history, shown)
        self._show_setup()
        self.query_one("#run-line", Readout).show_markup(self._run_line(), wraps=True)

    def _show_setup(self) -> None:
        """The run's own setup while it runs or after it, else the setup being edited."""
        h, c = self.history, self.controller
        running = c.run_preset is not None
        preset = c.run_preset if running else self.setup
        if running and c.changed:  # settings changed while training (e): show the values in use
            from dataclasses import replace

            preset = replace(preset, training=replace(preset.training, **{k: c.settings[k] for k in c.changed}))
        n_in, n_out = c.run_io if running else self.setup_io
        parameters = h.started.parameters if h is not None and h.started is not None else None
        self.query_one(SetupPanel).show(preset, n_in=n_in, n_out=n_out, parameters=parameters, running=running)

    def _run_line(self) -> str:
        from textual.markup import escape

        h = self.history
        parts: list[str] = []
        if h is None:
            if self.torch_loading:
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
        source = self.device_source
        monitor = None
        if source is None:
            from nn_tui.core.model.device import DeviceMonitor

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
