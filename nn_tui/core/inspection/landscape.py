"""The loss landscape around the current weights, and the optimizer's path across it.

For a network with two parameters (the `linear` preset: y = w·x + b) it is the loss over the (w, b) plane
itself. For any other network it is a 2-D slice through the current weights along two random directions,
filter-normalised as in Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets": each row of a
direction's weight matrix (one neuron's incoming weights) is scaled to the norm of that row of the weights,
so the slice has the same scale in every layer; bias and batch-norm directions are 0. The path (the weights
recorded per epoch by `ParameterPath`) is projected onto the slice. Measuring never changes the run: it works
on a copy, under torch.no_grad, with its own random generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nn_tui.core.training.callbacks import Callback
from nn_tui.core.training.events import EpochEnd, RunStarted
from nn_tui.core.training.state import TrainState

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

ROWS = 512  # training rows the loss is measured on at most (a seeded sample)
PATH_FLOATS = 5_000_000  # parameters x recorded points kept at most (20 MB)
MAX_POINTS = 256


@dataclass(frozen=True)
class Landscape:
    kind: str  # "weights": the (w, b) plane itself; "directions": a slice along two random directions
    x_label: str
    y_label: str
    xs: np.ndarray  # grid coordinates along the first axis (w, or α)
    ys: np.ndarray  # along the second (b, or β)
    loss: np.ndarray  # (len(ys), len(xs))
    current: tuple[float, float]  # the weights now, in these coordinates
    path: np.ndarray  # (points, 2): the recorded weights, oldest first, projected

    @property
    def minimum(self) -> tuple[float, float, float]:
        """(x, y, loss) of the lowest grid point."""
        import numpy as np

        j, i = np.unravel_index(int(np.nanargmin(self.loss)), self.loss.shape)
        return float(self.xs[i]), float(self.ys[j]), float(self.loss[j, i])


def parameter_vector(model: nn.Module):
    """All trainable parameters as one flat float32 CPU tensor (in model.parameters() order)."""
    import torch

    with torch.no_grad():
        return torch.cat([p.detach().reshape(-1).to("cpu", torch.float32) for p in model.parameters()])


class ParameterPath(Callback):
    """Records the weights at the start and after each epoch, for the landscape's path. To stay cheap on long
    runs it keeps at most MAX_POINTS (fewer for big networks): when full, every other point is dropped and
    the recording interval doubles."""

    def __init__(self, max_points: int = MAX_POINTS) -> None:
        self.max_points = max_points
        self.points: list[Any] = []  # numpy vectors
        self.epochs: list[int] = []
        self._every = 1

    def on_run_start(self, state: TrainState, event: RunStarted) -> None:
        n = sum(p.numel() for p in state.model.parameters())
        self.max_points = max(2, min(self.max_points, PATH_FLOATS // max(n, 1)))
        if not self.points:
            self._record(state)

    def on_epoch_end(self, state: TrainState, event: EpochEnd) -> None:
        if state.epoch % self._every == 0:
            self._record(state)

    def _record(self, state: TrainState) -> None:
        self.points.append(parameter_vector(state.model).numpy())
        self.epochs.append(state.epoch)
        if len(self.points) > self.max_points:
            self.points, self.epochs = self.points[::2], self.epochs[::2]
            self._every *= 2

    def snapshot(self) -> tuple:
        """The path so far (the arrays are never changed afterwards, so sharing them across threads is safe)."""
        return tuple(self.points)


def is_two_parameter(model: nn.Module) -> bool:
    from torch import nn as tnn

    from nn_tui.core.model.network import plain_model

    children = list(plain_model(model).children())
    return (len(children) == 1 and isinstance(children[0], tnn.Linear)
            and children[0].in_features == 1 and children[0].out_features == 1)


def loss_landscape(
    model: nn.Module,
    X: Any,
    y: Any,
    loss: str,
    *,
    path: tuple = (),
    steps: int = 31,
    span: float | None = None,
    seed: int = 0,
) -> Landscape:
    """The loss on a steps x steps grid around the model's current weights (see the module's doc).

    X, y: training rows (numpy; a seeded sample of ROWS is used when there are more). span: half the width of
    the grid (weights: in w and b; directions: in α and β); by default wide enough for the path and at least
    1.5 (weights) or 1 (directions)."""
    import copy

    import numpy as np
    import torch

    from nn_tui.core.model.build import loss_function
    from nn_tui.core.model.network import plain_model

    net = copy.deepcopy(plain_model(model)).to("cpu").eval()
    net.requires_grad_(False)
    if len(X) > ROWS:
        idx = np.sort(np.random.default_rng(seed).choice(len(X), ROWS, replace=False))
        X, y = X[idx], y[idx]
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    yt = torch.as_tensor(np.asarray(y))
    if loss == "bce":
        yt = yt.to(torch.float32).reshape(-1, 1)
    elif loss == "cross_entropy":
        yt = yt.to(torch.int64).reshape(-1)
    else:
        yt = yt.to(torch.float32).reshape(len(yt), -1)
    loss_fn = loss_function(loss)
    theta = parameter_vector(net)
    recorded = torch.as_tensor(np.stack(path)) if len(path) else theta[None, :]
    if recorded.shape[1] != theta.numel():  # a path of another network: not this one's
        recorded = theta[None, :]

    if is_two_parameter(net):
        kind, labels = "weights", ("w", "b")
        origin = torch.zeros_like(theta)
        d1, d2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
        current = (float(theta[0]), float(theta[1]))
        coords = recorded.numpy().astype(np.float64)
        low_span = 1.5
    else:
        kind, labels = "directions", ("α", "β")
        origin = theta
        generator = torch.Generator().manual_seed(seed)
        d1, d2 = (filter_normalised_direction(net, generator) for _ in range(2))
        current = (0.0, 0.0)
        basis = torch.stack([d1, d2], dim=1).to(torch.float64)  # least squares: path - θ ≈ basis · (α, β)
        coords = torch.linalg.lstsq(basis, (recorded - theta).to(torch.float64).T).solution.T.numpy()
        low_span = 1.0
    if span is None:
        reach = float(np.abs(coords - np.asarray(current)).max()) if len(coords) else 0.0
        span = max(low_span, 1.15 * reach)
    xs = np.linspace(current[0] - span, current[0] + span, steps)
    ys = np.linspace(current[1] - span, current[1] + span, steps)
    grid = np.full((steps, steps), np.nan)
    with torch.no_grad():
        params = list(net.parameters())
        for j, b in enumerate(ys):
            for i, a in enumerate(xs):
                point = origin + float(a) * d1 + float(b) * d2
                torch.nn.utils.vector_to_parameters(point, params)
                value = float(loss_fn(net(Xt), yt))
                grid[j, i] = value if np.isfinite(value) else np.nan
    return Landscape(kind, labels[0], labels[1], xs, ys, grid, current, coords)


def filter_normalised_direction(model: nn.Module, generator) -> Any:
    """A random direction in weight space (flat, model.parameters() order): Gaussian, each weight matrix row
    scaled to the norm of the same row of the model's weights; 0 for biases and batch-norm parameters."""
    import torch

    parts = []
    for p in model.parameters():
        if p.dim() <= 1:
            parts.append(torch.zeros(p.numel()))
            continue
        d = torch.randn(p.shape, generator=generator)
        d = d * (p.detach().norm(dim=1, keepdim=True) / (d.norm(dim=1, keepdim=True) + 1e-10))
        parts.append(d.reshape(-1))
    return torch.cat(parts)
