"""A small modal to change the learning rate, momentum, weight decay and L1 of the run that is training: it
shows the values in use and returns only the ones changed (enter applies, escape cancels)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from nn_tui.core.errors import UserError
from nn_tui.core.preset import TrainingSpec
from nn_tui.core.training.live import check_live_change, live_keys
from nn_tui.tui.fields import format_value

LABELS = {"lr": "learning rate", "momentum": "momentum", "weight_decay": "weight decay", "l1": "L1"}


class LiveSettingsModal(ModalScreen[dict[str, float] | None]):
    DEFAULT_CSS = """
    LiveSettingsModal { align: center middle; }
    LiveSettingsModal > Vertical {
        width: 56; max-width: 100%; height: auto; border: thick $accent; background: $panel; padding: 0 1;
    }
    LiveSettingsModal #live-title { margin-bottom: 1; }
    LiveSettingsModal .live-row { height: 1; }
    LiveSettingsModal .live-row Label { width: 15; color: $text-muted; }
    LiveSettingsModal .live-row Input { width: 1fr; }
    LiveSettingsModal #live-error { color: $text-error; height: auto; }
    LiveSettingsModal Horizontal#live-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    LiveSettingsModal Button { margin-left: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="live.cancel")]

    def __init__(self, training: TrainingSpec, current: dict[str, float | None]) -> None:
        super().__init__()
        self.training = training
        self.keys = live_keys(training)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Change while training: the weights stay, the new values apply from the next step.",
                         id="live-title")
            for key in self.keys:
                with Horizontal(classes="live-row"):
                    yield Label(LABELS[key])
                    yield Input(format_value(self.current.get(key)), id=f"live-{key}", compact=True,
                                select_on_focus=True)
            yield Static("", id="live-error")
            with Horizontal(id="live-buttons"):
                yield Button("Cancel (esc)", id="live-cancel", compact=True)
                yield Button("Apply (enter)", id="live-apply", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one(f"#live-{self.keys[0]}", Input).focus()

    def changes(self) -> dict[str, float]:
        """The values typed that differ from those in use; UserError for one that is not allowed."""
        out = {}
        for key in self.keys:
            text = self.query_one(f"#live-{key}", Input).value.strip()
            try:
                value = check_live_change(self.training, key, float(text))
            except ValueError:
                raise UserError(f"{text!r} is not a number", key=LABELS[key]) from None
            except UserError as exc:
                raise UserError(exc.detail, key=LABELS[key]) from None
            if value != self.current.get(key):
                out[key] = value
        return out

    @on(Input.Submitted)
    @on(Button.Pressed, "#live-apply")
    def _apply(self) -> None:
        try:
            changes = self.changes()
        except UserError as exc:
            self.query_one("#live-error", Static).update(str(exc))
            return
        self.dismiss(changes)

    @on(Button.Pressed, "#live-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
