"""The learning-rate finder's sweep: exponential schedule, smoothing, blow-up stop, and that it changes nothing."""

from __future__ import annotations

import math

import pytest
import torch

from nn_tui.core.inspection.lr_find import BLOW_UP, find_lr, lr_schedule, suggest
from nn_tui.core.model.build import build_model
from nn_tui.core.preset import load_preset, resolve_preset_path
from nn_tui.core.run.runner import prepare_run


@pytest.fixture(scope="module")
def linear():
    return prepare_run(load_preset(resolve_preset_path("linear")))


def test_schedule_is_exponential_from_start_to_end():
    lrs = lr_schedule(1e-6, 10.0, 100)
    assert lrs[0] == pytest.approx(1e-6) and lrs[-1] == pytest.approx(10.0)
    ratios = [b / a for a, b in zip(lrs, lrs[1:])]
    assert max(ratios) == pytest.approx(min(ratios))


def test_suggestion_is_the_steepest_fall_against_log_lr():
    lrs = lr_schedule(1e-4, 1.0, 40)
    # flat, then a steep fall centred on index 25, then flat again
    losses = [1.0 - 0.8 / (1 + math.exp(-(i - 25) * 1.5)) for i in range(40)]
    assert suggest(lrs, losses) == 25


def test_the_sweep_stops_at_the_blow_up_and_leaves_weights_and_rng_alone(linear):
    torch.manual_seed(123)
    model = build_model(1, [], 1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.random.get_rng_state()
    curve = find_lr(linear.preset, linear.data, linear.n_out, model=model)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.equal(rng, torch.random.get_rng_state())
    # SGD on raw x diverges well before lr = 10: the sweep stops there, the last point over 4x the best
    assert curve.blew_up and len(curve.lrs) < 100
    assert curve.losses[-1] > BLOW_UP * min(curve.losses)
    assert curve.suggested_index is not None and curve.suggested_index < len(curve.lrs) - 1
    assert curve.lrs[curve.suggested_index] == curve.suggested_lr


def test_smoothing_is_bias_corrected(linear):
    curve = find_lr(linear.preset, linear.data, linear.n_out, steps=20, end_lr=1e-5)
    assert curve.losses[0] == pytest.approx(curve.raw_losses[0])  # no pull towards 0 at the start
