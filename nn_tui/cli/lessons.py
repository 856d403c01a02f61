"""`nn-tui lessons`: list the lessons path (title, progress, where the effect shows, the headless command), or
open the app on lesson N. torch and textual are imported only when the app opens."""

from __future__ import annotations

from typing import Optional

import typer

from nn_tui.cli.exits import fail
from nn_tui.core.errors import UserError

TAB_NAMES = {"data": "Data", "network": "Network", "train": "Train", "boundary": "Inside → Boundary",
             "health": "Inside → Health", "forward": "Inside → Network", "landscape": "Inside → Landscape",
             "truth": "Inside → Truth table", "confusion": "Inside → Confusion"}


def lessons_cmd(
    number: Optional[int] = typer.Argument(None, help="Open the app on this lesson (nn-tui lessons lists them)."),
    no_run: bool = typer.Option(False, "--no-run", help="With N: load the lesson without starting its run."),
) -> None:
    """List the lessons (how networks learn and fail, one thing to run and see each), or open the app on lesson N."""
    from nn_tui.core.preset.lessons import all_lessons, get_lesson, load_progress, progress_mark, progress_path

    try:
        if number is None:
            lessons = all_lessons()
        else:
            lesson = get_lesson(number)
    except UserError as exc:
        raise fail(exc) from None
    if number is not None:
        open_lesson(lesson.number, run=not no_run)
        return
    progress = load_progress()
    width = max((len(lesson.title) for lesson in lessons), default=0)
    for lesson in lessons:
        mark = progress_mark(progress.get(lesson.key))
        typer.echo(f"{lesson.number:>2} {mark} {lesson.title.ljust(width)}  {TAB_NAMES[lesson.tab]}")
        typer.echo(f"      {lesson.command}")
    typer.echo(f"\n✓ run and tried, ◐ run, · not yet (progress: {progress_path()}). nn-tui lessons N opens lesson N.")


def open_lesson(number: int, *, run: bool) -> None:
    from nn_tui.cli.app import launch_app

    launch_app("run the lesson's preset with nn-tui run", lesson=number, lesson_run=run)
