"""The nn-tui Textual app. Small on purpose: the screens and widgets do the work."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

from textual import events, on, work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker

from nn_tui.core.model.device import DeviceReport
from nn_tui.core.preset import Preset
from nn_tui.tui.messages import TorchReady
from nn_tui.tui.screens.main import MainScreen
from nn_tui.tui.training.controller import RunController
from nn_tui.tui.training.trainers import TrainerFunction, train_with_torch, warm_up_torch


GC_THRESHOLD = 20_000  # allocations between young-generation collections (CPython's default is 700)
WARM_UP_DELAY = 1.5  # seconds after start, at the earliest
WARM_UP_IDLE = 1.0  # seconds without a key or click before warming up


class NNTuiApp(App):
    """Build an MLP, train it live, watch it learn.

    trainer: runs on a worker thread; defaults to the real PyTorch trainer (tests pass a fake).
    device_source: returns a DeviceReport for a device name; defaults to psutil/NVML sampling.
    warm_torch: import torch in the background after the first frame, so the first Train starts fast.
    """

    TITLE = "nn-tui"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("f1", "help", "Help", id="app.help", show=False),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
    ]

    def __init__(
        self,
        preset: Preset | None = None,
        *,
        preset_path: Path | None = None,
        trainer: TrainerFunction | None = None,
        device_source: Callable[[str | None], DeviceReport] | None = None,
        runs_dir: str | Path = "runs",
        warm_torch: bool = True,
        lesson: int | None = None,
        lesson_run: bool = True,
        sweep_runner: Callable[..., object] | None = None,
        sweep: object | None = None,
    ) -> None:
        super().__init__()
        self.initial_preset = preset
        self.initial_path = preset_path
        if preset_path is None and preset is not None and preset.base_dir is not None:
            candidate = preset.base_dir / f"{preset.name}.toml"
            self.initial_path = candidate if candidate.exists() else None
        self.trainer: TrainerFunction = trainer or train_with_torch
        self.device_source = device_source
        self.runs_dir = runs_dir
        self.warm_torch = warm_torch
        self.torch_state = "cold"  # cold -> loading -> ready (background warm-up)
        self._started = time.monotonic()
        self._last_input = 0.0
        self.first_frame_ready = False
        self._after_first_frame: list[Callable[[], object]] = []
        self.runs: list[RunController] = []  # every run the app holds, shown or not
        self.initial_lesson = lesson  # `nn-tui lessons N`: open on lesson N (and run it unless lesson_run is False)
        self.initial_lesson_run = lesson_run
        self.sweep_runner = sweep_runner  # runs a planned sweep (tests pass a fake); None: the sweep engine
        self.initial_sweep = sweep  # a Sweep to open in the Experiments view at start (`nn-tui open SWEEP`)
        self.sweeps = None  # the SweepController, once the Experiments view opened

    def add_run(self) -> RunController:
        """A new run controller, trained with this app's trainer into its runs folder."""
        run = RunController(self, name=f"run {len(self.runs) + 1}")
        self.runs.append(run)
        return run

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        for run in self.runs:  # a training worker: its controller turns the outcome into state and messages
            if event.worker is run.worker:
                run.worker_changed(event)

    def on_mount(self) -> None:
        # Fewer, cheaper garbage collections: rendering makes many short-lived objects, and with
        # torch loaded a full collection walks hundreds of thousands of objects (see warm_up_torch).
        gc.set_threshold(GC_THRESHOLD, 20, 20)
        main = MainScreen(self.add_run(), self.initial_preset, self.initial_path)
        self.push_screen(main)
        if self.initial_lesson is not None:
            number, run = self.initial_lesson, self.initial_lesson_run
            main.call_after_refresh(lambda: main.call_later(main.open_lesson, number, run=run))
        if self.initial_sweep is not None:  # over the main screen once its tabs are all there
            sweep = self.initial_sweep
            self.after_first_frame(lambda: main.when_mounted(lambda: self.open_experiments(sweep)))
        if self.warm_torch:
            # Importing torch holds the interpreter for seconds, with pauses of up to a few hundred
            # milliseconds that keys would wait through. So it starts once the user has left the
            # keyboard alone for a moment (and the first screen is up); Train later starts at once.
            self._warm_up_timer = self.set_interval(0.25, self._maybe_warm_up)

    def after_first_frame(self, callback: Callable[[], object]) -> None:
        """Run `callback` once the first frame is painted (at once, after a refresh, if it already is):
        the hidden tabs mount then (widgets.deferred.Deferred), so the first frame does not wait for them."""
        if self.first_frame_ready:
            self.call_after_refresh(callback)
        else:
            self._after_first_frame.append(callback)

    def on_ready(self) -> None:
        # Textual sends Ready when start-up is done; the screen's first refresh happened while start-up
        # still held screen updates, so paint it now, and mount what waited once that is painted.
        self.first_frame_ready = True
        self.screen.refresh()
        waiting, self._after_first_frame = self._after_first_frame, []
        for callback in waiting:
            self.call_after_refresh(callback)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self._last_input = time.monotonic()
        await super().on_event(event)

    def _maybe_warm_up(self) -> None:
        now = time.monotonic()
        if now - self._started < WARM_UP_DELAY or now - self._last_input < WARM_UP_IDLE:
            return
        self._warm_up_timer.stop()
        if self.torch_state == "cold":
            self._warm_up()

    @work(thread=True, exit_on_error=False, group="warm-up")
    def _warm_up(self) -> None:
        if "torch" in sys.modules:  # a run got there first
            return
        self.call_from_thread(self._set_torch_state, "loading")
        try:
            devices = warm_up_torch()
        finally:
            self.call_from_thread(self._set_torch_state, "ready")
        main = self.main_screen
        if main is not None:
            main.post_message(TorchReady(devices))

    def _set_torch_state(self, state: str) -> None:
        self.torch_state = state
        main = self.main_screen
        if main is not None:
            main.torch_state_changed()

    @property
    def main_screen(self) -> MainScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """Every "Screenshot" (the palette's command calls this directly, not action_screenshot): Textual
        saves it in the user's Downloads folder and fails where there is none (a server over SSH, a
        container), so then it goes in the current folder. Textual's notification says where."""
        if path is None:
            path = str(screenshot_folder())
        return super().deliver_screenshot(filename, path, time_format)

    def open_experiments(self, sweep: object | None = None) -> None:
        """Show the Experiments view (kept while the app runs, so a sweep goes on behind other screens); with
        `sweep`, a sweep file's values fill its fields."""
        from nn_tui.tui.experiments.screen import ExperimentsScreen
        from nn_tui.tui.training.sweep_controller import SweepController

        if self.sweeps is None:
            self.sweeps = SweepController(self, self.sweep_runner, out=Path(self.runs_dir).parent / "sweeps")
        from nn_tui.core.sweep.folder import SweepFolder

        folder = sweep if isinstance(sweep, SweepFolder) else None
        if folder is not None:  # a past sweep folder: its finished trials on the board, resumable if some are missing
            if self.sweeps.active:
                self.notify("a sweep is running: stop it first (ctrl+x)", severity="warning")
                return
            sweep = folder.sweep
        if not self.is_screen_installed("experiments"):
            self.install_screen(ExperimentsScreen(self.sweeps, sweep), name="experiments")  # type: ignore[arg-type]
        elif sweep is not None:
            screen = self.get_screen("experiments")
            screen.loaded = sweep  # type: ignore[attr-defined]
            screen.fill_from(sweep)  # type: ignore[attr-defined]
        if folder is not None:
            self.get_screen("experiments").show_folder(folder)  # type: ignore[attr-defined]
        if not isinstance(self.screen, type(self.get_screen("experiments"))):
            self.push_screen("experiments")

    def action_open_experiments(self) -> None:
        self.open_experiments()

    def action_help(self) -> None:
        from nn_tui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """Stop a running training first (its run folder is saved as "stopped"), then exit."""
        for run in self.runs:
            if run.active:
                await run.stop_and_wait(timeout=2.0)
        if self.sweeps is not None and self.sweeps.active:  # its trials are saved as stopped: resumable
            self.sweeps.stop()
            await self.sweeps.wait(timeout=15.0)
        self.exit()


def screenshot_folder() -> Path:
    """The user's Downloads folder when it exists, else the current folder."""
    try:
        from platformdirs import user_downloads_path

        downloads: Path | None = user_downloads_path()
    except Exception:  # noqa: BLE001 - no platformdirs, or no home: use the current folder
        downloads = None
    return downloads if downloads is not None and downloads.is_dir() else Path.cwd()
