"""Snapshots of a training run for the app's "inside the network" views, and the views computed from them.

The probe runs on the training thread a few times a second at most: it measures health and copies the
model to the CPU (a few milliseconds for the networks nn-tui builds). Everything drawn from a snapshot —
decision boundary, truth table, confusion matrix, forward pass — is computed from that copy on another
thread, so neither training nor the UI waits for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nn_tui.core.datasets import CLASSIFICATION
from nn_tui.core.training.events import Event, RunFinished
from nn_tui.core.inspection.health import SAMPLE_ROWS, HealthReport, measure_state
from nn_tui.core.inspection.sampling import Sampler
from nn_tui.core.training.state import TrainState

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from nn_tui.core.inspection.boundary import BoundaryGrid, Extent
    from nn_tui.core.inspection.truth_table import TruthTable

POINTS = 600  # training points drawn over the boundary and offered for the forward pass
CONFUSION_ROWS = 20_000  # validation rows scored for the confusion matrix


@dataclass(frozen=True)
class InsightData:
    """What the views need to know about the run's data; sent once and shared by every snapshot."""

    dataset: str
    task: str
    loss: str
    feature_names: list[str]
    label_names: list[str] | None
    points_X: np.ndarray  # a sample of training rows
    points_y: np.ndarray
    val_X: np.ndarray  # validation rows (a sample when there are very many)
    val_y: np.ndarray
    extent: Extent | None  # the input plane shown, for 2-feature data
    gate: str | None  # "and" / "or" / "xor" for the truth-table datasets
    hidden_layers: int
    extra_features: tuple[str, ...] = ()  # inputs computed from the plane's two features (x1^2 ...), last

    @property
    def plane_features(self) -> int:
        """The features the inputs are computed from (all of them, when there are no feature crosses)."""
        return self.n_features - len(self.extra_features)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def is_classification(self) -> bool:
        return self.task == CLASSIFICATION

    @property
    def has_boundary(self) -> bool:
        return self.is_classification and self.plane_features == 2


@dataclass(frozen=True)
class InsightSnapshot:
    """The network at one moment of training: a CPU copy of the model (eval mode) and its health."""

    epoch: int  # epochs completed
    global_step: int
    final: bool
    model: nn.Module
    health: HealthReport | None
    data: InsightData
    path: tuple = ()  # the weights recorded so far (nn_tui.core.inspection.landscape.ParameterPath), oldest first


def insight_data(state: TrainState, points: int = POINTS) -> InsightData:
    import numpy as np

    from nn_tui.core.inspection.boundary import data_extent
    from nn_tui.core.inspection.truth_table import GATES

    data = state.data
    rng = np.random.default_rng(0)
    X, y = data.X_train, data.y_train
    if len(X) > points:
        idx = np.sort(rng.choice(len(X), points, replace=False))
        X, y = X[idx], y[idx]
    on_train = data.validation_on_train or len(data.X_test) == 0
    vX, vy = (data.X_train, data.y_train) if on_train else (data.X_test, data.y_test)
    if len(vX) > CONFUSION_ROWS:
        idx = np.sort(rng.choice(len(vX), CONFUSION_ROWS, replace=False))
        vX, vy = vX[idx], vy[idx]
    extent = data_extent(data.X_train) if data.n_features - len(data.extra_features) == 2 else None
    return InsightData(
        dataset=data.name,
        task=data.task,
        loss=state.preset.training.loss,
        feature_names=list(data.feature_names),
        label_names=list(data.label_names) if data.label_names else None,
        points_X=X,
        points_y=y,
        val_X=vX,
        val_y=vy,
        extent=extent,
        gate=data.name if data.name in GATES and data.n_features == 2 else None,
        hidden_layers=len(state.preset.layers),
        extra_features=tuple(data.extra_features),
    )


class InsightSampler(Sampler):
    """Sends an InsightSnapshot to `deliver` a few times a second at most (see Sampler), and a final one when
    the run ends. `deliver` runs on the training thread: it should only hand the snapshot over."""

    def __init__(self, deliver: Callable[[InsightSnapshot], None], *, interval: float = 0.5, rows: int = SAMPLE_ROWS,
                 path: Any = None) -> None:
        super().__init__(interval=interval)
        self.deliver = deliver
        self.rows = rows
        self.path = path  # a ParameterPath placed before this sampler in the callbacks, or None
        self._data: InsightData | None = None

    def sample(self, state: TrainState, event: Event) -> None:
        from nn_tui.core.model.network import copy_to_cpu

        health: HealthReport | None
        try:
            health = measure_state(state, self.rows)
        except Exception as exc:  # noqa: BLE001 - the other views still work without health
            self.errors.append(f"health: {type(exc).__name__}: {exc}")
            health = None
        if self._data is None:
            self._data = insight_data(state)
        self.deliver(
            InsightSnapshot(
                epoch=state.epoch,
                global_step=state.global_step,
                final=isinstance(event, RunFinished),
                model=copy_to_cpu(state.model),
                health=health,
                data=self._data,
                path=self.path.snapshot() if self.path is not None else (),
            )
        )


# ---------------------------------------------------------------- views computed from a snapshot


@dataclass(frozen=True)
class InsightViews:
    epoch: int
    global_step: int
    boundary: BoundaryGrid | None
    truth: TruthTable | None
    confusion: dict[str, Any] | None  # nn_tui.core.inspection.evaluate.classification_metrics on the validation rows


def compute_views(snapshot: InsightSnapshot, cols: int = 0, rows: int = 0, *, confusion: bool = True) -> InsightViews:
    """The boundary grid (when cols and rows are given and the data has 2 features), truth table and
    confusion matrix for a snapshot. Runs on any thread: the snapshot's model is a private CPU copy."""
    from nn_tui.core.inspection.boundary import boundary_grid
    from nn_tui.core.inspection.evaluate import classification_metrics, predict
    from nn_tui.core.inspection.truth_table import truth_table

    d = snapshot.data
    grid = None
    if d.has_boundary and d.extent is not None and cols > 0 and rows > 0:
        grid = boundary_grid(snapshot.model, d.extent, cols, rows, d.loss, extra_features=d.extra_features)
    truth = truth_table(snapshot.model, d.gate, d.loss, d.hidden_layers) if d.gate else None
    matrix = None
    if confusion and d.is_classification and len(d.val_X):
        pred = predict(snapshot.model, d.val_X, d.loss)
        names = d.label_names or [str(i) for i in range(int(max(d.val_y.max(), pred.max())) + 1)]
        matrix = classification_metrics(d.val_y, pred, names)
    return InsightViews(snapshot.epoch, snapshot.global_step, grid, truth, matrix)
