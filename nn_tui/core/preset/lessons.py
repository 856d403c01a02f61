"""The lessons path: presets and sweeps under presets/lessons/ with a `[lesson]` table of text, and the learner's
progress (which lessons were run, which "try this" was tried), kept in the user's data folder."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nn_tui.core.errors import UserError
from nn_tui.core.fileio import atomic_write_json
from nn_tui.core.preset.bundled import bundled_presets_dir
from nn_tui.core.preset.load import Preset, parse_preset, read_toml
from nn_tui.core.preset.overrides import apply_overrides

STATE_ENV = "NN_TUI_STATE_DIR"  # overrides where progress is kept (tests point it at a temporary folder)

# Where a lesson's effect shows in the app: a main tab, or a view of the Inside tab.
TABS = ("data", "network", "train", "boundary", "health", "forward", "landscape", "truth", "confusion")
TEXT_KEYS = ("title", "idea", "watch", "question", "try_text")
FIGURES = ("", "activations")  # a small figure the app shows beside the text (nn_tui.tui.lessons.figures)


@dataclass
class Lesson:
    number: int
    path: Path
    title: str
    idea: str
    watch: str
    question: str
    try_text: str  # the one change, in words
    try_set: list[str] = field(default_factory=list)  # the same change as `--set` overrides
    tab: str = "train"
    is_sweep: bool = False
    figure: str = ""

    @property
    def key(self) -> str:
        """What progress is kept under: the file's name (stable when lessons are added)."""
        return self.path.stem

    @property
    def command(self) -> str:
        """The headless command that runs this lesson's setup."""
        verb = "sweep" if self.is_sweep else "run"
        try:  # short when the lessons are below the current folder (a checkout of the repo)
            shown = self.path.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            shown = self.path
        return f"nn-tui {verb} {shown}"

    def preset(self, *, tried: bool = False) -> Preset:
        """The lesson's preset (for a sweep: the preset each trial starts from); with `tried`, the change applied."""
        raw = dict(read_toml(self.path))
        raw.pop("sweep", None)
        source = str(self.path)
        if tried and self.try_set:
            raw = apply_overrides(raw, self.try_set)
            source += " (try this)"
        preset = parse_preset(raw, source=source, default_name=self.path.stem)
        preset.base_dir = self.path.resolve().parent
        return preset


def lessons_dir() -> Path:
    return bundled_presets_dir() / "lessons"


def parse_lesson(path: Path, number: int) -> Lesson:
    raw = read_toml(path)
    source = str(path)
    table = raw.get("lesson")
    if not isinstance(table, dict):
        raise UserError("no [lesson] table with title, idea, watch, question, try_text, try and tab", source=source,
                        key="lesson")
    allowed = (*TEXT_KEYS, "try", "tab", "figure")
    for key in table:
        if key not in allowed:
            raise UserError(f"unknown key {key!r}; allowed keys: {', '.join(allowed)}", source=source, key=f"lesson.{key}")
    texts = {}
    for key in TEXT_KEYS:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise UserError("expected a non-empty string", source=source, key=f"lesson.{key}")
        texts[key] = " ".join(value.split())
    try_set = table.get("try", [])
    if not isinstance(try_set, list) or not all(isinstance(s, str) and "=" in s for s in try_set):
        raise UserError("expected a list of KEY.PATH=VALUE strings, as for --set", source=source, key="lesson.try")
    tab = table.get("tab", "train")
    if tab not in TABS:
        raise UserError(f"{tab!r} is not allowed; expected one of: {', '.join(TABS)}", source=source, key="lesson.tab")
    figure = table.get("figure", "")
    if figure not in FIGURES:
        raise UserError(f"{figure!r} is not allowed; expected one of: {', '.join(repr(f) for f in FIGURES)}",
                        source=source, key="lesson.figure")
    lesson = Lesson(number, path, try_set=list(try_set), tab=tab, is_sweep="sweep" in raw, figure=figure, **texts)
    lesson.preset(tried=True)  # a change that does not apply is the lesson's mistake: say so now
    return lesson


def all_lessons(folder: Path | None = None) -> list[Lesson]:
    """Every lesson, numbered 1, 2, … in file-name order."""
    folder = folder or lessons_dir()
    paths = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    return [parse_lesson(p, i) for i, p in enumerate(paths, 1)]


def get_lesson(number: int, folder: Path | None = None) -> Lesson:
    lessons = all_lessons(folder)
    if not 1 <= number <= len(lessons):
        raise UserError(f"no lesson {number}; lessons are numbered 1 to {len(lessons)} (nn-tui lessons lists them)",
                        source="lessons")
    return lessons[number - 1]


# ------------------------------------------------------------ progress


def state_dir() -> Path:
    """The per-user data folder: $NN_TUI_STATE_DIR, else XDG_DATA_HOME / ~/.local/share, APPDATA on Windows."""
    override = os.environ.get(STATE_ENV, "")
    if override:
        return Path(override)
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "nn-tui"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "nn-tui"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "nn-tui"


def progress_path() -> Path:
    return state_dir() / "lessons.json"


def load_progress() -> dict[str, dict[str, Any]]:
    """{lesson key: {"ran": bool, "tried": bool}}; a missing or damaged file is no progress yet."""
    try:
        data = json.loads(progress_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.get("lessons", {}).items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def mark_progress(lesson: Lesson, what: str) -> dict[str, dict[str, Any]]:
    """Record that a lesson was run ("ran") or its change tried ("tried"). Never fails the app: a folder that
    cannot be written only means progress is not kept."""
    progress = load_progress()
    progress.setdefault(lesson.key, {})[what] = True
    try:
        progress_path().parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(progress_path(), {"lessons": progress})
    except OSError:
        pass
    return progress


def progress_mark(entry: dict[str, Any] | None) -> str:
    """A lesson's progress as a short mark: ✓ done (run and tried), ◐ run, · not started."""
    entry = entry or {}
    if entry.get("ran") and entry.get("tried"):
        return "✓"
    return "◐" if entry.get("ran") or entry.get("tried") else "·"
