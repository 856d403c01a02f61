"""Colours of the "inside the network" views, taken from the app theme so they follow theme changes.

Classes get the same colours as in the Data tab's preview. Weights and activations use the theme's
primary colour for positive and its accent for negative values (blue and orange in the default theme,
as in TensorFlow Playground).
"""

from __future__ import annotations

from textual.widget import Widget

from nn_tui.tui.widgets.chart import theme_rgb
from nn_tui.tui.widgets.data_preview import CLASS_COLORS, FIXED_COLORS

RGB = tuple[int, int, int]


def class_rgb(widget: Widget, k: int) -> RGB:
    if k < len(CLASS_COLORS):
        return theme_rgb(widget, CLASS_COLORS[k], "white")
    return FIXED_COLORS[(k - len(CLASS_COLORS)) % len(FIXED_COLORS)]


def class_palette(widget: Widget, n: int) -> list[RGB]:
    return [class_rgb(widget, k) for k in range(max(n, 1))]


def sign_rgb(widget: Widget, positive: bool) -> RGB:
    return theme_rgb(widget, "primary" if positive else "accent", "blue" if positive else "orange")


def surface_rgb(widget: Widget) -> RGB:
    return theme_rgb(widget, "surface", "black")


def text_rgb(widget: Widget) -> RGB:
    return theme_rgb(widget, "foreground", "white")


def blend(a: RGB, b: RGB, t: float) -> RGB:
    """a moved towards b by t (0 = a, 1 = b)."""
    t = min(1.0, max(0.0, t))
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def hex_of(rgb: RGB) -> str:
    return f"#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x}"


def theme_colors(widget: Widget, n_classes: int = 10):
    """Every colour the Inside tab's pictures use, as plain RGB (safe to hand to a worker thread)."""
    from nn_tui.tui.cells import Colors

    return Colors(
        surface=surface_rgb(widget),
        text=text_rgb(widget),
        muted=theme_rgb(widget, "foreground-muted", "grey50"),
        positive=sign_rgb(widget, True),
        negative=sign_rgb(widget, False),
        classes=tuple(class_palette(widget, max(n_classes, 2))),
    )
