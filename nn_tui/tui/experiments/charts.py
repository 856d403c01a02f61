"""The Experiments view's charts: every configuration's curve overlaid (the mean over its seeds as a line, the
lowest and highest seed as a faint band), and the metric against one varied setting."""

from __future__ import annotations

import math
from typing import Any

from nn_tui.tui.experiments.board import Band
from nn_tui.tui.widgets.axes import log10_values, log_ticks, short_ticks
from nn_tui.tui.widgets.chart import PlotWidget

# One colour per configuration (Tableau 10): distinct on dark and light themes, the same in chart and table.
PALETTE = ((78, 121, 167), (242, 142, 43), (225, 87, 89), (118, 183, 178), (89, 161, 79),
           (237, 201, 72), (176, 122, 161), (255, 157, 167), (156, 117, 95), (186, 176, 172))
MAX_BANDS = 8  # with more configurations only the means are drawn: a chart of 30 bands says nothing


def color(index: int) -> tuple[int, int, int]:
    return PALETTE[index % len(PALETTE)]


def faint(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return tuple(int(c * 0.55) for c in rgb)  # type: ignore[return-value]


def stride(n: int, points: int) -> int:
    return max(1, math.ceil(n / max(4, points)))


class OverlayChart(PlotWidget):
    """The sweep's metric per epoch, one colour per configuration."""

    min_interval = 0.5

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.bands: list[Band] = []
        self.metric = ""

    def show(self, bands: list[Band], metric: str) -> None:
        self.bands, self.metric = bands, metric
        self.changed()

    def placeholder(self) -> str | None:
        if not self.bands:
            return "each trial's curve appears here"
        return None

    def snapshot(self, width: int, height: int) -> Any:
        """UI thread: every curve thinned to about two points per column (the same epochs for mean and band)."""
        out = []
        with_band = len(self.bands) <= MAX_BANDS
        legend = width >= 50 and len(self.bands) <= 6
        for band in self.bands:
            step = stride(len(band.xs), 2 * width)
            xs = band.xs[::step]
            if xs and xs[-1] != band.xs[-1]:
                xs = [*xs, band.xs[-1]]
                pick = list(range(0, len(band.xs), step)) + [len(band.xs) - 1]
            else:
                pick = list(range(0, len(band.xs), step))
            row = [band.mean[i] for i in pick]
            low = [band.low[i] for i in pick] if with_band else None
            high = [band.high[i] for i in pick] if with_band else None
            out.append((band.label if legend else None, xs, row, low, high, color(band.color)))
        values = [y for _, _, mean, low, high, _ in out for y in (*mean, *(low or ()), *(high or ()))]
        # A diverging trial's loss reaches 1e20 and flattens every other curve: then the axis is logarithmic.
        log = bool(values) and min(values) > 0 and max(values) / min(values) > 1e3
        return out, self.metric, log

    def draw(self, plt: Any, data: Any) -> None:
        curves, metric, log = data
        if log:  # log10 of the values on a linear axis, labelled by decade (widgets/axes.py: plotext's are wide)
            def lg(ys: list[float] | None) -> list[float] | None:
                return None if ys is None else log10_values(ys)

            curves = [(label, xs, lg(mean), lg(low), lg(high), rgb) for label, xs, mean, low, high, rgb in curves]
        for label, xs, mean, low, high, rgb in curves:
            if low is not None and low != high:
                plt.plot(xs, low, color=faint(rgb), marker="dot")
                plt.plot(xs, high, color=faint(rgb), marker="dot")
            if len(xs) == 1:
                plt.scatter(xs, mean, label=label, color=rgb, marker="braille")
            else:
                plt.plot(xs, mean, label=label, color=rgb, marker="braille")
        values = [y for c in curves for part in c[2:5] if part for y in part]
        ticks = log_ticks(values) if log else short_ticks(values)
        if ticks is not None:
            plt.yticks(*ticks)
        plt.xlabel("epoch")
        plt.ylabel(metric + (" (log)" if log else ""))


class AgainstChart(PlotWidget):
    """The metric of each finished trial against one varied setting (log axis for learning rates and other
    settings spanning two decades or more; words such as optimizers are spread evenly)."""

    min_interval = 0.5

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.key = ""
        self.points: tuple[list[Any], list[float], bool] = ([], [], False)
        self.point_colors: list[int] = []

    def show(self, key: str, points: tuple[list[Any], list[float], bool], colors: list[int]) -> None:
        self.key, self.points, self.point_colors = key, points, colors
        self.changed()

    def placeholder(self) -> str | None:
        return None if self.points[0] else "finished trials appear here"

    def snapshot(self, width: int, height: int) -> Any:
        xs, ys, log = self.points
        words = sorted({str(x) for x in xs}) if any(isinstance(x, (str, bool)) for x in xs) else None
        return list(xs), list(ys), log, words, list(self.point_colors), self.key

    def draw(self, plt: Any, data: Any) -> None:
        xs, ys, log, words, colors, key = data
        if words is not None:
            xs = [words.index(str(x)) + 1 for x in xs]
            plt.xticks(list(range(1, len(words) + 1)), words)
        elif log:
            xs = [math.log10(x) for x in xs]
            ticks = list(range(math.floor(min(xs)), math.ceil(max(xs)) + 1))
            plt.xticks(ticks, [f"1e{t}" for t in ticks])
        for i in sorted(set(colors)):
            mine = [(x, y) for x, y, c in zip(xs, ys, colors) if c == i]
            plt.scatter([p[0] for p in mine], [p[1] for p in mine], color=color(i), marker="braille")
        plt.xlabel(key.split(".")[-1] + (" (log)" if log else ""))
