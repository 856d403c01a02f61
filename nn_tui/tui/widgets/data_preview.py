"""A small scatter plot of a dataset: 2-D points coloured by class, or x against y for a 1-feature regression."""

from __future__ import annotations

from typing import Any

from textual.markup import escape

from nn_tui.tui.widgets.chart import PlotWidget

CLASS_COLORS = ("primary", "accent", "success", "error", "secondary", "warning")
FIXED_COLORS = ((90, 200, 250), (255, 120, 200), (180, 140, 255), (255, 220, 90))
FEW_POINTS = 64  # up to this many, each point is a whole-cell dot with room around it (XOR's four corners)
MARGIN = 0.12  # share of the data range left free on each side, for few points


class DataPreview(PlotWidget):
    """`show(points)` with points = (xs, ys, labels, label_names, kind); kind is "classes", "values" or "xy"."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.points: Any = None
        self.message = "loading preview…"

    def show(self, points: Any, message: str = "") -> None:
        self.points = points
        self.message = message
        self.border_subtitle = self._legend()
        self.changed()

    def _legend(self) -> str:
        """Class names in their colours on the bottom border, where no point can be under them."""
        if self.points is None or self.points[4] != "classes":
            return ""
        _, _, labels, names, _ = self.points
        classes = sorted({int(k) for k in labels})
        if len(classes) > len(CLASS_COLORS):
            return ""
        return "  ".join(
            f"[#{''.join(f'{c:02x}' for c in self._class_color(k))}]● {escape(names[k] if names and k < len(names) else str(k))}[/]"
            for k in classes
        )

    def placeholder(self) -> str | None:
        return None if self.points is not None else self.message

    def _class_color(self, k: int) -> tuple[int, int, int]:
        if k < len(CLASS_COLORS):
            return self.color(CLASS_COLORS[k])
        return FIXED_COLORS[(k - len(CLASS_COLORS)) % len(FIXED_COLORS)]

    def snapshot(self, width: int, height: int) -> Any:
        xs, ys, labels, names, kind = self.points
        if kind == "xy":
            return kind, [(xs, ys, self.color("primary"))]
        groups: dict[int, tuple[list[float], list[float]]] = {}
        for x, y, k in zip(xs, ys, labels):
            gx, gy = groups.setdefault(int(k), ([], []))
            gx.append(x)
            gy.append(y)
        series = []
        for k in sorted(groups):
            gx, gy = groups[k]
            series.append((gx, gy, self._class_color(k)))
        return kind, series

    def draw(self, plt: Any, data: Any) -> None:
        kind, series = data
        few = sum(len(xs) for xs, _, _ in series) <= FEW_POINTS
        for xs, ys, color in series:
            plt.scatter(xs, ys, color=color, marker="●" if few else "braille")
        if few and series:
            for axis, limits in ((0, plt.xlim), (1, plt.ylim)):
                values = [v for s in series for v in s[axis]]
                lo, hi = min(values), max(values)
                pad = (hi - lo) * MARGIN or 0.5
                limits(lo - pad, hi + pad)
        if kind == "xy":
            plt.xlabel("x")
