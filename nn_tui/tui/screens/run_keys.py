"""The main screen's run keys: which apply now (for the Footer and the palette) and what they do, all on the
screen's RunController (`self.run`). Mixed into MainScreen."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.widgets import TabbedContent

from nn_tui.core.preset import Preset


class RunKeys:
    RUN_ACTIONS = ("train", "stop", "pause", "resume", "step", "adjust", "reset", "log_scale")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        run = self.run
        state = run.state
        if action == "train":
            return not run.active
        if action == "stop":
            return run.active
        if action == "pause":  # also while starting: the run then starts paused
            return state in ("starting", "training")
        if action in ("resume", "step"):
            return state == "paused"
        if action == "adjust":
            return run.can_change_settings
        if action == "reset":
            return run.history is not None
        if action == "log_scale":
            return self.query_one(TabbedContent).active == "tab-train"
        return True

    def _run_offers(self) -> tuple:
        return tuple(self.check_action(action, ()) for action in self.RUN_ACTIONS)

    def refresh_bindings(self) -> None:
        self._offered = self._run_offers()
        super().refresh_bindings()

    def action_train(self) -> None:
        if not self.all_mounted:
            self.when_mounted(self.action_train)
            return
        if self.run.active:
            return
        refused = self.refused_fields()
        if refused:
            self.notify("\n".join(refused), title="Fix these fields first", severity="warning")
            return
        # Show the Train tab first and start once it is drawn: laying it out while a small network trains
        # would come out of the training thread's time (the GIL), and the first frames look the same.
        self.action_show_tab("tab-train")
        preset = self.preset
        self.call_after_refresh(lambda: self.run.start(preset, io=self.setup_io()))

    def action_compare_runs(self) -> None:
        from nn_tui.tui.screens.runs import RunsScreen

        self.app.push_screen(RunsScreen(getattr(self.app, "runs_dir", "runs")))

    def action_find_lr(self) -> None:
        """The learning-rate finder on a copy of the setup; y in it sets training.lr to the suggestion."""
        from nn_tui.tui.screens.lr_finder import LrFinderScreen

        refused = self.refused_fields()
        if refused:
            self.notify("\n".join(refused), title="Fix these fields first", severity="warning")
            return
        self.app.push_screen(LrFinderScreen(self.preset), self.use_lr)

    def use_lr(self, lr: float | None) -> None:
        if lr is None:
            return
        self.preset.training.lr = lr
        self.when_mounted(lambda: self.query_one("#training-form").set_value("lr", lr))
        self._setup_changed()
        self.notify(f"training.lr = {lr:g}", title="Learning rate set", timeout=3)

    def resume_run(self, preset: Preset, path: Path) -> None:
        """Continue the run in folder `path` (its preset: `preset`) from its last checkpoint."""
        self.action_show_tab("tab-train")
        self.when_mounted(lambda: self.run.start(preset, resume_dir=str(path)))

    @work(exclusive=True, group="open-run")
    async def open_run(self, path: str | Path) -> None:
        """Show the finished run in folder `path`: its preset becomes the setup, the Train tab its curves and final
        numbers, the Inside tab its saved weights (computed in a thread). Nothing trains; t trains the setup again."""
        from nn_tui.core.errors import UserError
        from nn_tui.core.run.opened import open_run_folder, replay_events

        if self.run.active:
            self.notify("a run is training in the Train tab: stop it first (x)", severity="warning")
            return
        try:
            opened = open_run_folder(path)
            await self.apply_preset(opened.preset, None)
        except UserError as exc:
            self.notify(str(exc), title="Cannot open the run", severity="error")
            return
        self._setup_changed()
        self.action_show_tab("tab-train")
        self.when_mounted(lambda: self.run.show_finished(opened.preset, replay_events(opened), io=self.setup_io()))
        self._load_final_snapshot(opened)
        self.notify(f"{opened.path}\nt trains this setup again", title="Opened a finished run", timeout=3)

    @work(thread=True, exit_on_error=False, exclusive=True, group="open-run-weights")
    def _load_final_snapshot(self, opened) -> None:
        from nn_tui.core.run.opened import final_snapshot

        try:
            snapshot = final_snapshot(opened)
        except Exception as exc:  # noqa: BLE001 - a damaged weights file: the curves still show
            self.app.call_from_thread(self.notify, f"{type(exc).__name__}: {exc}", title="Cannot show its weights",
                                      severity="error")
            return
        self.app.call_from_thread(self.when_mounted, lambda: self._final_snapshot_loaded(str(opened.path), snapshot))

    def _final_snapshot_loaded(self, path: str, snapshot) -> None:
        history = self.run.history
        if history is not None and history.run_dir == path:  # still the run shown (not a new one since)
            self.run.show_snapshot(snapshot)

    def action_stop(self) -> None:
        self.run.stop()

    def action_pause(self) -> None:
        self.run.pause()

    def action_resume(self) -> None:
        self.run.resume()

    def action_step(self) -> None:
        self.run.step()

    @work(exclusive=True, group="adjust")
    async def action_adjust(self) -> None:
        """Change the learning rate, momentum, weight decay or L1 of the run that is training (a modal)."""
        from nn_tui.tui.screens.live_settings import LABELS, LiveSettingsModal

        run = self.run
        if not run.can_change_settings or run.run_preset is None:
            return
        changes = await self.app.push_screen_wait(LiveSettingsModal(run.run_preset.training, dict(run.settings)))
        if changes and run.can_change_settings:
            run.change_settings(changes)
            words = ", ".join(f"{LABELS[key]} {value:g}" for key, value in changes.items())
            self.notify(f"from the next step: {words}", title="Training settings changed", timeout=3)

    def action_log_scale(self) -> None:
        on_ = self.train_view.toggle_log_scale()
        self.notify(f"loss chart: {'log' if on_ else 'linear'} scale", timeout=1.5)

    @work(exclusive=True, group="reset")
    async def action_reset(self) -> None:
        run = self.run
        if not run.active:
            run.clear()
            return
        from nn_tui.tui.screens.confirm import ConfirmModal

        if await self.app.push_screen_wait(
            ConfirmModal("Stop this run and start again from fresh weights with the current setup?", yes="Restart")
        ):
            await run.stop_and_wait()
            run.start(self.preset, io=self.setup_io())
