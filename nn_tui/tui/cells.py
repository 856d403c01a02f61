"""Pictures made of terminal cells (a character, a foreground and a background colour each) turned into Strips.

Pure numpy + Rich, no widget: the Inside tab builds its pictures on a worker thread and hands the finished
strips to the widgets, so drawing a boundary map or a network never stalls the UI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

if TYPE_CHECKING:
    import numpy as np

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Colors:
    """The theme colours a picture needs, read on the UI thread and passed to the worker."""

    surface: RGB
    text: RGB
    muted: RGB
    positive: RGB
    negative: RGB
    classes: tuple[RGB, ...]

    def class_color(self, k: int) -> RGB:
        return self.classes[k % len(self.classes)]


def strips_from_cells(chars: list[str], fg: np.ndarray, bg: np.ndarray | None = None) -> list[Strip]:
    """One Strip per row. chars: a string per row; fg / bg: (rows, cols, 3) uint8 colours (bg None: no background).
    Neighbouring cells with the same colours share one Segment, so a smooth picture is a few segments a row."""
    import numpy as np

    fg_key = (fg[..., 0].astype(np.int64) << 16) | (fg[..., 1].astype(np.int64) << 8) | fg[..., 2]
    key = fg_key
    if bg is not None:
        bg_key = (bg[..., 0].astype(np.int64) << 16) | (bg[..., 1].astype(np.int64) << 8) | bg[..., 2]
        key = (fg_key << 24) | bg_key
    styles: dict[int, Style] = {}
    strips = []
    width = fg.shape[1]
    for row in range(fg.shape[0]):
        k = key[row]
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
        ends = np.r_[starts[1:], width]
        text = chars[row]
        segments = []
        for a, b in zip(starts.tolist(), ends.tolist()):
            style_key = int(k[a])
            style = styles.get(style_key)
            if style is None:
                f = fg[row, a]
                color = RichColor.from_rgb(int(f[0]), int(f[1]), int(f[2]))
                if bg is None:
                    style = Style(color=color)
                else:
                    g = bg[row, a]
                    style = Style(color=color, bgcolor=RichColor.from_rgb(int(g[0]), int(g[1]), int(g[2])))
                styles[style_key] = style
            segments.append(Segment(text[a:b], style))
        strips.append(Strip(segments, width))
    return strips


def message_strips(message: str, width: int, height: int, color: RGB = (128, 128, 128)) -> list[Strip]:
    """A blank picture with one centred line of text."""
    strips = [Strip.blank(width) for _ in range(height)]
    if height and width:
        style = Style(color=RichColor.from_rgb(*color))
        strips[height // 2] = Strip([Segment(message[:width].center(width), style)], width)
    return strips
