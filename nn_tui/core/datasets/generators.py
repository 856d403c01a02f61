"""The synthetic datasets as plain functions of numpy and math, written once: nn-tui's loaders call them and
an exported training script inlines their source (nn_tui.core.export.script), so both make the same points.
Each takes its [data] keys by name and the seed, and returns (X, y). numpy is imported inside each one, so
registering the datasets does not import it."""

from __future__ import annotations

import math

# The logic gates: the four input rows, and each gate's output for them.
GATE_INPUTS = ((0, 0), (0, 1), (1, 0), (1, 1))
GATES = {"and": (0, 0, 0, 1), "or": (0, 1, 1, 1), "xor": (0, 1, 1, 0)}
GATE_WORDS = {
    "and": "AND truth table: 1 only when both inputs are 1",
    "or": "OR truth table: 1 when either input is 1",
    "xor": "XOR truth table: 1 when exactly one input is 1",
}


def xor_points(samples, noise, seed):
    """Points in four quadrants, labelled like XOR (TensorFlow Playground's "exclusive or")."""
    import numpy as np

    rng = np.random.default_rng([seed, 0])
    X = rng.uniform(-1, 1, size=(samples, 2))
    X += np.sign(X) * 0.05  # keep points off the axes, so every label is learnable
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    X = X + rng.normal(0, noise, size=X.shape)
    return X, y


def circles(samples, noise, factor, seed):
    """A ring of points (class 0) around a smaller circle (class 1)."""
    import numpy as np

    rng = np.random.default_rng([seed, 0])
    n_outer = samples // 2
    n_inner = samples - n_outer
    t_outer = rng.uniform(0, 2 * math.pi, n_outer)
    t_inner = rng.uniform(0, 2 * math.pi, n_inner)
    outer = np.c_[np.cos(t_outer), np.sin(t_outer)]
    inner = np.c_[np.cos(t_inner), np.sin(t_inner)] * factor
    X = np.r_[outer, inner] + rng.normal(0, noise, size=(samples, 2))
    y = np.r_[np.zeros(n_outer), np.ones(n_inner)].astype(np.int64)
    return X, y


def moons(samples, noise, seed):
    """Two interleaving half moons."""
    import numpy as np

    rng = np.random.default_rng([seed, 0])
    n_a = samples // 2
    n_b = samples - n_a
    t_a = np.linspace(0, math.pi, n_a)
    t_b = np.linspace(0, math.pi, n_b)
    moon_a = np.c_[np.cos(t_a), np.sin(t_a)]
    moon_b = np.c_[1 - np.cos(t_b), 1 - np.sin(t_b) - 0.5]
    X = np.r_[moon_a, moon_b] + rng.normal(0, noise, size=(samples, 2))
    y = np.r_[np.zeros(n_a), np.ones(n_b)].astype(np.int64)
    return X, y


def spiral(samples, noise, arms, turns, seed):
    """Interleaved spiral arms, one class per arm."""
    import numpy as np

    rng = np.random.default_rng([seed, 0])
    per_arm = [samples // arms + (1 if i < samples % arms else 0) for i in range(arms)]
    points, labels = [], []
    for arm, m in enumerate(per_arm):
        r = np.linspace(0.05, 1.0, m)
        t = r * turns * 2 * math.pi + arm * 2 * math.pi / arms
        points.append(np.c_[r * np.sin(t), r * np.cos(t)] + rng.normal(0, noise, size=(m, 2)))
        labels.append(np.full(m, arm))
    X = np.concatenate(points)
    y = np.concatenate(labels).astype(np.int64)
    return X, y


def blobs(samples, noise, features, classes, spread, seed):
    """Gaussian clusters, one per class."""
    import numpy as np

    rng = np.random.default_rng([seed, 0])
    centers = rng.uniform(-spread, spread, size=(classes, features))
    counts = [samples // classes + (1 if i < samples % classes else 0) for i in range(classes)]
    X = np.concatenate([centers[i] + rng.normal(0, noise, size=(c, features)) for i, c in enumerate(counts)])
    y = np.concatenate([np.full(c, i) for i, c in enumerate(counts)]).astype(np.int64)
    return X, y


def linear(samples, noise, slope, intercept, seed):
    """y = slope * x + intercept + noise. Not scaled, so the learned weight and bias read as slope and intercept."""
    import numpy as np

    rng = np.random.default_rng([seed, 0])
    X = rng.uniform(-1, 1, size=(samples, 1))
    y = slope * X + intercept + rng.normal(0, noise, size=(samples, 1))
    return X, y


def sine(samples, noise, seed):
    """y = sin(x) + noise on [-pi, pi]."""
    import numpy as np

    rng = np.random.default_rng([seed, 0])
    X = rng.uniform(-math.pi, math.pi, size=(samples, 1))
    y = np.sin(X) + rng.normal(0, noise, size=(samples, 1))
    return X, y


def plane(samples, noise, seed):
    """y = x1 + x2 + noise."""
    import numpy as np

    rng = np.random.default_rng([seed, 0])
    X = rng.uniform(-1, 1, size=(samples, 2))
    y = X[:, :1] + X[:, 1:] + rng.normal(0, noise, size=(samples, 1))
    return X, y


# dataset name -> (generator, whether its features are standardised)
GENERATORS = {
    "xor_points": (xor_points, False),
    "circles": (circles, False),
    "moons": (moons, True),
    "spiral": (spiral, True),
    "blobs": (blobs, True),
    "linear": (linear, False),
    "sine": (sine, False),
    "plane": (plane, False),
}


def generate(name: str, options: dict, seed: int):
    """(X, y) of synthetic dataset `name` with its [data] options."""
    import inspect

    fn, _ = GENERATORS[name]
    keys = [p for p in inspect.signature(fn).parameters if p != "seed"]
    return fn(*(options[k] for k in keys), seed=seed)
