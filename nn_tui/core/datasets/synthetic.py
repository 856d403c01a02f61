"""Synthetic datasets generated from the seed: logic gates, 2-D classification shapes and simple regressions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nn_tui.core.datasets import CLASSIFICATION, REGRESSION, Dataset, DatasetInfo, make_dataset, register
from nn_tui.core.datasets.generators import GATE_INPUTS, GATE_WORDS, GATES, GENERATORS, generate
from nn_tui.core.errors import UserError
from nn_tui.core.schema import Field


def _generated(name: str, task: str, **extra: Any):
    """A loader for a generator in nn_tui.core.datasets.generators: generate, then split (and scale)."""

    def load(o: dict[str, Any], seed: int, tf: float, base_dir: Path | None) -> Dataset:
        X, y = generate(name, o, seed)
        return make_dataset(name, task, X, y, seed=seed, test_fraction=tf, scale=GENERATORS[name][1], **extra)

    return load


def samples_field(default: int) -> Field:
    return Field("samples", int, default, min=4, max=10_000_000, help="number of points")


def noise_field(default: float, help: str = "Gaussian noise added to the points") -> Field:
    return Field("noise", float, default, min=0.0, max=100.0, help=help)


# ---------------------------------------------------------------- logic gates

def _gate_loader(gate: str):
    def load(options: dict[str, Any], seed: int, test_fraction: float, base_dir: Path | None) -> Dataset:
        import numpy as np

        X = np.array(GATE_INPUTS, dtype=np.float32)
        y = np.array(GATES[gate], dtype=np.int64)
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


for _gate, _words in GATE_WORDS.items():
    _words += " (not linearly separable)" if _gate == "xor" else " (linearly separable)"
    register(
        DatasetInfo(
            _gate, CLASSIFICATION, _words, _gate_loader(_gate), features=2, classes=2, samples=4, source="truth table"
        )
    )


# ---------------------------------------------------------------- 2-D classification shapes


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
    _generated("xor_points", CLASSIFICATION), (samples_field(500), noise_field(0.0)), features=2, classes=2, samples=500,
))
register(DatasetInfo(
    "circles", CLASSIFICATION, "A ring of points around a smaller circle: needs a curved boundary",
    _generated("circles", CLASSIFICATION, label_names=["outer", "inner"]),
    (samples_field(500), noise_field(0.05), Field("factor", float, 0.5, min=0.05, max=0.95, help="inner radius / outer radius")),
    features=2, classes=2, samples=500,
))
register(DatasetInfo(
    "moons", CLASSIFICATION, "Two interleaving half circles",
    _generated("moons", CLASSIFICATION), (samples_field(1000), noise_field(0.1)), features=2, classes=2, samples=1000,
))
register(DatasetInfo(
    "spiral", CLASSIFICATION, "Interleaved spiral arms, one class per arm: the hardest 2-D shape",
    _generated("spiral", CLASSIFICATION),
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
    _generated("blobs", CLASSIFICATION),
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


register(DatasetInfo(
    "linear", REGRESSION, "y = slope·x + intercept + noise (default y = 2x + 1): one neuron can learn it",
    _generated("linear", REGRESSION, feature_names=["x"]),
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
    _generated("sine", REGRESSION, feature_names=["x"]), (samples_field(500), noise_field(0.05)), features=1, samples=500,
))
register(DatasetInfo(
    "plane", REGRESSION, "y = x1 + x2 + noise (TensorFlow Playground's 'plane')",
    _generated("plane", REGRESSION), (samples_field(500), noise_field(0.05)), features=2, samples=500,
))
