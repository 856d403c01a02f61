"""A modal that explains a failure (with the traceback folded below) instead of crashing the app."""

from __future__ import annotations

import traceback

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ErrorModal(ModalScreen[None]):
    DEFAULT_CSS = """
    ErrorModal { align: center middle; }
    ErrorModal > Vertical {
        width: 80%; max-width: 100; height: auto; max-height: 80%;
        border: thick $error; background: $panel; padding: 1 2;
    }
    ErrorModal #error-title { text-style: bold; color: $text-error; }
    ErrorModal #error-message { margin: 1 0; }
    ErrorModal VerticalScroll { height: auto; max-height: 12; color: $text-muted; }
    ErrorModal Button { margin-top: 1; }
    """
    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close", id="error.close")]

    def __init__(self, title: str, error: BaseException | str | None) -> None:
        super().__init__()
        self.title_text = title
        if isinstance(error, BaseException):
            self.message = f"{type(error).__name__}: {error}"
            self.details = "".join(traceback.format_exception(error))
        else:
            self.message = str(error or "")
            self.details = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="error-title", markup=False)
            yield Static(self.message, id="error-message", markup=False)
            if self.details:
                with VerticalScroll():
                    yield Static(self.details, markup=False)
            yield Button("Close", variant="error", id="error-close")

    def on_button_pressed(self) -> None:
        self.dismiss()

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()
