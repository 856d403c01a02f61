"""The decision-boundary grid: shaped to the widget, one forward pass, and it agrees with the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nn_tui.core.inspection.boundary import BoundaryGrid, Extent, boundary_grid, class_probabilities, data_extent, grid_points
from nn_tui.core.run.runner import Run, prepare_run


@pytest.fixture(scope="module")
def solved_moons():
    from nn_tui.core.preset import parse_preset

    preset = parse_preset({"data": {"dataset": "moons", "samples": 400}, "model": {"layers": [{"units": 16}]},
                           "training": {"epochs": 40, "lr": 0.03}})
    prepared = prepare_run(preset)
    run = Run(prepared, out_dir=None)
    finished = run.execute()
    assert finished.best["val_accuracy"] >= 0.97, finished
    return run.trainer.model.eval(), prepared.data


def predict(model, X, loss="bce"):
    with torch.no_grad():
        return class_probabilities(model(torch.as_tensor(X, dtype=torch.float32)), loss).argmax(1).numpy()


def test_grid_is_sized_as_asked_and_covers_the_data(solved_moons):
    model, data = solved_moons
    extent = data_extent(data.X_train)
    assert extent.x_min < data.X_train[:, 0].min() and extent.x_max > data.X_train[:, 0].max()
    assert extent.y_min < data.X_train[:, 1].min() and extent.y_max > data.X_train[:, 1].max()
    grid = boundary_grid(model, extent, 73, 41, "bce")
    assert grid.classes.shape == grid.confidence.shape == (41, 73)
    assert grid.n_classes == 2
    assert set(np.unique(grid.classes)) == {0, 1}
    assert ((grid.confidence >= 0.5) & (grid.confidence <= 1.0)).all()


def test_map_agrees_with_the_model_at_sample_points(solved_moons):
    model, data = solved_moons
    grid = boundary_grid(model, data_extent(data.X_train), 120, 80, "bce")
    X = np.concatenate([data.X_train, data.X_test])
    y = np.concatenate([data.y_train, data.y_test])
    cells = [grid.cell_of(float(a), float(b)) for a, b in X]
    assert all(c is not None for c in cells)
    on_map = np.array([grid.classes[row, col] for col, row in cells])
    # At each point's cell centre the map is exactly the model's prediction there ...
    centres = np.array([grid.cell_center(col, row) for col, row in cells])
    assert (on_map == predict(model, centres)).all()
    # ... and at the points themselves it agrees with the model everywhere but right on the boundary,
    assert (on_map == predict(model, X)).mean() >= 0.98
    # and the solved map puts the points in their own class's region.
    assert (on_map == y).mean() >= 0.95


def test_cell_centres_and_cells_round_trip():
    grid = BoundaryGrid(10, 4, Extent(-1.0, 1.0, 0.0, 2.0), np.zeros((4, 10), np.int64), np.ones((4, 10)), 2)
    for col in range(10):
        for row in range(4):
            assert grid.cell_of(*grid.cell_center(col, row)) == (col, row)
    assert grid.cell_center(0, 0)[1] > grid.cell_center(0, 3)[1]  # row 0 is the top of the plane
    assert grid.cell_of(5.0, 1.0) is None
    pts = grid_points(grid.extent, 10, 4)
    assert pts.shape == (40, 2) and pts.dtype == np.float32


def test_multiclass_grid_and_eval_mode_is_restored():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                torch.nn.Dropout(0.5), torch.nn.Linear(8, 3))
    model.train()
    grid = boundary_grid(model, Extent(-2, 2, -2, 2), 30, 20, "cross_entropy")
    assert model.training  # put back as it was
    assert grid.n_classes == 3
    assert ((grid.confidence >= 1 / 3 - 1e-6) & (grid.confidence <= 1)).all()
    again = boundary_grid(model, Extent(-2, 2, -2, 2), 30, 20, "cross_entropy")
    assert np.array_equal(grid.classes, again.classes)  # eval mode: dropout off, deterministic


def test_with_feature_crosses_the_boundary_is_drawn_on_the_plane_of_the_two_features():
    """A perceptron on circles with x1^2 and x2^2: its boundary over (x1, x2) is the ring, and each training
    point lies in a cell of its own class."""
    from nn_tui.core.inspection.insight import compute_views, insight_data, InsightSnapshot
    from nn_tui.core.preset import load_preset, resolve_preset_path

    run = Run(prepare_run(load_preset(resolve_preset_path("circles_crosses"))), out_dir=None)
    assert run.execute().best["val_accuracy"] >= 0.95
    data = insight_data(run.state)
    assert data.has_boundary and data.extra_features == ("x1^2", "x2^2") and data.n_features == 4
    snapshot = InsightSnapshot(run.state.epoch, run.state.global_step, True, run.trainer.model.eval(), None, data)
    grid = compute_views(snapshot, 80, 40, confusion=False).boundary
    cells = [grid.cell_of(float(x), float(y)) for x, y in data.points_X[:, :2]]
    agree = np.mean([grid.classes[r, c] == label for (c, r), label in zip(cells, data.points_y)])
    assert agree >= 0.95
    centre, corner = grid.cell_of(0.0, 0.0), (0, 0)  # the inner class in the middle, the outer one far out
    assert grid.classes[centre[1], centre[0]] != grid.classes[corner[1], corner[0]]
