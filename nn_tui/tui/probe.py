"""Load a dataset off the UI thread to learn its real shape and take a few points for the preview."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nn_tui.core.datasets import CLASSIFICATION, DatasetInfo, load_dataset
from nn_tui.core.errors import UserError

PREVIEW_POINTS = 800


@dataclass
class ProbeResult:
    n_features: int | None
    n_classes: int | None
    task: str | None
    label_names: list[str] | None
    split: tuple[int, int] | None
    points: Any = None  # (xs, ys, labels, names, kind) for DataPreview
    error: str | None = None


def needs_probe(info: DatasetInfo, features: int | None, classes: int | None) -> bool:
    """Load only when the registry cannot tell the shape, or when there is a preview to draw."""
    if features is None or info.task is None:
        return True
    if info.task == CLASSIFICATION and classes is None:
        return True
    return features <= 2


def probe(name: str, options: dict[str, Any], seed: int, test_fraction: float, base_dir: Path | None) -> ProbeResult:
    try:
        data = load_dataset(name, options, seed, test_fraction, base_dir)
    except UserError as exc:
        return ProbeResult(None, None, None, None, None, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - a loader bug or a missing download: say so in the preview
        return ProbeResult(None, None, None, None, None, error=f"{type(exc).__name__}: {exc}")
    import numpy as np

    split = (len(data.X_train), len(data.X_test))
    result = ProbeResult(data.n_features, data.n_classes, data.task, data.label_names, split)
    if data.n_features > 2:
        return result
    X = np.concatenate([data.X_train, data.X_test]) if len(data.X_test) and not data.validation_on_train else data.X_train
    y = np.concatenate([data.y_train, data.y_test]) if len(data.X_test) and not data.validation_on_train else data.y_train
    if len(X) > PREVIEW_POINTS:
        idx = np.random.default_rng(seed).choice(len(X), PREVIEW_POINTS, replace=False)
        X, y = X[idx], y[idx]
    if data.n_features == 1:
        if data.task == CLASSIFICATION:
            result.points = (X[:, 0].tolist(), [0.0] * len(X), y.tolist(), data.label_names, "classes")
        else:
            result.points = (X[:, 0].tolist(), y[:, 0].tolist(), None, None, "xy")
        return result
    if data.task == CLASSIFICATION:
        result.points = (X[:, 0].tolist(), X[:, 1].tolist(), y.tolist(), data.label_names, "classes")
    else:
        target = y[:, 0]
        cuts = np.quantile(target, [1 / 3, 2 / 3])
        bins = np.digitize(target, cuts).tolist()
        result.points = (X[:, 0].tolist(), X[:, 1].tolist(), bins, ["low y", "mid y", "high y"], "classes")
    return result
