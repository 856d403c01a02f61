"""The decision boundary map: the predicted class over the input plane in half-block cells, shaded by
confidence, with the training points on top (TensorFlow Playground's picture, in a terminal)."""

from __future__ import annotations

from typing import Any

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from nn_tui.core.boundary import BoundaryGrid
from nn_tui.tui.insight_colors import blend, class_palette, surface_rgb, text_rgb

HALF_BLOCK = "▀"  # foreground paints the upper pixel, background the lower one
MIN_SHADE, MAX_SHADE = 0.12, 0.62  # how much of the class colour a region gets, by confidence


class BoundaryMap(Widget):
    """`show(grid, X, y)`; ask `wanted_grid()` for the grid size that fills the widget (2 pixels per cell)."""

    DEFAULT_CSS = """
    BoundaryMap { width: 1fr; height: 1fr; background: $surface; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.grid: BoundaryGrid | None = None
        self.points: tuple[Any, Any] | None = None  # (X, y) numpy arrays
        self.message = "no boundary yet"
        self._strips: list[Strip] | None = None
        self._built_for: tuple | None = None
        self.builds = 0

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._invalidate())

    def wanted_grid(self) -> tuple[int, int]:
        """(cols, rows) of a grid that maps one cell per column and two per text row."""
        return max(1, self.size.width), max(1, 2 * self.size.height)

    def show(self, grid: BoundaryGrid | None, X: Any = None, y: Any = None, message: str = "") -> None:
        self.grid = grid
        if X is not None:
            self.points = (X, y)
        self.message = message or self.message
        self._invalidate()

    def _invalidate(self) -> None:
        self._strips = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        key = (width, height, id(self.grid), self.app.theme)
        if self._strips is None or key != self._built_for:
            self._strips = self._build(width, height)
            self._built_for = key
        return self._strips[y] if y < len(self._strips) else Strip.blank(width)

    # ------------------------------------------------------------ drawing

    def _build(self, width: int, height: int) -> list[Strip]:
        if self.grid is None or width < 2 or height < 1:
            blank = [Strip.blank(width, self.rich_style) for _ in range(height)]
            if height:
                text = self.message[:width].center(width)
                blank[height // 2] = Strip([Segment(text, Style(color="grey50"))], width)
            return blank
        import numpy as np

        self.builds += 1
        g = self.grid
        px_rows = 2 * height
        cols = np.minimum(np.arange(width) * g.cols // width, g.cols - 1)
        rows = np.minimum(np.arange(px_rows) * g.rows // px_rows, g.rows - 1)
        classes = g.classes[np.ix_(rows, cols)]
        confidence = g.confidence[np.ix_(rows, cols)].astype(np.float64)
        k = max(g.n_classes, 2)
        strength = np.clip((confidence - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)
        alpha = MIN_SHADE + (MAX_SHADE - MIN_SHADE) * strength
        surface = np.array(surface_rgb(self), dtype=np.float64)
        palette = np.array(class_palette(self, k), dtype=np.float64)
        target = palette[np.clip(classes, 0, k - 1)]
        pixels = surface + (target - surface) * alpha[..., None]

        if self.points is not None and self.points[0] is not None and len(self.points[0]):
            X, labels = self.points
            e = g.extent
            px = ((X[:, 0] - e.x_min) / (e.x_max - e.x_min) * width).astype(int)
            py = ((e.y_max - X[:, 1]) / (e.y_max - e.y_min) * px_rows).astype(int)
            inside = (px >= 0) & (px < width) & (py >= 0) & (py < px_rows)
            text = text_rgb(self)
            bright = np.array([blend(tuple(int(c) for c in palette[i]), text, 0.3) for i in range(k)], dtype=np.float64)
            labels = np.clip(np.asarray(labels).reshape(-1).astype(int), 0, k - 1)
            pixels[py[inside], px[inside]] = bright[labels[inside]]

        rgb = pixels.round().astype(np.uint8)
        styles: dict[tuple, Style] = {}
        strips = []
        for r in range(height):
            top, bottom = rgb[2 * r], rgb[2 * r + 1]
            segments: list[Segment] = []
            run_key: tuple | None = None
            run_len = 0
            for c in range(width):
                cell = (tuple(top[c]), tuple(bottom[c]))
                if cell == run_key:
                    run_len += 1
                    continue
                if run_key is not None:
                    segments.append(Segment(HALF_BLOCK * run_len, self._style(styles, run_key)))
                run_key, run_len = cell, 1
            if run_key is not None:
                segments.append(Segment(HALF_BLOCK * run_len, self._style(styles, run_key)))
            strips.append(Strip(segments, width))
        return strips

    @staticmethod
    def _style(cache: dict[tuple, Style], key: tuple) -> Style:
        style = cache.get(key)
        if style is None:
            (t, b) = key
            style = Style(color=RichColor.from_rgb(*t), bgcolor=RichColor.from_rgb(*b))
            cache[key] = style
        return style

