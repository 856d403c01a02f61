"""Feature crosses, TensorFlow Playground's extra inputs: x1^2, x1*x2, sin(x1) ... appended to the loaded
features, so the network gets more inputs. `add_crosses` is self-contained: an exported script inlines it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nn_tui.core.errors import UserError
from nn_tui.core.schema import shown

if TYPE_CHECKING:
    from nn_tui.core.datasets import Dataset

KEY = "data.extra_features"
CROSS_PATTERN = r"x(\d+)\^2|x(\d+)\*x(\d+)|sin\(x(\d+)\)"
LISTED_UP_TO = 6  # features; beyond, the allowed names are described by their pattern


def cross_names(n_features: int) -> list[str]:
    """Every extra input allowed for n features, in order: the squares, the products (i < j), the sines."""
    n = range(1, n_features + 1)
    return ([f"x{i}^2" for i in n] + [f"x{i}*x{j}" for i in n for j in n if i < j]
            + [f"sin(x{i})" for i in n])


def allowed_words(n_features: int | None) -> str:
    if n_features is not None and n_features <= LISTED_UP_TO:
        return ", ".join(cross_names(n_features))
    top = "n" if n_features is None else str(n_features)
    return f"xi^2, xi*xj (i < j) and sin(xi) for features i, j from 1 to {top}"


def _indices(name: str) -> tuple[int, ...] | None:
    match = re.fullmatch(CROSS_PATTERN, name)
    if match is None:
        return None
    found = tuple(int(g) for g in match.groups() if g is not None)
    if any(i < 1 for i in found) or (len(found) == 2 and found[0] >= found[1]):
        return None
    return found


def check_crosses(names: Sequence[str], n_features: int | None, *, source: str | None = None) -> list[str]:
    """The names, checked against the features the dataset has (only their form when that is not known yet)."""
    seen: set[str] = set()
    for name in names:
        found = _indices(name)
        if found is None or (n_features is not None and max(found) > n_features):
            what = "" if n_features is None else f" for a dataset with {n_features} feature{'s' * (n_features != 1)}"
            raise UserError(f"unknown extra feature {shown(name)}; allowed{what}: {allowed_words(n_features)}",
                            source=source, key=KEY)
        if name in seen:
            raise UserError(f"{shown(name)} is listed twice", source=source, key=KEY)
        seen.add(name)
    return list(names)


def add_crosses(X, names):
    """X (rows × features, float32) with one more column per name: "x1^2" is feature 1 squared, "x1*x2" the
    product of features 1 and 2, "sin(x1)" the sine of feature 1 (features count from 1)."""
    import re

    import numpy as np

    columns = [X]
    for name in names:
        square, a, b, sine = re.fullmatch(r"x(\d+)\^2|x(\d+)\*x(\d+)|sin\(x(\d+)\)", name).groups()
        if square:
            column = X[:, int(square) - 1] ** 2
        elif sine:
            column = np.sin(X[:, int(sine) - 1])
        else:
            column = X[:, int(a) - 1] * X[:, int(b) - 1]
        columns.append(column[:, None])
    return np.concatenate(columns, axis=1).astype(np.float32)


def with_crosses(data: Dataset, names: Sequence[str]) -> Dataset:
    """The dataset with its extra inputs appended to both splits (named as written: "x1^2")."""
    from dataclasses import replace

    if not names:
        return data
    check_crosses(names, data.n_features)
    return replace(data, X_train=add_crosses(data.X_train, names), X_test=add_crosses(data.X_test, names),
                   feature_names=[*data.feature_names, *names], extra_features=list(names))
