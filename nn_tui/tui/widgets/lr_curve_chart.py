"""The learning-rate finder's curve: smoothed loss against the learning rate on a log axis, the suggestion marked."""

from __future__ import annotations

from typing import Any

from nn_tui.core.inspection.lr_find import LrCurve, decade_ticks
from nn_tui.tui.widgets.chart import PlotWidget


class LrCurveChart(PlotWidget):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.curve: LrCurve | None = None
        self.message = "sweeping the learning rate…"

    def show(self, curve: LrCurve | None, message: str = "") -> None:
        self.curve = curve
        self.message = message
        self.changed(now=True)

    def placeholder(self) -> str | None:
        if self.curve is None or len(self.curve.lrs) < 2:
            return self.message or "no curve"
        return None

    def snapshot(self, width: int, height: int) -> Any:
        c = self.curve
        assert c is not None
        return (list(c.lrs), list(c.losses), c.suggested_lr, c.losses[c.suggested_index] if c.suggested_index is not None else None,
                self.color("primary", "blue"), self.color("accent", "orange"))

    def draw(self, plt: Any, data: Any) -> None:
        lrs, losses, suggested, at, line, mark = data
        plt.plot(lrs, losses, color=line, marker="braille")
        if suggested is not None:
            plt.vline(suggested, color=mark)
            plt.scatter([suggested], [at], color=mark, marker="●")
        plt.xscale("log")
        plt.xticks(*decade_ticks(lrs))
        plt.xlabel("learning rate (log)")
