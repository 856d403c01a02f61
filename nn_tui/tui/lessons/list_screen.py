"""The list of lessons with the learner's progress; choosing one dismisses with its number."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from nn_tui.core.preset.lessons import Lesson, load_progress, progress_mark

TAB_NAMES = {"data": "Data", "network": "Network", "train": "Train", "boundary": "Inside: boundary",
             "health": "Inside: health", "forward": "Inside: forward pass", "landscape": "Inside: landscape",
             "truth": "Inside: truth table", "confusion": "Inside: confusion"}


class LessonsScreen(ModalScreen[int | None]):
    """enter opens the highlighted lesson (loads it and runs it); escape goes back."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Back", id="lessons.back"),
        Binding("enter", "choose", "Open lesson", id="lessons.choose", show=True),
    ]
    DEFAULT_CSS = """
    LessonsScreen { align: center middle; }
    LessonsScreen > Vertical {
        width: 90%; max-width: 90; height: auto; max-height: 90%;
        border: round $border; border-title-color: $text-accent; border-title-style: bold; padding: 0 1;
    }
    LessonsScreen OptionList { height: auto; max-height: 16; border: none; padding: 0; }
    LessonsScreen #lessons-help { color: $text-muted; }
    """

    def __init__(self, lessons: list[Lesson], current: int | None = None) -> None:
        super().__init__()
        self.lessons = lessons
        self.current = current

    def compose(self) -> ComposeResult:
        progress = load_progress()
        width = max((len(lesson.title) for lesson in self.lessons), default=0)
        options = [
            Option(f"{lesson.number:>2} {progress_mark(progress.get(lesson.key))} {lesson.title.ljust(width)}  "
                   f"{TAB_NAMES.get(lesson.tab, lesson.tab)}", id=str(lesson.number))
            for lesson in self.lessons
        ]
        done = sum(1 for lesson in self.lessons if progress_mark(progress.get(lesson.key)) == "✓")
        with Vertical() as box:
            box.border_title = f"Lessons · {done} of {len(self.lessons)} done"
            yield OptionList(*options, id="lessons-list")
            yield Static("✓ run and tried · ◐ run · enter: load, run and show it · esc: back", id="lessons-help")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.current is not None:
            options.highlighted = self.current - 1
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(event.option.id or 0))

    def action_choose(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self.dismiss(options.highlighted + 1)
