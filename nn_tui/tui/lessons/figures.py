"""Small text figures a lesson can show beside its text: the activations' shapes and slopes as sparklines."""

from __future__ import annotations

import math

BARS = "▁▂▃▄▅▆▇█"
POINTS = 13  # x from -4 to 4


def _activations():
    def sigmoid(x: float) -> float:
        return 1 / (1 + math.exp(-x))

    def gelu(x: float) -> float:
        return 0.5 * x * (1 + math.erf(x / math.sqrt(2)))

    return {
        "sigm": sigmoid,
        "tanh": math.tanh,
        "relu": lambda x: max(0.0, x),
        "leaky": lambda x: x if x > 0 else 0.01 * x,  # PyTorch's default negative slope
        "gelu": gelu,
    }


def _bars(values: list[float], low: float, high: float) -> str:
    span = (high - low) or 1.0
    return "".join(BARS[min(len(BARS) - 1, max(0, round((v - low) / span * (len(BARS) - 1))))] for v in values)


def activation_figure() -> str:
    """Each activation's shape f(x) (scaled to its own range) and slope f′(x) on one scale from 0 to 1, for x
    from -4 to 4, with the largest slope: sigmoid's never passes 0.25, ReLU's is 1 wherever it is active."""
    xs = [-4 + 8 * i / (POINTS - 1) for i in range(POINTS)]
    h = 1e-4
    lines = ["x: -4 … 4; every f′ on one", "scale from 0 to 1"]
    for name, f in _activations().items():
        ys = [f(x) for x in xs]
        slopes = [(f(x + h) - f(x - h)) / (2 * h) for x in xs]
        peak = max((f(x + h) - f(x - h)) / (2 * h) for x in [-4 + 8 * i / 400 for i in range(401)])
        lines.append(f"{name:<5} {_bars(ys, min(ys), max(ys))} f")
        lines.append(f"{'':<5} {_bars(slopes, 0.0, 1.0)} f′≤{peak:.2f}")
    return "\n".join(lines)
