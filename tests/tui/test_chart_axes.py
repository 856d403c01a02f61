"""Charts keep their y axis narrow whatever the values: a diverged run's loss of 1.7e25 used to be labelled with
all 26 of its digits (on the log axis too), which pushed the plot off an 80-column screen."""

from __future__ import annotations

import re

import pytest
from textual_plotext.plot import Plot

from nn_tui.tui.widgets.axes import log_ticks, short_ticks
from nn_tui.tui.widgets.loss_chart import LossChart
from nn_tui.tui.widgets.metric_chart import MetricChart

DIVERGED = [0.9, 0.7, 3.0e6, 9.5e21, 1.7e25]


def labels(draw, data, width=60, height=16) -> list[str]:
    plt = Plot()
    plt.plotsize(width, height)
    plt._set_size(width, height)
    draw(plt, data)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", plt.build())
    return [line.split("┤")[0].strip() for line in plain.splitlines() if "┤" in line]


@pytest.mark.parametrize("log_scale", [False, True], ids=["linear", "log"])
def test_the_loss_chart_of_a_diverged_run_has_short_labels(log_scale):
    xs = list(range(1, len(DIVERGED) + 1))
    data = ([(xs, DIVERGED, "train", (0, 0, 255), "braille")], log_scale)
    shown = labels(LossChart().draw, data)
    assert shown and all(len(label) <= 9 for label in shown), shown
    if log_scale:
        assert all(re.fullmatch(r"1e-?\d+", label) for label in shown), shown


def test_a_diverged_r2_keeps_the_metric_chart_narrow():
    shown = labels(MetricChart().draw, ([1, 2, 3], [0.5, -2.0e12, -1.2e25], (0, 255, 0), False))
    assert shown and all(len(label) <= 9 for label in shown), shown


def test_ordinary_values_keep_plotexts_own_labels_and_narrow_ranges_stay_distinct():
    assert short_ticks([0.7, 0.5, 0.02]) is None
    ticks, names = short_ticks([0.69314, 0.69315, 0.69316, 0.69317])
    assert len(set(names)) == len(names) == 5
    ticks, names = log_ticks([-1.0, -0.5, -0.2])  # 0.1 … 0.63: one decade, so 1-2-5 steps
    assert names == ["0.1", "0.2", "0.5"]
