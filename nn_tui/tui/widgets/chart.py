"""Base for plotext charts: one figure per widget, drawn in the app theme's colours, rebuilt only when data or size change.

plotext is imported on the first draw, not at app start, so the first frame stays fast.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.color import Color
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


class PlotWidget(Widget):
    """Subclasses implement `draw(plt, width, height)` and bump `self.version` when their data changes."""

    DEFAULT_CSS = """
    PlotWidget { width: 1fr; height: 1fr; background: $surface; content-align: center middle; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.version = 0
        self._plot: Any = None
        self._cache_key: tuple | None = None
        self._cache: Text | None = None
        self.builds = 0  # how many times plotext actually ran (for tests and measurements)

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.changed())

    def changed(self) -> None:
        self.version += 1
        self.refresh()

    def placeholder(self) -> str | None:
        """Text to show instead of a chart (e.g. before the first epoch), or None to draw."""
        return None

    def color(self, name: str, fallback: str = "white") -> tuple[int, int, int]:
        return theme_rgb(self, name, fallback)

    def render(self) -> Text:
        width, height = self.size
        key = (width, height, self.version, self.app.theme)
        if key == self._cache_key and self._cache is not None:
            return self._cache
        text = self.placeholder()
        if text is not None or width < 12 or height < 5:
            out = Text(text or "", style="dim", justify="center")
        else:
            out = self._build(width, height)
        self._cache_key, self._cache = key, out
        return out

    def _build(self, width: int, height: int) -> Text:
        if self._plot is None:
            from textual_plotext.plot import Plot

            self._plot = Plot()
        plt = self._plot
        plt.clear_figure()
        plt.plotsize(width, height)
        plt._set_size(width, height)  # see textual-plotext issue 5: plotsize alone does not always stick
        bg = self.color("surface", "black")
        plt.canvas_color(bg)
        plt.axes_color(bg)
        plt.ticks_color(self.color("foreground-muted", "grey"))
        self.draw(plt, width, height)
        self.builds += 1
        return Text.from_ansi(plt.build())

    def draw(self, plt: Any, width: int, height: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
