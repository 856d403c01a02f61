"""The decision boundary map: the predicted class over the input plane in half-block cells, shaded by
confidence, with the training points on top (TensorFlow Playground's picture, in a terminal)."""

from __future__ import annotations

from typing import Any

from textual.strip import Strip

from nn_tui.core.inspection.boundary import BoundaryGrid
from nn_tui.tui.cells import Colors, strips_from_cells
from nn_tui.tui.widgets.picture import PictureWidget
from nn_tui.tui.widgets.insight_colors import blend

HALF_BLOCK = "▀"  # foreground paints the upper pixel, background the lower one
MIN_SHADE, MAX_SHADE = 0.12, 0.62  # how much of the class colour a region gets, by confidence
SHADES = 8  # confidence levels drawn: fewer colours, longer runs of identical cells


def draw_boundary(
    grid: BoundaryGrid,
    points: tuple[Any, Any] | None,
    width: int,
    height: int,
    colors: Colors,
    test_points: tuple[Any, Any] | None = None,
) -> list[Strip]:
    """The map as `height` strips of `width` cells; each cell shows two pixels of the grid (any grid size).
    Training points are drawn in their class colour, test points (if given) paler."""
    import numpy as np

    px_rows = 2 * height
    cols = np.minimum(np.arange(width) * grid.cols // width, grid.cols - 1)
    rows = np.minimum(np.arange(px_rows) * grid.rows // px_rows, grid.rows - 1)
    classes = grid.classes[np.ix_(rows, cols)]
    confidence = grid.confidence[np.ix_(rows, cols)].astype(np.float64)
    k = max(grid.n_classes, 2)
    strength = np.clip((confidence - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)
    strength = np.round(strength * (SHADES - 1)) / (SHADES - 1)
    alpha = MIN_SHADE + (MAX_SHADE - MIN_SHADE) * strength
    surface = np.array(colors.surface, dtype=np.float64)
    palette = np.array([colors.class_color(i) for i in range(k)], dtype=np.float64)
    target = palette[np.clip(classes, 0, k - 1)]
    pixels = surface + (target - surface) * alpha[..., None]
    e = grid.extent
    for group, toward_text in ((points, 0.3), (test_points, 0.75)):
        if group is None or group[0] is None or not len(group[0]):
            continue
        X, labels = group
        px = np.floor((X[:, 0] - e.x_min) / (e.x_max - e.x_min) * width).astype(int)
        py = np.floor((e.y_max - X[:, 1]) / (e.y_max - e.y_min) * px_rows).astype(int)
        inside = (px >= 0) & (px < width) & (py >= 0) & (py < px_rows)
        tones = np.array([blend(colors.class_color(i), colors.text, toward_text) for i in range(k)], dtype=np.float64)
        labels = np.clip(np.asarray(labels).reshape(-1).astype(int), 0, k - 1)
        pixels[py[inside], px[inside]] = tones[labels[inside]]
    rgb = pixels.round().astype(np.uint8)
    return strips_from_cells([HALF_BLOCK * width] * height, rgb[0::2], rgb[1::2])


class BoundaryMap(PictureWidget):
    """`show(grid, X, y)` draws when rendered; `show_strips(...)` takes a picture already drawn off the UI thread.
    `wanted_grid()` is the grid size that fills the widget (one column per cell, two rows per text row)."""

    MIN_SIZE = (2, 1)
    DEFAULT_CSS = """
    BoundaryMap { width: 1fr; height: 1fr; background: $surface; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("no boundary yet", id=id)
        self.grid: BoundaryGrid | None = None
        self.points: tuple[Any, Any] | None = None  # (X, y) numpy arrays
        self.test_points: tuple[Any, Any] | None = None

    def wanted_grid(self) -> tuple[int, int]:
        return max(1, self.size.width), max(1, 2 * self.size.height)

    def show(self, grid: BoundaryGrid | None, X: Any = None, y: Any = None, message: str = "",
             test_points: tuple[Any, Any] | None = None) -> None:
        self.grid = grid
        self.test_points = test_points
        if X is not None:
            self.points = (X, y)
        self.message = message or self.message
        self._invalidate()

    def show_strips(self, grid: BoundaryGrid, X: Any, y: Any, strips: list[Strip], key: tuple) -> None:
        """A picture drawn elsewhere for `key` = (width, height, colors); used if the widget still has that size."""
        self.grid, self.points = grid, (X, y)
        self._set_strips(strips, key)

    def has_picture(self) -> bool:
        return self.grid is not None

    def draw(self, width: int, height: int, colors: Colors) -> list[Strip]:
        return draw_boundary(self.grid, self.points, width, height, colors, self.test_points)
