"""Long runs cost the UI what short runs do: curves are bounded and thinned to the chart width."""

from __future__ import annotations

import math

from nn_tui.core.training.events import EpochEnd, RunFinished, StepProgress
from nn_tui.tui.fields import InputRefused, parse_field_text
from nn_tui.core.preset import LAYER_FIELDS, TRAINING_FIELDS
from nn_tui.tui.training.history import RunHistory, format_seconds
from nn_tui.tui.series import Series, thin

import pytest


def test_thin_keeps_extremes_and_the_last_point():
    xs = list(range(10_000))
    ys = [math.sin(x / 50) for x in xs]
    ys[5_000] = 50.0  # a spike must survive
    tx, ty = thin(xs, ys, 200)
    assert len(tx) <= 201
    assert 50.0 in ty and tx[-1] == 9_999
    assert tx == sorted(tx)


def test_a_100k_step_run_stays_bounded():
    h = RunHistory(epochs_total=1_000)
    events = []
    for epoch in range(1, 1_001):
        for step in range(1, 101):
            events.append(StepProgress(epoch, step, 100, (epoch - 1) * 100 + step, 1 / epoch, 1000.0))
        events.append(EpochEnd(epoch, 1_000, 1 / epoch, 1.1 / epoch, "val_accuracy", 0.9, 0.01, 1000.0, epoch * 0.1, epoch * 100))
    h.apply(events)
    h.apply([RunFinished("completed", "done", 1_000, 100.0)])
    assert h.running_loss.count == 101_000
    for s in (h.running_loss, h.train_loss, h.val_loss, h.metric_values):
        assert len(s) <= 2 * s.capacity
        xs, ys = s.points(2 * 150)
        assert len(xs) <= 2 * 150 + 1
    assert h.epoch == 1_000 and h.best_metric == 0.9
    assert format_seconds(h.elapsed()) == "1:40"


def test_series_skips_values_it_cannot_draw():
    s = Series()
    s.append(1, float("nan"))
    s.append(2, 1.0)
    assert len(s) == 1 and s.count == 2 and math.isnan(s.last[1]) is False


@pytest.mark.parametrize(
    "field, text, expected",
    [("lr", "1e-3", 0.001), ("lr", "abc", "'abc' is not a number"), ("lr", "0", "must be a number > 0"),
     ("epochs", "1.5", "is not a whole number"), ("momentum", "", None), ("units", "0", "must be an integer >= 1")],
)
def test_typed_values_are_checked_by_the_preset_schema(field, text, expected):
    fields = {f.name: f for f in TRAINING_FIELDS + LAYER_FIELDS}
    if isinstance(expected, str):
        with pytest.raises(InputRefused, match=expected.replace("'", ".")):
            parse_field_text(fields[field], text)
    else:
        assert parse_field_text(fields[field], text) == expected
