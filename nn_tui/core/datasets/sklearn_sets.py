"""Small real datasets bundled with scikit-learn (no download): iris, wine, breast_cancer, digits, diabetes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nn_tui.core.datasets import CLASSIFICATION, REGRESSION, Dataset, DatasetInfo, make_dataset, register

SOURCE = "scikit-learn (bundled, no download)"


def _loader(name: str, task: str, function: str, label_names: tuple[str, ...] | None):
    def load(options: dict[str, Any], seed: int, test_fraction: float, base_dir: Path | None) -> Dataset:
        import sklearn.datasets

        kwargs = {"scaled": False} if name == "diabetes" else {}  # standardised below, from the training split
        bunch = getattr(sklearn.datasets, function)(**kwargs)
        feature_names = [str(f) for f in bunch.feature_names] if hasattr(bunch, "feature_names") else None
        if name == "digits":
            feature_names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
        return make_dataset(
            name,
            task,
            bunch.data,
            bunch.target,
            seed=seed,
            test_fraction=test_fraction,
            feature_names=feature_names,
            label_names=[str(t) for t in bunch.target_names] if task == CLASSIFICATION else None,
            target_names=["disease progression"] if task == REGRESSION else None,
            scale=True,
            source=SOURCE,
        )

    return load


# name, task, sklearn loader, label names (as scikit-learn names them), features, samples, description
_SETS = (
    ("iris", CLASSIFICATION, "load_iris", ("setosa", "versicolor", "virginica"), 4, 150,
     "Fisher's iris flowers: 4 measurements -> 3 species"),
    ("wine", CLASSIFICATION, "load_wine", ("class_0", "class_1", "class_2"), 13, 178,
     "Chemical analysis of wines from 3 cultivars: 13 features -> cultivar"),
    ("breast_cancer", CLASSIFICATION, "load_breast_cancer", ("malignant", "benign"), 30, 569,
     "Wisconsin breast cancer: 30 cell-nucleus features -> malignant or benign"),
    ("digits", CLASSIFICATION, "load_digits", tuple(str(i) for i in range(10)), 64, 1797,
     "Handwritten digits as 8x8 images (64 pixels, 0-16) -> digit 0-9"),
    ("diabetes", REGRESSION, "load_diabetes", None, 10, 442,
     "Diabetes patients: age, sex, BMI, blood pressure and 6 blood serum values -> disease progression after a year"),
)

for _name, _task, _function, _labels, _features, _samples, _description in _SETS:
    register(
        DatasetInfo(
            _name,
            _task,
            _description,
            _loader(_name, _task, _function, _labels),
            features=_features,
            classes=len(_labels) if _labels else None,
            samples=_samples,
            source=SOURCE,
            label_names=_labels,
        )
    )
