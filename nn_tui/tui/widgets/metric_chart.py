"""Validation accuracy (classification) or R² (regression) per epoch."""

from __future__ import annotations

from typing import Any

from nn_tui.tui.training.history import RunHistory
from nn_tui.tui.widgets.axes import narrow_y_axis
from nn_tui.tui.widgets.chart import PlotWidget


class MetricChart(PlotWidget):
    min_interval = 1.0  # it changes once per epoch

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: RunHistory | None = None
        self._seen: tuple | None = None

    def show(self, history: RunHistory | None) -> None:
        seen = (id(history), history.metric_values.count if history is not None else 0,
                history is not None and history.finished is not None)
        if history is self.history and seen == self._seen:
            return  # nothing new to draw (the drain calls this whenever anything in the run changed)
        self._seen = seen
        self.history = history
        if history is not None:
            title = "validation accuracy" if history.metric == "val_accuracy" else "validation R²"
            if self.border_title != title:
                self.border_title = title
        self.changed(now=history is None or history.finished is not None or len(history.metric_values) <= 1)

    def placeholder(self) -> str | None:
        h = self.history
        if h is None or len(h.metric_values) == 0:
            return "accuracy / R² appears after the first epoch"
        return None

    def snapshot(self, width: int, height: int) -> Any:
        h = self.history
        assert h is not None
        xs, ys = h.metric_values.points(max(8, 2 * width))
        return xs, ys, self.color("success", "green"), h.metric == "val_accuracy"

    def draw(self, plt: Any, data: Any) -> None:
        xs, ys, color, accuracy = data
        if len(xs) == 1:
            plt.scatter(xs, ys, color=color, marker="braille")
        else:
            plt.plot(xs, ys, color=color, marker="braille")
        if accuracy and ys:
            # Accuracy lives in [0, 1]; start the axis a little under the lowest value, not at 0.
            low = min(ys)
            plt.ylim(max(0.0, min(0.5, low - 0.05)), 1.0)
        else:
            narrow_y_axis(plt, ys)  # a diverging run's R² reaches -1e25
