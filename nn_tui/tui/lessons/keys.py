"""The main screen's lesson keys: open the list (f2), load and run a lesson, "try this", next / previous, and
show the tab where the lesson's effect is once its run ends. Mixed into MainScreen."""

from __future__ import annotations

from textual.widgets import TabbedContent

from nn_tui.core.errors import UserError
from nn_tui.core.preset.lessons import Lesson, all_lessons, mark_progress
from nn_tui.tui.lessons.panel import LessonPanel

LESSON_ACTIONS = ("lesson_try", "lesson_next", "lesson_prev", "lesson_compare", "lesson_toggle")
# A lesson's tab: (main tab, Inside view or None).
TAB_TARGETS = {"data": ("tab-data", None), "network": ("tab-network", None), "train": ("tab-train", None),
               "boundary": ("tab-inside", "boundary-pane"), "health": ("tab-inside", "health-pane"),
               "forward": ("tab-inside", "network-pane"), "landscape": ("tab-inside", "landscape-pane"),
               "truth": ("tab-inside", "truth-pane"), "confusion": ("tab-inside", "confusion-pane")}


class LessonKeys:
    lesson: Lesson | None = None
    lesson_tried: bool = False
    _lesson_run_pending: bool = False  # a lesson's run was started: show its tab when it ends

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in LESSON_ACTIONS:
            if self.lesson is None:
                return False
            if action == "lesson_next":
                return self.lesson.number < len(self._lessons()) or None
            if action == "lesson_prev":
                return self.lesson.number > 1 or None
            if action == "lesson_compare":
                return self.lesson.is_sweep
            return True
        return super().check_action(action, parameters)

    def _lessons(self) -> list[Lesson]:
        cached = getattr(self, "_lessons_cache", None)
        if cached is None:
            try:
                cached = all_lessons()
            except UserError as exc:
                self.notify(str(exc), title="Cannot read the lessons", severity="error")
                cached = []
            self._lessons_cache = cached
        return cached

    def action_lessons(self) -> None:
        from nn_tui.tui.lessons.list_screen import LessonsScreen

        lessons = self._lessons()
        if not lessons:
            return

        def chosen(number: int | None) -> None:
            if number:
                self.call_later(self.open_lesson, number)

        current = self.lesson.number if self.lesson else None
        self.app.push_screen(LessonsScreen(lessons, current), chosen)

    async def open_lesson(self, number: int, *, run: bool = True, tried: bool = False) -> None:
        """Load lesson `number`'s setup (with its change when `tried`), show its text, and run it."""
        lessons = self._lessons()
        if not 1 <= number <= len(lessons):
            return
        lesson = lessons[number - 1]
        try:
            preset = lesson.preset(tried=tried)
        except UserError as exc:
            self.notify(str(exc), title="Cannot open the lesson", severity="error")
            return
        if self.run.active:
            await self.run.stop_and_wait(timeout=2.0)
        self.lesson, self.lesson_tried = lesson, tried
        await self.apply_preset(preset, None)  # None: Save never writes a lesson file
        self._setup_changed()
        panel = self.query_one_optional(LessonPanel)
        status = self._lesson_status(running=run)
        if panel is None:
            await self.query_one("#main-body").mount(LessonPanel(lesson, len(lessons)))  # under the header, over the footer
            self.query_one(LessonPanel).set_status(status)
        else:
            panel.show(lesson, len(lessons), status)
        self.refresh_bindings()
        if run:
            self._lesson_run_pending = True
            mark_progress(lesson, "tried" if tried else "ran")
            self.action_train()

    def _lesson_status(self, *, running: bool, ended: str = "") -> str:
        assert self.lesson is not None
        what = "with the change (try this)" if self.lesson_tried else "as set up"
        if ended:
            side = "\ns: every setting of the comparison side by side (Experiments)." if self.lesson.is_sweep else ""
            return (f"Run {what}: {ended}." + ("\nCompare runs (ctrl+p) overlays the two." if self.lesson_tried else "")
                    + side)
        side = "\ns: every setting of the comparison side by side (Experiments)." if self.lesson.is_sweep else ""
        return (f"Training {what}…" if running else "Press t to train it, y to try the change.") + side

    def on_run_controller_finished(self, event) -> None:
        """A lesson's run ended: go to the view where its effect shows."""
        if self.lesson is None or not self._lesson_run_pending:
            return
        if event.finished.status == "stopped":  # a run stopped by hand, or the one a newly opened lesson replaced
            return
        self._lesson_run_pending = False
        main_tab, inside = TAB_TARGETS[self.lesson.tab]
        self.action_show_tab(main_tab)
        if inside is not None:
            def show_inside() -> None:
                tabs = self.query_one_optional("#insight-tabs", TabbedContent)
                if tabs is not None:
                    tabs.active = inside

            self.when_mounted(show_inside)
        panel = self.query_one_optional(LessonPanel)
        if panel is not None:
            panel.set_status(self._lesson_status(running=False, ended=event.finished.status))

    def on_lesson_panel_pressed(self, event: LessonPanel.Pressed) -> None:
        actions = {"try": self.action_lesson_try, "compare": self.action_lesson_compare, "prev": self.action_lesson_prev, "next": self.action_lesson_next,
                   "list": self.action_lessons, "close": self.action_lesson_close}
        actions[event.what]()

    def action_lesson_try(self) -> None:
        if self.lesson is not None:
            self.call_later(self.open_lesson, self.lesson.number, tried=True)

    def action_lesson_compare(self) -> None:
        """A lesson that is a sweep: open its whole comparison in the Experiments view (enter runs it there)."""
        if self.lesson is None or not self.lesson.is_sweep:
            return
        from nn_tui.core.sweep.spec import load_sweep

        try:
            sweep = load_sweep(self.lesson.path)
        except UserError as exc:
            self.notify(str(exc), title="Cannot open the comparison", severity="error")
            return
        self.app.open_experiments(sweep)  # type: ignore[attr-defined]

    def action_lesson_next(self) -> None:
        if self.lesson is not None and self.lesson.number < len(self._lessons()):
            self.call_later(self.open_lesson, self.lesson.number + 1)

    def action_lesson_prev(self) -> None:
        if self.lesson is not None and self.lesson.number > 1:
            self.call_later(self.open_lesson, self.lesson.number - 1)

    def action_lesson_toggle(self) -> None:
        """Hide the lesson's text to give the tabs the whole screen, or show it again."""
        panel = self.query_one_optional(LessonPanel)
        if panel is not None:
            panel.toggle_class("-folded")

    def on_resize(self, event) -> None:
        panel = self.query_one_optional(LessonPanel)
        if panel is not None:
            panel.place(event.size.width)

    def action_lesson_close(self) -> None:
        self.lesson = None
        self._lesson_run_pending = False
        panel = self.query_one_optional(LessonPanel)
        if panel is not None:
            panel.remove()
        self.refresh_bindings()
