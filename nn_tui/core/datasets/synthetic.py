"""Synthetic datasets generated from the seed: logic gates, 2-D classification shapes and simple regressions."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from nn_tui.core.datasets import CLASSIFICATION, REGRESSION, Dataset, DatasetInfo, make_dataset, register
from nn_tui.core.errors import UserError
from nn_tui.core.schema import Field


def _rng(seed: int):
    import numpy as np

    return np.random.default_rng([seed, 0])


def samples_field(default: int) -> Field:
    return Field("samples", int, default, min=4, max=10_000_000, help="number of points")


def noise_field(default: float, help: str = "Gaussian noise added to the points") -> Field:
    return Field("noise", float, default, min=0.0, max=100.0, help=help)


# ---------------------------------------------------------------- logic gates

_GATES = {"and": (0, 0, 0, 1), "or": (0, 1, 1, 1), "xor": (0, 1, 1, 0)}


def _gate_loader(gate: str):
    def load(options: dict[str, Any], seed: int, test_fraction: float, base_dir: Path | None) -> Dataset:
        import numpy as np

        X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
        y = np.array(_GATES[gate], dtype=np.int64)
        # Four rows: nothing to hold out, so validation metrics are computed on the same rows.
        return Dataset(
            name=gate,
            task=CLASSIFICATION,
            X_train=X,
            y_train=y,
            X_test=X.copy(),
            y_test=y.copy(),
            feature_names=["x1", "x2"],
            label_names=["0", "1"],
            validation_on_train=True,
            source="truth table",
        )

    return load


for _gate, _words in (
    ("and", "AND truth table: 1 only when both inputs are 1 (linearly separable)"),
    ("or", "OR truth table: 1 when either input is 1 (linearly separable)"),
    ("xor", "XOR truth table: 1 when exactly one input is 1 (not linearly separable)"),
):
    register(
        DatasetInfo(
            _gate, CLASSIFICATION, _words, _gate_loader(_gate), features=2, classes=2, samples=4, source="truth table"
        )
    )


# ---------------------------------------------------------------- 2-D classification shapes


def _load_xor_points(o: dict[str, Any], seed: int, tf: float, base_dir: Path | None) -> Dataset:
    import numpy as np

    rng = _rng(seed)
    n = o["samples"]
    X = rng.uniform(-1, 1, size=(n, 2))
    # Keep points off the axes (as TensorFlow Playground pads them) so the labels are learnable.
    X += np.sign(X) * 0.05
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    X = X + rng.normal(0, o["noise"], size=X.shape)
    return make_dataset("xor_points", CLASSIFICATION, X, y, seed=seed, test_fraction=tf)


def _load_circles(o: dict[str, Any], seed: int, tf: float, base_dir: Path | None) -> Dataset:
    import numpy as np

    rng = _rng(seed)
    n = o["samples"]
    n_out = n // 2
    n_in = n - n_out
    t_out = rng.uniform(0, 2 * math.pi, n_out)
    t_in = rng.uniform(0, 2 * math.pi, n_in)
    outer = np.c_[np.cos(t_out), np.sin(t_out)]
    inner = np.c_[np.cos(t_in), np.sin(t_in)] * o["factor"]
    X = np.r_[outer, inner] + rng.normal(0, o["noise"], size=(n, 2))
    y = np.r_[np.zeros(n_out), np.ones(n_in)].astype(np.int64)
    return make_dataset("circles", CLASSIFICATION, X, y, seed=seed, test_fraction=tf, label_names=["outer", "inner"])


def _load_moons(o: dict[str, Any], seed: int, tf: float, base_dir: Path | None) -> Dataset:
    import numpy as np

    rng = _rng(seed)
    n = o["samples"]
    n_a = n // 2
    n_b = n - n_a
    ta = np.linspace(0, math.pi, n_a)
    tb = np.linspace(0, math.pi, n_b)
    a = np.c_[np.cos(ta), np.sin(ta)]
    b = np.c_[1 - np.cos(tb), 1 - np.sin(tb) - 0.5]
    X = np.r_[a, b] + rng.normal(0, o["noise"], size=(n, 2))
    y = np.r_[np.zeros(n_a), np.ones(n_b)].astype(np.int64)
    return make_dataset("moons", CLASSIFICATION, X, y, seed=seed, test_fraction=tf, scale=True)


def _load_spiral(o: dict[str, Any], seed: int, tf: float, base_dir: Path | None) -> Dataset:
    import numpy as np

    rng = _rng(seed)
    n, arms = o["samples"], o["arms"]
    per = [n // arms + (1 if i < n % arms else 0) for i in range(arms)]
    xs, ys = [], []
    for arm, m in enumerate(per):
        r = np.linspace(0.05, 1.0, m)
        t = r * o["turns"] * 2 * math.pi + arm * 2 * math.pi / arms
        pts = np.c_[r * np.sin(t), r * np.cos(t)] + rng.normal(0, o["noise"], size=(m, 2))
        xs.append(pts)
        ys.append(np.full(m, arm))
    X = np.concatenate(xs)
    y = np.concatenate(ys).astype(np.int64)
    return make_dataset("spiral", CLASSIFICATION, X, y, seed=seed, test_fraction=tf, scale=True)


def _load_blobs(o: dict[str, Any], seed: int, tf: float, base_dir: Path | None) -> Dataset:
    import numpy as np

    rng = _rng(seed)
    n, f, k = o["samples"], o["features"], o["classes"]
    centers = rng.uniform(-o["spread"], o["spread"], size=(k, f))
    counts = [n // k + (1 if i < n % k else 0) for i in range(k)]
    X = np.concatenate([centers[i] + rng.normal(0, o["noise"], size=(c, f)) for i, c in enumerate(counts)])
    y = np.concatenate([np.full(c, i) for i, c in enumerate(counts)]).astype(np.int64)
    return make_dataset("blobs", CLASSIFICATION, X, y, seed=seed, test_fraction=tf, scale=True)


def _check_blobs(o: dict[str, Any], source: str | None) -> None:
    if "samples" in o and "classes" in o and o["samples"] < 2 * o["classes"]:
        raise UserError(
            f"{o['samples']} samples cannot make {o['classes']} classes; need at least 2 per class",
            source=source,
            key="data.samples",
        )


def _check_spiral(o: dict[str, Any], source: str | None) -> None:
    if "samples" in o and "arms" in o and o["samples"] < 2 * o["arms"]:
        raise UserError(
            f"{o['samples']} samples cannot make {o['arms']} arms; need at least 2 per arm",
            source=source,
            key="data.samples",
        )


register(DatasetInfo(
    "xor_points", CLASSIFICATION,
    "Points in four quadrants, labelled like XOR (TensorFlow Playground's 'exclusive or')",
    _load_xor_points, (samples_field(500), noise_field(0.0)), features=2, classes=2, samples=500,
))
register(DatasetInfo(
    "circles", CLASSIFICATION, "A ring of points around a smaller circle: needs a curved boundary",
    _load_circles,
    (samples_field(500), noise_field(0.05), Field("factor", float, 0.5, min=0.05, max=0.95, help="inner radius / outer radius")),
    features=2, classes=2, samples=500,
))
register(DatasetInfo(
    "moons", CLASSIFICATION, "Two interleaving half circles",
    _load_moons, (samples_field(1000), noise_field(0.1)), features=2, classes=2, samples=1000,
))
register(DatasetInfo(
    "spiral", CLASSIFICATION, "Interleaved spiral arms, one class per arm: the hardest 2-D shape",
    _load_spiral,
    (
        samples_field(1000),
        noise_field(0.0),
        Field("arms", int, 2, min=2, max=10, help="number of arms (= classes)"),
        Field("turns", float, 0.75, min=0.1, max=5.0, help="turns per arm"),
    ),
    features=2, classes=None, samples=1000, extra_check=_check_spiral,
))
register(DatasetInfo(
    "blobs", CLASSIFICATION, "Gaussian clusters, one per class, in any number of dimensions",
    _load_blobs,
    (
        samples_field(600),
        noise_field(1.0, "standard deviation of each cluster"),
        Field("features", int, 2, min=1, max=10_000, help="dimensions"),
        Field("classes", int, 3, min=2, max=1000, help="clusters"),
        Field("spread", float, 5.0, min=0.0, max=1e6, help="cluster centres are drawn from [-spread, spread]"),
    ),
    features=None, classes=None, samples=600, extra_check=_check_blobs,
))


# ---------------------------------------------------------------- regression


def _load_linear(o: dict[str, Any], seed: int, tf: float, base_dir: Path | None) -> Dataset:
    rng = _rng(seed)
    n = o["samples"]
    x = rng.uniform(-1, 1, size=(n, 1))
    y = o["slope"] * x + o["intercept"] + rng.normal(0, o["noise"], size=(n, 1))
    # Not standardised: the point is to read back slope and intercept from the learned weight and bias.
    return make_dataset("linear", REGRESSION, x, y, seed=seed, test_fraction=tf, feature_names=["x"])


def _load_sine(o: dict[str, Any], seed: int, tf: float, base_dir: Path | None) -> Dataset:
    import numpy as np

    rng = _rng(seed)
    n = o["samples"]
    x = rng.uniform(-math.pi, math.pi, size=(n, 1))
    y = np.sin(x) + rng.normal(0, o["noise"], size=(n, 1))
    return make_dataset("sine", REGRESSION, x, y, seed=seed, test_fraction=tf, feature_names=["x"])


def _load_plane(o: dict[str, Any], seed: int, tf: float, base_dir: Path | None) -> Dataset:
    rng = _rng(seed)
    n = o["samples"]
    X = rng.uniform(-1, 1, size=(n, 2))
    y = (X[:, :1] + X[:, 1:]) + rng.normal(0, o["noise"], size=(n, 1))
    return make_dataset("plane", REGRESSION, X, y, seed=seed, test_fraction=tf)


register(DatasetInfo(
    "linear", REGRESSION, "y = slope·x + intercept + noise (default y = 2x + 1): one neuron can learn it",
    _load_linear,
    (
        samples_field(200),
        noise_field(0.1),
        Field("slope", float, 2.0, min=-1e6, max=1e6),
        Field("intercept", float, 1.0, min=-1e6, max=1e6),
    ),
    features=1, samples=200,
))
register(DatasetInfo(
    "sine", REGRESSION, "y = sin(x) + noise on [-π, π]: needs a hidden layer",
    _load_sine, (samples_field(500), noise_field(0.05)), features=1, samples=500,
))
register(DatasetInfo(
    "plane", REGRESSION, "y = x1 + x2 + noise (TensorFlow Playground's 'plane')",
    _load_plane, (samples_field(500), noise_field(0.05)), features=2, samples=500,
))
