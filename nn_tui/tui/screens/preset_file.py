"""Open or save a preset: type a path, or pick a bundled preset or a .toml file in the current folder; and
the main screen's save / save as / open actions that use it."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from nn_tui.core.errors import UserError
from nn_tui.core.preset import Preset, bundled_presets, bundled_presets_dir, load_preset, save_preset


def local_presets(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.glob("*.toml") if p.is_file())[:200]
    except OSError:
        return []


class PresetFileModal(ModalScreen[tuple[Preset, Path] | Path | None]):
    """mode "open" returns (preset, path) after loading it; mode "save" returns the chosen path."""

    DEFAULT_CSS = """
    PresetFileModal { align: center middle; }
    PresetFileModal > Vertical {
        width: 80%; max-width: 90; height: auto; max-height: 90%;
        border: thick $primary; background: $panel; padding: 0 1;
    }
    PresetFileModal Input { margin: 1 0 0 0; }
    PresetFileModal #file-message { height: auto; color: $text-muted; }
    PresetFileModal #file-message.-error { color: $text-error; }
    PresetFileModal OptionList { height: auto; max-height: 14; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="file.cancel")]

    def __init__(self, mode: str, suggestion: str = "", folder: Path | None = None) -> None:
        super().__init__()
        self.mode = mode
        self.suggestion = suggestion
        self.folder = folder or Path.cwd()

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Open a preset" if self.mode == "open" else "Save the setup as a preset"
            yield Input(self.suggestion, placeholder="path/to/preset.toml", id="file-path")
            hint = "enter opens · escape cancels" if self.mode == "open" else "enter saves · escape cancels"
            yield Static(hint, id="file-message")
            options: list[Option] = []
            if self.mode == "open":
                for name, path in bundled_presets().items():
                    options.append(Option(f"bundled · {name}", id=str(path)))
            for path in local_presets(self.folder):
                options.append(Option(f"{path.name}", id=str(path)))
            if options:
                yield OptionList(*options, id="file-choices")

    def on_mount(self) -> None:
        inp = self.query_one(Input)
        inp.focus()
        if self.mode == "save" and inp.value.endswith(".toml"):
            inp.selection = (0, len(inp.value) - len(".toml"))  # type: ignore[assignment]

    def _message(self, text: str, error: bool = False) -> None:
        msg = self.query_one("#file-message", Static)
        msg.update(text)
        msg.set_class(error, "-error")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        path = event.option.id or ""
        self.query_one(Input).value = path
        self._submit(path)

    @on(Input.Submitted)
    def _entered(self, event: Input.Submitted) -> None:
        self._submit(event.value)

    def _submit(self, text: str) -> None:
        text = text.strip()
        if not text:
            self._message("type a file name", error=True)
            return
        path = Path(text).expanduser()
        if self.mode == "save":
            if path.suffix != ".toml":
                path = path.with_suffix(path.suffix + ".toml") if path.suffix else path.with_suffix(".toml")
            if path.is_dir():
                self._message("that is a folder; type a file name", error=True)
                return
            if not path.parent.exists():
                self._message(f"folder {path.parent} does not exist", error=True)
                return
            self.dismiss(path)
            return
        try:
            preset = load_preset(path)
        except UserError as exc:
            self._message(str(exc), error=True)
            return
        self.dismiss((preset, path))

    def action_cancel(self) -> None:
        self.dismiss(None)


class PresetFiles:
    """The main screen's preset files: save (ctrl+s), save as, open (ctrl+o). Mixed into MainScreen, whose
    `preset`, `preset_path`, `saved_text` and `apply_preset` it uses."""

    def _saveable_path(self) -> Path | None:
        path = self.preset_path
        if path is None:
            return None
        try:
            if path.resolve().is_relative_to(bundled_presets_dir().resolve()):
                return None  # never write into the bundled presets
        except OSError:
            return None
        return path

    def action_save(self) -> None:
        path = self._saveable_path()
        if path is None:
            self.action_save_as()
        else:
            self.save_to(path)

    @work(exclusive=True, group="file")
    async def action_save_as(self) -> None:
        from nn_tui.tui.screens.confirm import ConfirmModal

        name = self.preset.name if self.preset.name != "untitled" else "my-network"
        suggestion = self.preset_path.name if self._saveable_path() else f"{name}.toml"
        path = await self.app.push_screen_wait(PresetFileModal("save", suggestion))
        if not isinstance(path, Path):
            return
        if path.exists() and not await self.app.push_screen_wait(ConfirmModal(f"{path} exists. Replace it?", yes="Replace")):
            return
        if self.preset.name in ("untitled", "") or self.preset_path is None:
            self.preset.name = path.stem
        self.save_to(path)

    def save_to(self, path: Path) -> bool:
        from nn_tui.core.preset import dump_preset

        try:
            save_preset(self.preset, path)
        except (OSError, ValueError, TypeError) as exc:
            self.notify(f"could not save {path}: {exc}", title="Not saved", severity="error")
            return False
        self.preset_path = path
        self.saved_text = dump_preset(self.preset)
        self._update_title()
        self.notify(f"saved {path}\nrun it headless: nn-tui run {path}", title="Preset saved", timeout=4)
        return True

    @work(exclusive=True, group="file")
    async def action_open(self) -> None:
        result = await self.app.push_screen_wait(PresetFileModal("open"))
        if isinstance(result, tuple):
            preset, path = result
            await self.open_preset(preset, path)

    async def open_preset(self, preset: Preset, path: Path | None) -> None:
        try:
            await self.apply_preset(preset, path)
        except UserError as exc:
            self.notify(str(exc), title="Cannot open", severity="error")
            return
        self.notify(f"opened {path}" if path else f"opened {preset.name}", timeout=2)
        self._setup_changed()
