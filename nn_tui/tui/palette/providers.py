"""Command palette (ctrl+p): open / save presets, bundled presets, datasets, and the run controls that apply now."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from nn_tui.core.preset.load import bundled_presets, load_preset
from nn_tui.core.errors import UserError


class CommandList(Provider):
    """A palette provider whose commands are a list of (text, callback, help) from `_commands()`."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        raise NotImplementedError

    async def discover(self) -> Hits:
        for text, command, help_text in self._commands():
            yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, help=help_text)


class NNTuiCommands(CommandList):
    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        from nn_tui.tui.screens.main import MainScreen

        screen = self.screen
        if not isinstance(screen, MainScreen):
            return []
        tv = screen.train_view_if_mounted  # None just after the first frame
        out: list[tuple[str, Callable[[], object], str]] = [
            ("Open preset file…", screen.action_open, "load a .toml preset (ctrl+o)"),
            ("Save preset", screen.action_save, "save the setup as a preset TOML (ctrl+s)"),
            ("Save preset as…", screen.action_save_as, "save the setup under a new file name"),
        ]
        if tv is not None and tv.active:
            out.append(("Stop training", screen.action_stop, "stop the run; it is saved as stopped (x)"))
            if tv.state in ("starting", "training"):
                out.append(("Pause training", screen.action_pause, "space"))
            if tv.state == "paused":
                out.append(("Resume training", screen.action_resume, "space"))
                out.append(("Step one epoch", screen.action_step, "n"))
        else:
            out.append(("Train", screen.action_train, "train the current setup in a new run (t)"))
            out += self._resume_commands()
        if tv is not None:
            out.append(("Toggle log scale of the loss chart", screen.action_log_scale, "l"))
        from nn_tui.tui.palette.insight import insight_commands

        out += insight_commands(screen)  # compare runs; export the last run
        for name, path in bundled_presets().items():
            out.append((f"Bundled preset: {name}", partial(self._open_bundled, path), str(path.name)))
        for name, info in screen.datasets.items():
            out.append((f"Dataset: {name}", partial(screen.choose_dataset, name), info.description))
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
        screen.action_show_tab("tab-train")  # type: ignore[attr-defined]
        screen.when_mounted(lambda: screen.train_view.start(preset, resume_dir=str(path)))  # type: ignore[attr-defined]

    async def _open_bundled(self, path) -> None:
        screen = self.screen
        try:
            preset = load_preset(path)
        except UserError as exc:
            self.app.notify(str(exc), title="Cannot open", severity="error")
            return
        await screen.open_preset(preset, path)  # type: ignore[attr-defined]
