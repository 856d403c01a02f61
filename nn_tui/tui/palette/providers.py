"""The command palette's providers (ctrl+p): on the main screen, open / save presets, bundled presets, datasets,
the run controls that apply now, comparing and exporting runs; on the runs screen, exporting a run."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial


from nn_tui.core.preset import bundled_presets, load_preset
from nn_tui.core.errors import UserError
from nn_tui.tui.palette.base import CommandList
from nn_tui.tui.palette.export import export_commands


class NNTuiCommands(CommandList):
    """The main screen's palette (MainScreen.COMMANDS)."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        screen = self.screen
        run = screen.run
        tv = screen.train_view_if_mounted  # None just after the first frame
        out: list[tuple[str, Callable[[], object], str]] = [
            ("Open preset file…", screen.action_open, "load a .toml preset (ctrl+o)"),
            ("Save preset", screen.action_save, "save the setup as a preset TOML (ctrl+s)"),
            ("Save preset as…", screen.action_save_as, "save the setup under a new file name"),
        ]
        if run.active:
            out.append(("Stop training", screen.action_stop, "stop the run; it is saved as stopped (x)"))
            if run.can_change_settings:
                out.append(("Change learning rate, momentum, weight decay or L1…", screen.action_adjust,
                            "while training, from the next step; the weights are kept (e)"))
            if run.state in ("starting", "training"):
                out.append(("Pause training", screen.action_pause, "space"))
            if run.state == "paused":
                out.append(("Resume training", screen.action_resume, "space"))
                out.append(("Step one epoch", screen.action_step, "n"))
        else:
            out.append(("Train", screen.action_train, "train the current setup in a new run (t)"))
            out += self._resume_commands()
        out.append(("Find learning rate", screen.action_find_lr,
                    "sweep a copy of the network with a growing lr, plot the loss, suggest one (L)"))
        if tv is not None:
            out.append(("Toggle log scale of the loss chart", screen.action_log_scale, "l"))
        out.append(("Compare runs", screen.action_compare_runs,
                    "past runs in the runs folder; select two or more to overlay their loss curves"))
        out += self._lesson_commands()
        out.append(("Experiments", self.app.open_experiments,  # type: ignore[attr-defined]
                    "vary settings of this setup (a list or a range), run them side by side (E)"))
        out += sweep_commands(self.app)
        history = run.history
        if not run.active and history is not None and history.finished is not None:
            out += export_commands(self.app, history.run_dir)
        for name, path in bundled_presets().items():
            out.append((f"Bundled preset: {name}", partial(self._open_bundled, path), str(path.name)))
        for name, info in screen.datasets.items():
            out.append((f"Dataset: {name}", partial(screen.choose_dataset, name), info.description))
        return out

    def _lesson_commands(self) -> list[tuple[str, Callable[[], object], str]]:
        screen = self.screen
        out = [("Lessons", screen.action_lessons, "how networks learn and fail: pick a lesson, run it, try one change (f2)")]
        lesson = getattr(screen, "lesson", None)
        if lesson is not None:
            out.append(("Lesson: try this", screen.action_lesson_try, f"{lesson.try_text} (y)"))
            out.append(("Next lesson", screen.action_lesson_next, ">"))
            out.append(("Previous lesson", screen.action_lesson_prev, "<"))
            out.append(("Close the lesson", screen.action_lesson_close, "hide the lesson's text"))
        return out

    def _resume_commands(self) -> list[tuple[str, Callable[[], object], str]]:
        """'Resume run …' for the newest runs that stopped or were killed before their last epoch."""
        from nn_tui.core.run.runs_folder import list_runs

        out = []
        for record in list_runs(getattr(self.app, "runs_dir", "runs")):
            total = record.summary.get("epochs")
            if record.status in ("stopped", "running") and (not total or record.epochs_run < total):
                help_text = f"{record.status} after epoch {record.epochs_run} of {total}; continue from its checkpoint"
                out.append((f"Resume run {record.run_id}", partial(self._resume, record.path), help_text))
            if len(out) == 10:
                break
        return out

    def _resume(self, path) -> None:
        screen = self.screen
        try:
            preset = load_preset(path / "preset.toml")
        except UserError as exc:
            self.app.notify(str(exc), title="Cannot resume", severity="error")
            return
        screen.resume_run(preset, path)  # type: ignore[attr-defined]

    async def _open_bundled(self, path) -> None:
        screen = self.screen
        try:
            preset = load_preset(path)
        except UserError as exc:
            self.app.notify(str(exc), title="Cannot open", severity="error")
            return
        await screen.open_preset(preset, path)  # type: ignore[attr-defined]


def sweep_commands(app) -> list[tuple[str, Callable[[], object], str]]:
    """'Bundled sweep: …' for each sweep in presets/sweeps: it opens in the Experiments view."""
    from nn_tui.core.sweep.bundled import bundled_sweeps

    return [(f"Bundled sweep: {name}", partial(open_sweep_file, app, path), path.name)
            for name, path in bundled_sweeps().items()]


def open_sweep_file(app, path) -> None:
    from nn_tui.core.sweep.spec import load_sweep

    try:
        sweep = load_sweep(path)
    except UserError as exc:
        app.notify(str(exc), title="Cannot open", severity="error")
        return
    app.open_experiments(sweep)


class ExperimentsCommands(CommandList):
    """The Experiments view's palette: its actions that apply now, and the bundled sweeps."""

    def _commands(self):
        screen = self.screen
        ctl = screen.controller
        out = []
        if not ctl.active:
            out.append(("Run sweep", screen.action_run_sweep, "run the typed values as a sweep (ctrl+r)"))
        else:
            out.append(("Stop sweep", screen.action_stop_sweep, "running trials are saved as stopped (ctrl+x)"))
        if ctl.resumable:
            out.append(("Resume sweep", screen.action_resume_sweep, f"finish {ctl.sweep_dir} (ctrl+e)"))
        if screen.board is not None and screen.board.best() is not None:
            out.append(("Use best trial's settings", screen.action_use_best, "copy them into the setup (b)"))
        if screen.highlighted is not None:
            out.append(("Open trial", screen.action_open_trial, "its curves and weights in Train and Inside (enter)"))
        out.append(("Next setting in the metric chart", screen.action_next_setting, "v"))
        out.append(("Show or hide the fields", screen.action_toggle_setup, "f"))
        out.append(("Back to the setup", screen.action_back, "escape"))
        return out + sweep_commands(self.app)


class RunsCommands(CommandList):
    """The runs screen's palette (RunsScreen.COMMANDS): export the highlighted run."""

    def _commands(self):
        record = getattr(self.screen, "highlighted", None)
        opened = [("Open run", self.screen.action_open_run,
                   f"{record.run_id}: its setup, curves and weights in Train and Inside (o)")] if record else []
        return opened + export_commands(self.app, record.path if record else None, "highlighted run")
