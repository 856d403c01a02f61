"""Truth tables for the logic-gate datasets: the four inputs, the target, the model's output and a verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nn_tui.core.datasets.generators import GATE_INPUTS as INPUTS
from nn_tui.core.datasets.generators import GATES

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class TruthRow:
    x1: int
    x2: int
    target: int
    probability: float  # the model's P(output = 1)
    prediction: int  # 1 when the probability is above 0.5 (a logit above 0), as accuracy counts it

    @property
    def correct(self) -> bool:
        return self.prediction == self.target


@dataclass(frozen=True)
class TruthTable:
    gate: str
    rows: tuple[TruthRow, ...]
    hidden_layers: int

    @property
    def correct(self) -> int:
        return sum(r.correct for r in self.rows)

    @property
    def solved(self) -> bool:
        return self.correct == len(self.rows)

    @property
    def verdict(self) -> str:
        name = self.gate.upper()
        if self.solved:
            if self.gate == "xor":
                return "XOR solved: " + ("the hidden layers bend" if self.hidden_layers > 1 else "the hidden layer bends") + " the boundary"
            return f"{name} solved" + (": one neuron is enough, AND/OR are linearly separable" if not self.hidden_layers else "")
        if self.gate == "xor" and self.hidden_layers == 0:
            return "a network with no hidden layer cannot separate XOR: no single straight line splits it; add a hidden layer"
        return f"{self.correct} of 4 rows right: not solved yet"


def truth_table(model: nn.Module, gate: str, loss: str, hidden_layers: int) -> TruthTable:
    """The model's answers on the four rows of an and / or / xor truth table (one batched pass, eval mode)."""
    import torch

    from nn_tui.core.inspection.boundary import class_probabilities

    if gate not in GATES:
        raise ValueError(f"{gate!r} is not a logic gate; expected one of: {', '.join(GATES)}")
    X = torch.tensor(INPUTS, dtype=torch.float32, device=next(model.parameters()).device)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            p1 = class_probabilities(model(X), loss)[:, 1].tolist()
    finally:
        model.train(was_training)
    rows = tuple(
        TruthRow(a, b, t, float(p), int(p > 0.5)) for (a, b), t, p in zip(INPUTS, GATES[gate], p1)
    )
    return TruthTable(gate, rows, hidden_layers)
