"""Training and validation loss per epoch, plus the running loss within each epoch; log scale on demand."""

from __future__ import annotations

from typing import Any

from nn_tui.tui.run_history import RunHistory
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
        self.changed()

    def set_log_scale(self, on: bool) -> None:
        self.log_scale = on
        self.border_title = "loss (log scale)" if on else "loss"
        self.changed()

    def placeholder(self) -> str | None:
        h = self.history
        if h is None:
            return "no run yet: press t to train"
        if len(h.running_loss) == 0 and len(h.train_loss) == 0:
            return "waiting for the first steps…"
        return None

    def draw(self, plt: Any, width: int, height: int) -> None:
        h = self.history
        assert h is not None
        budget = max(8, 2 * width)
        most = 0
        series = [
            (h.running_loss, "running", self.color("foreground-muted", "grey"), "dot"),
            (h.train_loss, "train", self.color("primary", "blue"), "braille"),
            (h.val_loss, "val", self.color("accent", "orange"), "braille"),
        ]
        for s, label, color, marker in series:
            xs, ys = s.points(budget)
            if self.log_scale:
                keep = [i for i, y in enumerate(ys) if y > 0]
                xs, ys = [xs[i] for i in keep], [ys[i] for i in keep]
            if not xs:
                continue
            most = max(most, len(xs))
            if len(xs) == 1:
                plt.scatter(xs, ys, label=label, color=color, marker=marker)
            else:
                plt.plot(xs, ys, label=label, color=color, marker=marker)
        self.points_drawn = most
        if self.log_scale:
            plt.yscale("log")
        plt.xlabel("epoch")
