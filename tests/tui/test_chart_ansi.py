"""The charts' fast reader of plotext's output gives exactly what rich's general ANSI decoder gives."""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text
from textual.strip import Strip
from textual_plotext.plot import Plot

from nn_tui.tui.widgets.chart import ansi_to_strips


def cells(strips: list[Strip]) -> list[list[tuple]]:
    def rgb(color):
        return None if color is None else tuple(color.get_truecolor())

    return [
        [(ch, rgb(seg.style.color if seg.style else None), rgb(seg.style.bgcolor if seg.style else None),
          bool(seg.style and seg.style.bold)) for seg in strip for ch in seg.text]
        for strip in strips
    ]


def rich_strips(ansi: str, width: int, height: int) -> list[Strip]:
    console = Console(color_system="truecolor", force_terminal=True, legacy_windows=False, file=io.StringIO())
    options = console.options.update(width=width, height=height, no_wrap=True, overflow="crop")
    return [Strip(line, width) for line in console.render_lines(Text.from_ansi(ansi, no_wrap=True), options, pad=True)]


def test_plotext_output_reads_the_same_as_with_rich():
    width, height = 70, 16
    plt = Plot()
    plt.plotsize(width, height)
    plt._set_size(width, height)
    plt.canvas_color((30, 30, 30))
    plt.axes_color((30, 30, 30))
    plt.ticks_color((150, 150, 150))
    xs = list(range(200))
    plt.plot(xs, [1 / (1 + x) for x in xs], color=(0, 120, 255), marker="braille", label="train")
    plt.plot(xs, [1.2 / (1 + x) for x in xs], color=(255, 160, 0), marker="dot", label="val")
    plt.xlabel("epoch")
    plt.title("loss")
    ansi = plt.build()
    fast = ansi_to_strips(ansi, width, height)
    assert fast is not None
    assert cells(fast) == cells(rich_strips(ansi, width, height))
    assert all(strip.cell_length == width for strip in fast) and len(fast) == height


def test_anything_but_plain_colours_falls_back_to_rich():
    assert ansi_to_strips("\x1b[4munderlined\x1b[0m", 20, 1) is None
    assert ansi_to_strips("\x1b[38;5;208m256-colour\x1b[0m", 20, 1) is None
    short = ansi_to_strips("\x1b[1mab\x1b[0m", 5, 3)
    assert [strip.cell_length for strip in short] == [5, 5, 5]
