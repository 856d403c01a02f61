"""The decision boundary: the model's predicted class and confidence over a grid on the 2-D input plane."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

MAX_CELLS = 1_000_000  # a 4K terminal at half-block resolution is well below this


@dataclass(frozen=True)
class Extent:
    """The part of the input plane shown: x is the first feature, y the second."""

    x_min: float
    x_max: float
    y_min: float
    y_max: float


def data_extent(X: np.ndarray, pad: float = 0.1) -> Extent:
    """The points' bounding box on the first two features, widened by `pad` of its size on every side."""
    import numpy as np

    X = np.asarray(X, dtype=np.float64)
    if len(X) == 0:
        return Extent(-1.0, 1.0, -1.0, 1.0)
    lo, hi = X[:, :2].min(axis=0), X[:, :2].max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - pad * span, hi + pad * span
    return Extent(float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))


@dataclass(frozen=True)
class BoundaryGrid:
    """Per cell of a cols x rows grid (row 0 at the top, i.e. the largest y): predicted class and its probability."""

    cols: int
    rows: int
    extent: Extent
    classes: np.ndarray  # (rows, cols) int64
    confidence: np.ndarray  # (rows, cols) float32, probability of the predicted class
    n_classes: int

    def cell_center(self, col: int, row: int) -> tuple[float, float]:
        e = self.extent
        x = e.x_min + (col + 0.5) * (e.x_max - e.x_min) / self.cols
        y = e.y_max - (row + 0.5) * (e.y_max - e.y_min) / self.rows
        return x, y

    def cell_of(self, x: float, y: float) -> tuple[int, int] | None:
        """(col, row) of the cell holding point (x, y), or None outside the extent."""
        e = self.extent
        if not (e.x_min <= x <= e.x_max and e.y_min <= y <= e.y_max):
            return None
        col = int((x - e.x_min) / (e.x_max - e.x_min) * self.cols)
        row = int((e.y_max - y) / (e.y_max - e.y_min) * self.rows)
        return min(col, self.cols - 1), min(row, self.rows - 1)


def grid_points(extent: Extent, cols: int, rows: int) -> np.ndarray:
    """Cell centres, row by row from the top, as an (rows * cols, 2) float32 array."""
    import numpy as np

    e = extent
    xs = e.x_min + (np.arange(cols) + 0.5) * (e.x_max - e.x_min) / cols
    ys = e.y_max - (np.arange(rows) + 0.5) * (e.y_max - e.y_min) / rows
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def class_probabilities(logits, loss: str):
    """Per-class probabilities from the model's logits: sigmoid for one BCE logit, softmax otherwise."""
    import torch

    if loss == "bce":
        p1 = torch.sigmoid(logits[:, 0])
        return torch.stack([1 - p1, p1], dim=1)
    return torch.softmax(logits, dim=1)


def boundary_grid(
    model: nn.Module, extent: Extent, cols: int, rows: int, loss: str, *, device: str = "cpu",
    extra_features: tuple[str, ...] = (),
) -> BoundaryGrid:
    """Predict every cell of the grid in one batched forward pass (eval mode, no autograd). With feature crosses,
    each cell's extra inputs are computed from its (x1, x2) as the data's were."""
    import torch

    from nn_tui.core.datasets.crosses import add_crosses

    cols, rows = max(1, int(cols)), max(1, int(rows))
    if cols * rows > MAX_CELLS:
        raise ValueError(f"a {cols}x{rows} grid is larger than {MAX_CELLS} cells")
    points = torch.from_numpy(add_crosses(grid_points(extent, cols, rows), extra_features)).to(device)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            probs = class_probabilities(model(points), loss)
            confidence, classes = probs.max(dim=1)
    finally:
        model.train(was_training)
    return BoundaryGrid(
        cols=cols,
        rows=rows,
        extent=extent,
        classes=classes.reshape(rows, cols).cpu().numpy(),
        confidence=confidence.reshape(rows, cols).float().cpu().numpy(),
        n_classes=int(probs.shape[1]),
    )
