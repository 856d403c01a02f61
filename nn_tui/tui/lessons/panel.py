"""The lesson's text, docked beside the tabs (under them on a narrow screen; ctrl+l hides and shows it): the idea,
what to watch, a question, and the one thing to try."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Static

from nn_tui.core.preset.lessons import Lesson
from nn_tui.tui.lessons.figures import activation_figure


class LessonPanel(VerticalScroll):
    """Shows one lesson. Its buttons post `LessonPanel.Pressed` with "try", "prev", "next", "list" or "close"."""

    DEFAULT_CSS = """
    LessonPanel {
        dock: right; width: 32; height: 100%; padding: 0 1;  /* of the space between the header and the footer */
        border: round $border-blurred; border-title-color: $text-accent; border-title-style: bold;
    }
    LessonPanel .lesson-head { text-style: bold; color: $text-accent; margin-top: 1; }
    LessonPanel #lesson-title { text-style: bold; }
    LessonPanel #lesson-figure { margin-top: 1; }
    LessonPanel #lesson-status { color: $text-muted; margin-top: 1; }
    LessonPanel Horizontal { height: auto; margin-top: 1; }
    LessonPanel Button { min-width: 4; margin-right: 1; }
    LessonPanel.-below { dock: bottom; width: 1fr; height: 40%; min-height: 7; }
    LessonPanel.-folded { display: none; }
    """
    BELOW = 100  # a screen narrower than this shows the lesson under the tabs, not beside them

    class Pressed(Message):
        def __init__(self, what: str) -> None:
            super().__init__()
            self.what = what

    def __init__(self, lesson: Lesson, total: int, *, id: str | None = "lesson-panel") -> None:
        super().__init__(id=id)
        self.lesson = lesson
        self.total = total

    def compose(self) -> ComposeResult:
        yield Static("", id="lesson-title", markup=False)
        yield Static("", id="lesson-idea", markup=False)
        yield Static("", id="lesson-figure", markup=False)
        yield Static("What to watch", classes="lesson-head")
        yield Static("", id="lesson-watch", markup=False)
        yield Static("Question", classes="lesson-head")
        yield Static("", id="lesson-question", markup=False)
        yield Static("Try this (y)", classes="lesson-head")
        yield Static("", id="lesson-try", markup=False)
        with Horizontal():
            yield Button("Try this", id="lesson-try-button", variant="primary", compact=True)
            yield Button("Side by side", id="lesson-compare-button", compact=True,
                         tooltip="Every setting of this lesson's comparison in the Experiments view (s)")
            yield Button("◀", id="lesson-prev", compact=True, tooltip="Previous lesson (<)")
            yield Button("▶", id="lesson-next", compact=True, tooltip="Next lesson (>)")
            yield Button("☰", id="lesson-list", compact=True, tooltip="All lessons (f2)")
            yield Button("✕", id="lesson-close", compact=True, tooltip="Close the lesson")
        yield Static("", id="lesson-status", markup=False)

    def on_mount(self) -> None:
        self.place(self.screen.size.width)
        self.show(self.lesson, self.total)

    def place(self, screen_width: int) -> None:
        self.set_class(screen_width < self.BELOW, "-below")

    def show(self, lesson: Lesson, total: int, status: str = "") -> None:
        self.lesson, self.total = lesson, total
        self.border_title = f"Lesson {lesson.number} of {total}"
        self.border_subtitle = "ctrl+l hides"  # where the eye is; the footer says it too ("^l Lesson")
        self.query_one("#lesson-title", Static).update(lesson.title)
        self.query_one("#lesson-idea", Static).update(lesson.idea)
        figure = self.query_one("#lesson-figure", Static)
        figure.update(activation_figure() if lesson.figure == "activations" else "")
        figure.display = bool(lesson.figure)
        self.query_one("#lesson-watch", Static).update(lesson.watch)
        self.query_one("#lesson-question", Static).update(lesson.question)
        shown = [f"--set {s}" for s in lesson.try_set]
        text = lesson.try_text + ("\n" + "\n".join(shown) if shown and sum(map(len, shown)) <= 80 else "")
        if lesson.is_sweep:
            text += f"\n\nThe whole comparison, headless:\n{lesson.command}"
        self.query_one("#lesson-try", Static).update(text)
        self.query_one("#lesson-prev", Button).disabled = lesson.number <= 1
        self.query_one("#lesson-compare-button", Button).display = lesson.is_sweep
        self.query_one("#lesson-next", Button).disabled = lesson.number >= total
        self.set_status(status)

    def set_status(self, status: str) -> None:
        self.query_one("#lesson-status", Static).update(status)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        what = (event.button.id or "").removeprefix("lesson-").removesuffix("-button")
        self.post_message(self.Pressed(what))
