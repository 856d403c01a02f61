"""Base for plotext charts: one figure per widget, in the app theme's colours, built off the UI thread.

A plotext build of a large chart, and turning its ANSI text into styled lines, cost tens of
milliseconds each. Done in `render()` that froze the UI twice a second while training. Here the
UI thread only takes a small snapshot of the data (already thinned to about two points per
column); a thread worker builds the finished lines (Strips, read from plotext's ANSI by a small
parser of the few codes plotext writes), and the widget shows the previous picture until the new
one is ready (`render_line` just hands out lines). Data changes redraw at most every
`min_interval` seconds, and at most every 10x the last build's time: a build holds the GIL the
trainer needs, so on a busy machine the charts slow down rather than training.

A `clocked` chart leaves those decisions to its owner (the Train tab): `changed()` only records new
data, the owner calls `redraw()` when its budget allows, and a finished build waits for the owner's
`present()`, so it reaches the screen in the same update as the owner's readouts.

plotext is imported on the first build, not at app start, so the first frame stays fast.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget


def _parse(value: str, fallback: str) -> Color:
    try:
        return Color.parse(value)
    except Exception:  # noqa: BLE001 - a theme variable that is not a plain colour
        return Color.parse(fallback)


def theme_rgb(widget: Widget, name: str, fallback: str = "white") -> tuple[int, int, int]:
    """A theme colour as RGB for plotext; translucent ones (e.g. foreground-muted) are blended over the surface."""
    variables = widget.app.theme_variables
    color = _parse(variables.get(name, fallback), fallback)
    if color.a < 1:
        surface = _parse(variables.get("surface", "black"), "black")
        color = surface.blend(color.with_alpha(1), color.a)
    return color.rgb


_SGR = re.compile("\x1b\\[([0-9;]*)m")


def ansi_to_strips(ansi: str, width: int, height: int) -> list[Strip] | None:
    """plotext's output as Strips, `width` cells wide and `height` lines.

    plotext writes only resets, bold and 24-bit colours; parsing just that is 5-10x faster than
    rich's general ANSI decoder plus a console render (about a third of a chart build). Returns None for
    anything else, and the caller falls back to rich.
    """
    styles: dict[tuple, Style] = {}

    def style(fg: str | None, bg: str | None, bold: bool) -> Style:
        key = (fg, bg, bold)
        if key not in styles:
            styles[key] = Style(color=fg, bgcolor=bg, bold=bold or None)
        return styles[key]

    strips: list[Strip] = []
    for line in ansi.split("\n")[:height]:
        fg = bg = None
        bold = False
        segments: list[Segment] = []
        pos = 0
        for match in _SGR.finditer(line):
            if match.start() > pos:
                segments.append(Segment(line[pos:match.start()], style(fg, bg, bold)))
            pos = match.end()
            params = match.group(1).split(";") if match.group(1) else ["0"]
            i = 0
            while i < len(params):
                code = params[i]
                if code in ("0", ""):
                    fg = bg = None
                    bold = False
                elif code == "1":
                    bold = True
                elif code == "22":
                    bold = False
                elif code in ("38", "48") and i + 4 < len(params) and params[i + 1] == "2":
                    color = f"rgb({params[i + 2]},{params[i + 3]},{params[i + 4]})"
                    if code == "38":
                        fg = color
                    else:
                        bg = color
                    i += 4
                elif code == "39":
                    fg = None
                elif code == "49":
                    bg = None
                else:
                    return None
                i += 1
        if pos < len(line):
            if "\x1b" in line[pos:]:
                return None
            segments.append(Segment(line[pos:], style(fg, bg, bold)))
        strips.append(Strip(segments).crop_extend(0, width, None))
    while len(strips) < height:
        strips.append(Strip.blank(width))
    return strips


BUILD_BUDGET = 10  # redraw at most every BUILD_BUDGET x the last build's time (builds take <= ~10% of the time)


class PlotWidget(Widget):
    """Subclasses implement `snapshot(width, height)` (UI thread) and `draw(plt, data)` (worker thread).

    Call `changed()` when the data changes.
    """

    DEFAULT_CSS = """
    PlotWidget { width: 1fr; height: 1fr; background: $surface; content-align: center middle; }
    """

    min_interval = 0.5
    # False: a finished build is shown at once. True: it waits for the owner's next `present()`, so a
    # caller with a frame clock (the Train tab's 4 Hz drain) gets one screen update per tick, not one per
    # chart build as well.
    clocked = False

    @dataclass
    class Built(Message):
        key: tuple
        lines: list[Strip]
        seconds: float

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.version = 0  # the data version being shown
        self._data_version = 0  # the newest data version
        self._plot: Any = None
        self._shown_key: tuple | None = None
        self._shown: list[Strip] = []
        self._rich_console: Console | None = None
        self._building: tuple | None = None  # key of the build in flight
        self.builds = 0  # how many times plotext actually ran (for tests and measurements)
        self.build_seconds = 0.0  # cost of the last build
        self._last_build = 0.0
        self._redraw_timer: Timer | None = None
        self._pending: tuple[tuple, list[Strip]] | None = None  # a finished build waiting for present()
        self.shown_at = 0.0  # when the last build went on screen

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.changed(now=True))

    # ------------------------------------------------------------ data changes

    def changed(self, *, now: bool = False) -> None:
        """The data changed: redraw (throttled, unless `now`). A clocked chart redraws when `now`, or when its
        owner calls `redraw()`."""
        self._data_version += 1
        if self.clocked and not now:
            return
        wait = self._last_build + max(self.min_interval, BUILD_BUDGET * self.build_seconds) - time.monotonic()
        if now or wait <= 0:
            self._redraw_later()
        elif self._redraw_timer is None:
            self._redraw_timer = self.set_timer(wait, self._redraw_later)

    @property
    def stale(self) -> bool:
        """There is newer data than the picture being shown or built, and no build in flight (for a clocked
        chart's owner)."""
        return self._data_version != self.version and self._building is None

    def redraw(self) -> None:
        """Draw the newest data now (a clocked chart's owner decides when)."""
        self._redraw_later()

    def _redraw_later(self) -> None:
        if self._redraw_timer is not None:
            self._redraw_timer.stop()
        self._redraw_timer = None
        self.version = self._data_version
        if self.is_on_screen:
            # Start the build now: a refresh() would first repaint the old picture for nothing.
            if self._update():
                self.refresh()
        else:
            self.refresh()  # drawn (and built) when it is next shown

    @property
    def settled(self) -> bool:
        """Showing the newest data at the current size (for tests and snapshots)."""
        return (self._building is None and self._redraw_timer is None and self._pending is None
                and self._data_version == self.version and self._shown_key == self._key())

    # ------------------------------------------------------------ drawing

    def placeholder(self) -> str | None:
        """Text to show instead of a chart (e.g. before the first epoch), or None to draw."""
        return None

    def color(self, name: str, fallback: str = "white") -> tuple[int, int, int]:
        return theme_rgb(self, name, fallback)

    def _key(self) -> tuple:
        width, height = self.size
        return (width, height, self.version, self.app.theme)

    def render_line(self, y: int) -> Strip:
        if y == 0:
            self._update()
        width = self.size.width
        if y < len(self._shown):
            line = self._shown[y]
            return line if line.cell_length == width else line.crop_extend(0, width, self.rich_style)
        return Strip.blank(width, self.rich_style)

    def _update(self) -> bool:
        """Show a placeholder at once (returns True: repaint), or start building the chart for the current
        data and size."""
        key = self._key()
        if key == self._shown_key:
            return False
        width, height = self.size
        text = self.placeholder()
        if text is not None or width < 12 or height < 5:
            self._pending = None
            self._shown_key, self._shown = key, self._placeholder_lines(text or "", width, height)
            return True
        if self._building is None and (self._pending is None or self._pending[0] != key):
            self._start_build(key, width, height)
        return False

    def _placeholder_lines(self, text: str, width: int, height: int) -> list[Strip]:
        style = self.rich_style
        muted = style + Style(dim=True)
        lines = [Strip.blank(width, style) for _ in range(height)]
        if height:
            words = text[:width].center(width)
            lines[height // 2] = Strip([Segment(words, muted)], width)
        return lines

    def _start_build(self, key: tuple, width: int, height: int) -> None:
        self._building = key
        data = self.snapshot(width, height)
        colors = {
            "canvas": self.color("surface", "black"),
            "ticks": self.color("foreground-muted", "grey"),
        }
        self.run_worker(
            lambda: self._build(key, width, height, data, colors),
            thread=True,
            group="plots",
            exit_on_error=False,
        )

    def _build(self, key: tuple, width: int, height: int, data: Any, colors: dict) -> None:
        """Worker thread: plotext only, no widget state but the figure this widget owns."""
        started = time.thread_time()
        try:
            if self._plot is None:
                from textual_plotext.plot import Plot

                self._plot = Plot()
            plt = self._plot
            plt.clear_figure()
            plt.plotsize(width, height)
            plt._set_size(width, height)  # see textual-plotext issue 5: plotsize alone does not always stick
            plt.canvas_color(colors["canvas"])
            plt.axes_color(colors["canvas"])
            plt.ticks_color(colors["ticks"])
            self.draw(plt, data)
            ansi = plt.build()
            lines = ansi_to_strips(ansi, width, height)
            if lines is not None:
                self.post_message(self.Built(key, lines, time.thread_time() - started))
                return
            text = Text.from_ansi(ansi, no_wrap=True)
        except Exception as exc:  # noqa: BLE001 - a chart that cannot be drawn says so instead of stopping the app
            text = Text(f"cannot draw this chart: {type(exc).__name__}: {exc}", style="dim")
        if self._rich_console is None:
            self._rich_console = Console(color_system="truecolor", force_terminal=True, legacy_windows=False, file=io.StringIO())
        console = self._rich_console
        options = console.options.update(width=width, height=height, no_wrap=True, overflow="crop")
        lines = [Strip(line, width) for line in console.render_lines(text, options, pad=True)]
        self.post_message(self.Built(key, lines, time.thread_time() - started))

    def on_plot_widget_built(self, event: PlotWidget.Built) -> None:
        event.stop()
        self._building = None
        self._last_build = time.monotonic()
        self.build_seconds = event.seconds
        self.builds += 1
        self._pending = (event.key, event.lines)
        if not self.clocked:
            self.present()

    def present(self) -> bool:
        """Show the finished build, if there is one (returns True); then start the next if a new size (or,
        unclocked, newer data) arrived meanwhile."""
        if self._pending is None:
            return False
        (self._shown_key, self._shown), self._pending = self._pending, None
        self.shown_at = time.monotonic()
        self.refresh()
        if self.is_on_screen:
            self._update()
        return True

    def snapshot(self, width: int, height: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def draw(self, plt: Any, data: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
