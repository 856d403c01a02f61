"""A small scatter plot of a dataset: 2-D points coloured by class, or x against y for a 1-feature regression."""

from __future__ import annotations

from typing import Any

from nn_tui.tui.widgets.chart import PlotWidget

CLASS_COLORS = ("primary", "accent", "success", "error", "secondary", "warning")
FIXED_COLORS = ((90, 200, 250), (255, 120, 200), (180, 140, 255), (255, 220, 90))


class DataPreview(PlotWidget):
    """`show(points)` with points = (xs, ys, labels, label_names, kind); kind is "classes", "values" or "xy"."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.points: Any = None
        self.message = "loading preview…"

    def show(self, points: Any, message: str = "") -> None:
        self.points = points
        self.message = message
        self.changed()

    def placeholder(self) -> str | None:
        return None if self.points is not None else self.message

    def _class_color(self, k: int) -> tuple[int, int, int]:
        if k < len(CLASS_COLORS):
            return self.color(CLASS_COLORS[k])
        return FIXED_COLORS[(k - len(CLASS_COLORS)) % len(FIXED_COLORS)]

    def snapshot(self, width: int, height: int) -> Any:
        xs, ys, labels, names, kind = self.points
        if kind == "xy":
            return kind, [(xs, ys, self.color("primary"), None)]
        groups: dict[int, tuple[list[float], list[float]]] = {}
        for x, y, k in zip(xs, ys, labels):
            gx, gy = groups.setdefault(int(k), ([], []))
            gx.append(x)
            gy.append(y)
        series = []
        for k in sorted(groups):
            gx, gy = groups[k]
            name = names[k] if names and k < len(names) else str(k)
            series.append((gx, gy, self._class_color(k), name if len(groups) <= 6 else None))
        return kind, series

    def draw(self, plt: Any, data: Any) -> None:
        kind, series = data
        for xs, ys, color, label in series:
            plt.scatter(xs, ys, color=color, marker="braille", label=label)
        if kind == "xy":
            plt.xlabel("x")
