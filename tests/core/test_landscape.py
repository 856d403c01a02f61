"""The loss landscape: the (w, b) plane of y = 2x + 1 has its minimum at w ≈ 2, b ≈ 1; random filter-normalised
slices for other networks; the path recorded per epoch; and measuring never changes the run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nn_tui.core.inspection.landscape import ParameterPath, filter_normalised_direction, loss_landscape, parameter_vector
from nn_tui.core.model.build import loss_function
from nn_tui.core.preset import load_preset, resolve_preset_path
from nn_tui.core.run.runner import Run, prepare_run


def trained(name: str, *overrides: str):
    path = ParameterPath()
    run = Run(prepare_run(load_preset(resolve_preset_path(name), list(overrides))), out_dir=None, callbacks=[path])
    finished = run.execute()
    assert finished.status == "completed"
    return run, path


@pytest.fixture(scope="module")
def linear():
    return trained("linear", "training.epochs=40")


def test_linear_plane_has_its_minimum_at_the_true_slope_and_intercept(linear):
    run, path = linear
    model, data = run.state.model, run.prepared.data
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.random.get_rng_state()
    scape = loss_landscape(model, data.X_train, data.y_train, "mse", path=path.snapshot(), steps=41)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the run's weights unchanged
    assert torch.equal(rng, torch.random.get_rng_state())
    assert scape.kind == "weights" and (scape.x_label, scape.y_label) == ("w", "b")
    w, b, lowest = scape.minimum
    assert w == pytest.approx(2.0, abs=0.1) and b == pytest.approx(1.0, abs=0.1)
    assert lowest < 0.05
    assert scape.current == pytest.approx((float(model[0].weight.detach()), float(model[0].bias.detach())), abs=1e-6)
    # the path: start (epoch 0) and every epoch after, ending at the current weights, inside the grid
    assert len(scape.path) == 41 and path.epochs == list(range(41))
    assert tuple(scape.path[-1]) == pytest.approx(scape.current, abs=1e-6)
    assert scape.xs[0] <= scape.path[:, 0].min() and scape.path[:, 0].max() <= scape.xs[-1]
    assert scape.ys[0] <= scape.path[:, 1].min() and scape.path[:, 1].max() <= scape.ys[-1]
    # the grid is the loss: one point checked by hand
    x = torch.from_numpy(data.X_train)
    y = torch.from_numpy(data.y_train).reshape(-1, 1)
    j, i = 7, 30
    by_hand = float(((scape.xs[i] * x + scape.ys[j] - y) ** 2).mean())
    assert scape.loss[j, i] == pytest.approx(by_hand, rel=1e-4)


def test_slice_through_a_network_along_filter_normalised_directions():
    run, path = trained("moons", "training.epochs=3")
    model, data = run.state.model, run.prepared.data
    before = parameter_vector(model).clone()
    rng, np_rng = torch.random.get_rng_state(), np.random.get_state()
    scape = loss_landscape(model, data.X_train, data.y_train, "bce", path=path.snapshot(), steps=11, span=1.0)
    assert torch.equal(before, parameter_vector(model))
    assert torch.equal(rng, torch.random.get_rng_state())  # the directions come from their own generator
    assert all(np.array_equal(a, b) for a, b in zip(np_rng[1:2], np.random.get_state()[1:2]))
    assert scape.kind == "directions" and scape.current == (0.0, 0.0)
    # the centre of the grid is the model as it is
    rows = np.sort(np.random.default_rng(0).choice(len(data.X_train), 512, replace=False))
    with torch.no_grad():
        here = float(loss_function("bce")(model.eval()(torch.from_numpy(data.X_train[rows])),
                                          torch.from_numpy(data.y_train[rows]).float().reshape(-1, 1)))
    assert scape.loss[5, 5] == pytest.approx(here, rel=1e-4)
    assert len(scape.path) == 4 and tuple(scape.path[-1]) == pytest.approx((0.0, 0.0), abs=1e-5)
    # the same seed gives the same slice (stable from one snapshot to the next)
    again = loss_landscape(model, data.X_train, data.y_train, "bce", steps=11, span=1.0)
    assert np.array_equal(again.loss, scape.loss)


def test_filter_normalisation_matches_each_neurons_weight_norm():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    d = filter_normalised_direction(model, torch.Generator().manual_seed(1))
    W1 = model[0].weight.detach()
    rows = d[: W1.numel()].reshape(W1.shape)
    assert torch.allclose(rows.norm(dim=1), W1.norm(dim=1), rtol=1e-5)
    assert torch.count_nonzero(d[W1.numel(): W1.numel() + 5]) == 0  # bias direction 0


def test_path_thins_itself_on_long_runs():
    recorder = ParameterPath(max_points=8)

    class State:
        model = torch.nn.Linear(1, 1)
        epoch = 0

    state = State()
    recorder.on_run_start(state, None)
    for epoch in range(1, 101):
        state.epoch = epoch
        recorder.on_epoch_end(state, None)
    assert len(recorder.points) <= 8 and recorder.epochs[0] == 0
    assert recorder.epochs == sorted(recorder.epochs) and recorder.epochs[-1] >= 80


def test_recording_the_path_does_not_change_the_run():
    watched, _ = trained("moons", "training.epochs=2")
    plain = Run(prepare_run(load_preset(resolve_preset_path("moons"), ["training.epochs=2"])), out_dir=None)
    plain.execute()
    assert torch.equal(parameter_vector(watched.state.model), parameter_vector(plain.state.model))
