"""One forward pass, neuron by neuron: each layer's weighted sums and activations, then the prediction and the loss."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class LayerTrace:
    name: str  # "hidden 1", ..., "output"
    activation: str  # for the output layer: sigmoid / softmax / linear, as the loss reads the logits
    weighted_sum: tuple[float, ...]  # z = W·x + b per neuron (after batch norm when the layer has it)
    output: tuple[float, ...]  # a = activation(z): what the next layer receives


@dataclass(frozen=True)
class ForwardTrace:
    inputs: tuple[float, ...]
    layers: tuple[LayerTrace, ...]
    probabilities: tuple[float, ...] | None  # classification: one per class
    prediction: float | int  # class index, or the predicted value (first output) for regression
    prediction_label: str
    target: float | int | None
    target_label: str | None
    loss: float | None  # the training loss on this one sample

    @property
    def correct(self) -> bool | None:
        if self.target is None or self.probabilities is None:
            return None
        return self.prediction == self.target


def forward_trace(
    model: nn.Module,
    x: Sequence[float],
    loss: str,
    *,
    target: float | int | Sequence[float] | None = None,
    label_names: Sequence[str] | None = None,
) -> ForwardTrace:
    """Run one sample through the model in eval mode and record every neuron on the way."""
    import torch

    from nn_tui.core.inspection.boundary import class_probabilities
    from nn_tui.core.model.build import loss_function
    from nn_tui.core.model.network import layers_of, plain_model

    model = plain_model(model)
    layers = layers_of(model)
    xt = torch.as_tensor([list(map(float, x))], dtype=torch.float32)
    was_training = model.training
    model.eval()
    traces: list[LayerTrace] = []
    try:
        with torch.inference_mode():
            h = xt.to(next(model.parameters()).device)
            for layer in layers:
                z = layer.linear(h)
                if layer.batch_norm is not None:
                    z = layer.batch_norm(z)
                a = layer.activation_module(z) if layer.activation_module is not None else z
                if layer.is_output:
                    shown = {"bce": "sigmoid", "cross_entropy": "softmax"}.get(loss, "linear")
                    a = class_probabilities(z, loss) if loss in ("bce", "cross_entropy") else z
                    if loss == "bce":
                        a = a[:, 1:]  # the one probability the sigmoid gives: P(class 1)
                else:
                    shown = layer.activation
                traces.append(LayerTrace(layer.name, shown, tuple(z[0].tolist()), tuple(a[0].tolist())))
                h = a
            logits = z
            sample_loss = None
            probabilities = None
            if loss in ("bce", "cross_entropy"):
                probs = class_probabilities(logits, loss)[0]
                probabilities = tuple(probs.tolist())
                prediction: float | int = int(probs.argmax())
                if target is not None:
                    t = int(target)  # type: ignore[arg-type]
                    if loss == "bce":
                        yt = torch.tensor([[float(t)]], device=logits.device)
                    else:
                        yt = torch.tensor([t], device=logits.device)
                    sample_loss = float(loss_function(loss)(logits, yt))
            else:
                prediction = float(logits[0, 0])
                if target is not None:
                    values = [float(target)] if isinstance(target, (int, float)) else [float(v) for v in target]
                    yt = torch.tensor([values], device=logits.device)
                    sample_loss = float(loss_function(loss)(logits, yt))
    finally:
        model.train(was_training)

    def label(value) -> str:
        if probabilities is not None:
            i = int(value)
            return label_names[i] if label_names and i < len(label_names) else str(i)
        return f"{value:.4g}"

    tgt = None
    if target is not None:
        tgt = int(target) if probabilities is not None else (  # type: ignore[arg-type]
            float(target) if isinstance(target, (int, float)) else float(list(target)[0])
        )
    return ForwardTrace(
        inputs=tuple(float(v) for v in x),
        layers=tuple(traces),
        probabilities=probabilities,
        prediction=prediction,
        prediction_label=label(prediction),
        target=tgt,
        target_label=label(tgt) if tgt is not None else None,
        loss=sample_loss if sample_loss is None or math.isfinite(sample_loss) else float("nan"),
    )


def describe(trace: ForwardTrace, feature_names: Sequence[str] | None = None) -> list[str]:
    """The pass in words, layer by layer, as a tutorial would write it out."""
    names = list(feature_names or [f"x{i + 1}" for i in range(len(trace.inputs))])
    lines = ["input  " + "  ".join(f"{n}={v:.3g}" for n, v in zip(names, trace.inputs))]
    for layer in trace.layers:
        cells = [f"z={z:+.3f} → {a:.3f}" for z, a in zip(layer.weighted_sum, layer.output)]
        if layer.name == "output" and layer.activation == "softmax":
            cells = [f"z={z:+.3f} → p={a:.3f}" for z, a in zip(layer.weighted_sum, layer.output)]
        lines.append(f"{layer.name} ({layer.activation})  " + "  ".join(cells))
    result = f"prediction {trace.prediction_label}"
    if trace.probabilities is not None:
        result += f" (p={max(trace.probabilities):.3f})"
    if trace.target_label is not None:
        result += f", target {trace.target_label}"
    if trace.loss is not None:
        result += f", loss {trace.loss:.4g}"
    lines.append(result)
    return lines
