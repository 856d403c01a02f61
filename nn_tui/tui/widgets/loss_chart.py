"""Training and validation loss per epoch, plus the running loss within each epoch; log scale on demand."""

from __future__ import annotations

from typing import Any

from nn_tui.tui.training.history import RunHistory
from nn_tui.tui.widgets.axes import log10_values, log_ticks, narrow_y_axis
from nn_tui.tui.widgets.chart import PlotWidget


class LossChart(PlotWidget):
    """Draws a RunHistory's loss curves, thinned to about two points per column."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: RunHistory | None = None
        self.log_scale = False
        self.points_drawn = 0  # largest curve handed to plotext in the last build

    def show(self, history: RunHistory | None) -> None:
        self.history = history
        self.changed(now=True)

    def set_log_scale(self, on: bool) -> None:
        self.log_scale = on
        self.border_title = "loss (log scale)" if on else "loss"
        self.changed(now=True)

    def placeholder(self) -> str | None:
        h = self.history
        if h is None:
            return "no run yet: press t to train"
        if len(h.running_loss) == 0 and len(h.train_loss) == 0:
            return "waiting for the first steps…"
        return None

    def snapshot(self, width: int, height: int) -> Any:
        h = self.history
        assert h is not None
        budget = max(8, 2 * width)
        curves = []
        for s, label, color, marker, points in (
            # The running loss is a faint guide: one point per column is plenty.
            (h.running_loss, "running", self.color("foreground-muted", "grey"), "dot", budget // 2),
            (h.train_loss, "train", self.color("primary", "blue"), "braille", budget),
            (h.val_loss, "val", self.color("accent", "orange"), "braille", budget),
        ):
            xs, ys = s.points(points)
            if self.log_scale:
                keep = [i for i, y in enumerate(ys) if y > 0]
                xs, ys = [xs[i] for i in keep], [ys[i] for i in keep]
            if xs:
                curves.append((xs, ys, label, color, marker))
        self.points_drawn = max((len(c[0]) for c in curves), default=0)
        return curves, self.log_scale

    def draw(self, plt: Any, data: Any) -> None:
        curves, log_scale = data
        if log_scale:  # log10 of the values on a linear axis, labelled by decade (axes.py: plotext's are wide)
            curves = [(xs, log10_values(ys), label, color, marker) for xs, ys, label, color, marker in curves]
        for xs, ys, label, color, marker in curves:
            if len(xs) == 1:
                plt.scatter(xs, ys, label=label, color=color, marker=marker)
            else:
                plt.plot(xs, ys, label=label, color=color, marker=marker)
        values = [y for c in curves for y in c[1]]
        if log_scale:
            ticks = log_ticks(values)
            if ticks is not None:
                plt.yticks(*ticks)
        else:
            narrow_y_axis(plt, values)
        plt.xlabel("epoch")
