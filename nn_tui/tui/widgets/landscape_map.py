"""The loss landscape as a shaded map: loss bands on a log scale (low = the theme's primary colour, high = its
accent), contour lines where one band meets the next, the optimizer's path on top and the current weights as
a bright dot. Half-block cells: each text cell shows two pixels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.strip import Strip

from nn_tui.tui.cells import Colors, strips_from_cells
from nn_tui.tui.widgets.picture import PictureWidget

if TYPE_CHECKING:
    from nn_tui.core.inspection.landscape import Landscape

HALF_BLOCK = "▀"
LEVELS = 10  # loss bands; their edges are the contour lines


def loss_levels(scape: Landscape):
    """(band per grid point 0..LEVELS-1, the band edges as losses): equal steps of log10(loss)."""
    import numpy as np

    values = np.log10(np.maximum(scape.loss, 1e-12))
    finite = np.isfinite(values)
    lo, hi = (float(values[finite].min()), float(values[finite].max())) if finite.any() else (0.0, 1.0)
    hi = max(hi, lo + 1e-9)
    bands = np.clip(((values - lo) / (hi - lo) * LEVELS).astype(int), 0, LEVELS - 1)
    bands = np.where(finite, bands, LEVELS - 1)
    edges = [10 ** (lo + (hi - lo) * k / LEVELS) for k in range(LEVELS + 1)]
    return bands, edges


def draw_landscape(scape: Landscape, width: int, height: int, colors: Colors) -> list:
    import numpy as np

    px_rows = 2 * height
    nx, ny = len(scape.xs), len(scape.ys)
    cols = np.minimum((np.arange(width) * nx) // width, nx - 1)
    rows = np.minimum((np.arange(px_rows) * ny) // px_rows, ny - 1)[::-1]  # top of the map = largest y
    bands, _ = loss_levels(scape)
    band = bands[np.ix_(rows, cols)]
    t = band / (LEVELS - 1)
    surface = np.array(colors.surface, dtype=np.float64)
    low, high = np.array(colors.positive, dtype=np.float64), np.array(colors.negative, dtype=np.float64)
    tone = low + (high - low) * t[..., None]
    pixels = surface + (tone - surface) * (0.30 + 0.35 * (1 - np.abs(2 * t - 1)))[..., None]
    # contour lines: a pixel whose band differs from the one to its right or below
    edge = np.zeros(band.shape, dtype=bool)
    edge[:, :-1] |= band[:, :-1] != band[:, 1:]
    edge[:-1, :] |= band[:-1, :] != band[1:, :]
    muted = np.array(colors.muted, dtype=np.float64)
    pixels[edge] = pixels[edge] + (muted - pixels[edge]) * 0.55

    def to_pixel(x: float, y: float) -> tuple[float, float]:
        fx = (x - scape.xs[0]) / (scape.xs[-1] - scape.xs[0]) * (width - 1)
        fy = (scape.ys[-1] - y) / (scape.ys[-1] - scape.ys[0]) * (px_rows - 1)
        return fx, fy

    def put(fx: float, fy: float, rgb) -> None:
        x, y = int(round(fx)), int(round(fy))
        if 0 <= x < width and 0 <= y < px_rows:
            pixels[y, x] = rgb

    text = np.array(colors.text, dtype=np.float64)
    path = [to_pixel(float(a), float(b)) for a, b in scape.path]
    for (x0, y0), (x1, y1) in zip(path, path[1:]):
        n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        for k in range(n + 1):
            put(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n, text * 0.8 + surface * 0.2)
    if path:
        put(*path[0], muted)
    mx, my, _ = scape.minimum
    put(*to_pixel(mx, my), np.array(colors.class_color(2), dtype=np.float64))
    put(*to_pixel(*scape.current), np.array(colors.class_color(1), dtype=np.float64))
    rgb = pixels.round().clip(0, 255).astype(np.uint8)
    return strips_from_cells([HALF_BLOCK * width] * height, rgb[0::2], rgb[1::2])


class LandscapeMap(PictureWidget):
    """`show_strips(...)` takes a picture drawn off the UI thread; `show(None, message)` a message instead."""

    MIN_SIZE = (4, 2)
    DEFAULT_CSS = """
    LandscapeMap { width: 1fr; height: 1fr; background: $surface; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("no landscape yet", id=id)
        self.landscape: Landscape | None = None

    def show(self, landscape: Landscape | None, message: str = "") -> None:
        self.landscape = landscape
        self.message = message or self.message
        self._invalidate()

    def show_strips(self, landscape: Landscape, strips: list[Strip], key: tuple) -> None:
        self.landscape = landscape
        self._set_strips(strips, key)

    def has_picture(self) -> bool:
        return self.landscape is not None

    def draw(self, width: int, height: int, colors: Colors) -> list[Strip]:
        return draw_landscape(self.landscape, width, height, colors)
