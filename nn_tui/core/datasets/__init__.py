"""Dataset registry: every dataset a preset can name, what it is, its options, and how to load it.

Registering is cheap (no numpy, torch or sklearn import); loaders import what they need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nn_tui.core.errors import UserError
from nn_tui.core.schema import Field, shown

if TYPE_CHECKING:
    import numpy as np

CLASSIFICATION = "classification"
REGRESSION = "regression"


def metric_for(task: str | None) -> str:
    """The validation metric a task is judged by: accuracy for classification, R² for regression."""
    return "val_accuracy" if task == CLASSIFICATION else "val_r2"


@dataclass
class Dataset:
    """A loaded dataset as float32 features and int64 labels (classification) or float32 targets (regression)."""

    name: str
    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]
    label_names: list[str] | None = None  # classification: one name per class
    target_names: list[str] | None = None  # regression: one name per output
    # True where there is nothing to hold out (AND/OR/XOR truth tables): validation uses the training rows.
    validation_on_train: bool = False
    source: str = ""
    # The last columns are feature crosses computed from the others ("x1^2", ...; nn_tui.core.datasets.crosses).
    extra_features: list[str] = field(default_factory=list)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_classes(self) -> int | None:
        return len(self.label_names) if self.task == CLASSIFICATION and self.label_names else None

    @property
    def n_targets(self) -> int:
        return 1 if self.task == CLASSIFICATION else int(self.y_train.shape[1])


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset: its description and option fields, and a loader.

    loader(options, seed, test_fraction, base_dir) -> Dataset
    """

    name: str
    task: str | None  # None when it depends on options (csv)
    description: str
    loader: Callable[[dict[str, Any], int, float, Path | None], Dataset]
    options: tuple[Field, ...] = ()
    features: int | None = None
    classes: int | None = None
    samples: int | None = None  # default number of samples
    source: str = "synthetic"
    extra_check: Callable[[dict[str, Any], str | None], None] | None = field(default=None, compare=False)
    label_names: tuple[str, ...] | None = None  # classification sets whose classes are known before loading
    # Options that are file or folder paths: relative ones resolve against the preset's folder.
    path_options: tuple[str, ...] = ()

    def known_features(self, options: dict[str, Any]) -> int | None:
        """How many features loading will give, when the registry and options tell (None: only loading can)."""
        if self.features is not None:
            return self.features
        sizes = {f.name: f.default for f in self.options}
        return options.get("features", sizes["features"]) if "features" in sizes else None

    def check_options(self, options: dict[str, Any], *, source: str | None) -> None:
        if self.extra_check is not None:
            self.extra_check(options, source)

    def option_defaults(self) -> dict[str, Any]:
        return {f.name: f.default for f in self.options if f.default is not None}


_REGISTRY: dict[str, DatasetInfo] = {}
_LOADED_MODULES = False


def register(info: DatasetInfo) -> DatasetInfo:
    _REGISTRY[info.name] = info
    return info


def _ensure_registered() -> None:
    global _LOADED_MODULES
    if _LOADED_MODULES:
        return
    _LOADED_MODULES = True
    import importlib

    modules = [f"nn_tui.core.datasets.{m}" for m in ("synthetic", "sklearn_sets", "images", "csv_data")]
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a dataset family not built yet
            if exc.name != module:
                raise
    # The same order however the modules were first imported (a test may import one directly).
    rank = {m: i for i, m in enumerate(modules)}
    ordered = sorted(_REGISTRY.values(), key=lambda info: rank.get(getattr(info.loader, "__module__", ""), len(rank)))
    _REGISTRY.clear()
    _REGISTRY.update((info.name, info) for info in ordered)


def all_datasets() -> dict[str, DatasetInfo]:
    _ensure_registered()
    return dict(_REGISTRY)


def get_dataset_info(name: str, *, source: str | None = None, key: str | None = "data.dataset") -> DatasetInfo:
    _ensure_registered()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UserError(
            f"unknown dataset {shown(name)}; expected one of: {', '.join(_REGISTRY)}", source=source, key=key
        ) from None


