"""Build the MLP from a preset, describe it layer by layer, and pick its loss, optimizer and scheduler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nn_tui.core.preset import LayerSpec, TrainingSpec
from nn_tui.core.preset.choices import ACTIVATIONS, DEFAULT_MOMENTUM, LOSSES, OPTIMIZERS, scheduler_for

if TYPE_CHECKING:
    import torch
    from torch import nn

# What the automatic output layer does for each loss: (description, activation used for predictions)
OUTPUT_HEADS = {
    "bce": ("1 logit → sigmoid (BCE on logits)", "sigmoid"),
    "cross_entropy": ("logits → softmax (cross-entropy on logits)", "softmax"),
    "mse": ("linear (MSE)", "linear"),
    "mae": ("linear (MAE)", "linear"),
    "huber": ("linear (Huber)", "linear"),
}


def default_loss(task: str, n_classes: int | None) -> str:
    if task == "classification":
        return "bce" if n_classes == 2 else "cross_entropy"
    return "mse"


def output_units(task: str, loss: str, n_classes: int | None, n_targets: int = 1) -> int:
    if task == "classification":
        return 1 if loss == "bce" else int(n_classes or 2)
    return n_targets


@dataclass(frozen=True)
class LayerSummary:
    kind: str  # input | hidden | output
    units: int
    activation: str
    parameters: int
    detail: str = ""

    @property
    def shape(self) -> str:
        return f"(batch, {self.units})"


def summarize(n_in: int, layers: list[LayerSpec], n_out: int, loss: str) -> list[LayerSummary]:
    """Per-layer output size and trainable parameter count, computed without torch."""
    rows = [LayerSummary("input", n_in, "", 0, "features")]
    prev = n_in
    for layer in layers:
        params = prev * layer.units + layer.units + (2 * layer.units if layer.batch_norm else 0)
        extras = []
        if layer.batch_norm:
            extras.append("batch norm")
        if layer.dropout:
            extras.append(f"dropout {layer.dropout:g}")
        rows.append(LayerSummary("hidden", layer.units, layer.activation, params, ", ".join(extras)))
        prev = layer.units
    desc, act = OUTPUT_HEADS[loss]
    rows.append(LayerSummary("output", n_out, act, prev * n_out + n_out, desc))
    return rows


def activation_module(name: str) -> nn.Module:
    return ACTIVATIONS[name].build()


def build_model(n_in: int, layers: list[LayerSpec], n_out: int) -> nn.Sequential:
    """Linear -> [BatchNorm1d] -> activation -> [Dropout] per hidden layer, then a Linear output of logits."""
    from torch import nn

    modules: list[nn.Module] = []
    prev = n_in
    for layer in layers:
        modules.append(nn.Linear(prev, layer.units))
        if layer.batch_norm:
            modules.append(nn.BatchNorm1d(layer.units))
        if layer.activation != "linear":
            modules.append(activation_module(layer.activation))
        if layer.dropout > 0:
            modules.append(nn.Dropout(layer.dropout))
        prev = layer.units
    modules.append(nn.Linear(prev, n_out))
    return nn.Sequential(*modules)


def loss_function(name: str) -> nn.Module:
    return LOSSES[name].build()


def resolved_momentum(training: TrainingSpec) -> float | None:
    if training.momentum is not None:
        return training.momentum
    return DEFAULT_MOMENTUM.get(training.optimizer)


def make_optimizer(params, training: TrainingSpec, device_type: str) -> torch.optim.Optimizer:
    lr, wd = training.lr, training.weight_decay
    momentum = resolved_momentum(training)
    name = training.optimizer
    params = list(params)
    if name in ("adam", "adamw"):
        # The fused kernels do the whole update in one pass (CPU and CUDA); fall back to foreach.
        try:
            return OPTIMIZERS[name].build(params, lr=lr, weight_decay=wd, fused=device_type in ("cpu", "cuda"))
        except (RuntimeError, TypeError, ValueError):
            return OPTIMIZERS[name].build(params, lr=lr, weight_decay=wd)
    if name in DEFAULT_MOMENTUM:
        return OPTIMIZERS[name].build(params, lr=lr, momentum=momentum or 0.0, weight_decay=wd)
    return OPTIMIZERS[name].build(params, lr=lr, weight_decay=wd)


def make_scheduler(optimizer, training: TrainingSpec):
    """An epoch-level LR scheduler, or None. 'plateau' steps on validation loss."""
    found = scheduler_for(training.scheduler, training.epochs)
    if found is None:
        return None
    cls, kwargs = found
    return cls.build(optimizer, **kwargs)