def load_dataset(name: str, options: dict[str, Any], seed: int, test_fraction: float, base_dir: Path | None = None,
                 extra_features: list[str] | tuple[str, ...] = ()) -> Dataset:
    """Load a dataset, then append its extra inputs (feature crosses, nn_tui.core.datasets.crosses)."""
    from nn_tui.core.datasets.crosses import with_crosses

    info = get_dataset_info(name)
    full = info.option_defaults()
    full.update(options)
    return with_crosses(info.loader(full, seed, test_fraction, base_dir), extra_features)


# ---------------------------------------------------------------- helpers for loaders


def resolve_path(value: str, base_dir: Path | None) -> Path:
    """A path from a preset: `~` expanded; relative paths resolve against the preset file's folder."""
    path = Path(value).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return path


def absolute_path_options(name: str, options: dict[str, Any], base_dir: Path | None) -> dict[str, Any]:
    """Options with relative file paths made absolute, so a copy of the preset saved elsewhere still runs."""
    info = get_dataset_info(name)
    out = dict(options)
    for key in info.path_options:
        if isinstance(out.get(key), str) and base_dir is not None:
            out[key] = str(resolve_path(out[key], base_dir).resolve())
    return out


def split(
    X: np.ndarray, y: np.ndarray, test_fraction: float, seed: int, *, stratify: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seeded train/test split; stratified by label for classification. Keeps at least one training row."""
    import numpy as np

    n = len(X)
    rng = np.random.default_rng([seed, 1])
    if test_fraction <= 0 or n < 2:
        idx = rng.permutation(n)
        return X[idx], y[idx], X[:0], y[:0]
    test_idx: list[np.ndarray] = []
    if stratify:
        for label in np.unique(y):
            members = np.flatnonzero(y == label)
            members = members[rng.permutation(len(members))]
            k = int(round(len(members) * test_fraction))
            k = min(k, len(members) - 1)
            test_idx.append(members[:k])
        test = np.concatenate(test_idx) if test_idx else np.zeros(0, dtype=np.int64)
    else:
        perm = rng.permutation(n)
        k = min(int(round(n * test_fraction)), n - 1)
        test = perm[:k]
    mask = np.zeros(n, dtype=bool)
    mask[test] = True
    train = np.flatnonzero(~mask)
    train = train[rng.permutation(len(train))]
    test = np.flatnonzero(mask)
    test = test[rng.permutation(len(test))]
    return X[train], y[train], X[test], y[test]


def standardize(X_train: np.ndarray, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale features with the training split's mean and std only (no peeking at the test split)."""
    import numpy as np

    mean = X_train.mean(axis=0, keepdims=True)
    std = X_train.std(axis=0, keepdims=True)
    std = np.where(std < 1e-12, 1.0, std)
    return ((X_train - mean) / std).astype(np.float32), ((X_test - mean) / std).astype(np.float32)


def make_dataset(
    name: str,
    task: str,
    X: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    test_fraction: float,
    feature_names: list[str] | None = None,
    label_names: list[str] | None = None,
    target_names: list[str] | None = None,
    scale: bool = False,
    source: str = "synthetic",
) -> Dataset:
    """Split (stratified for classification), optionally standardise, and cast to the trainer's dtypes."""
    import numpy as np

    X = np.asarray(X, dtype=np.float32)
    if task == CLASSIFICATION:
        y = np.asarray(y, dtype=np.int64)
        if label_names is None:
            label_names = [str(i) for i in range(int(y.max()) + 1)]
    else:
        y = np.asarray(y, dtype=np.float32)
        if y.ndim == 1:
            y = y[:, None]
        if target_names is None:
            target_names = ["y"] if y.shape[1] == 1 else [f"y{i + 1}" for i in range(y.shape[1])]
    X_tr, y_tr, X_te, y_te = split(X, y, test_fraction, seed, stratify=task == CLASSIFICATION)
    if scale:
        X_tr, X_te = standardize(X_tr, X_te)
    if feature_names is None:
        feature_names = [f"x{i + 1}" for i in range(X.shape[1])]
    return Dataset(
        name=name,
        task=task,
        X_train=X_tr,
        y_train=y_tr,
        X_test=X_te,
        y_test=y_te,
        feature_names=feature_names,
        label_names=label_names,
        target_names=target_names,
        source=source,
    )
