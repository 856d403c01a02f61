"""Which trials can train together as one stacked model (nn_tui.core.training.batched), and what a group costs in
memory: decided from the presets alone, before any data is loaded."""

from __future__ import annotations

from typing import Any

BATCHED_OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
BN_EPS, BN_MOMENTUM = 1e-5, 0.1  # BatchNorm1d's defaults, which build_model uses


def batch_key(preset: Any) -> tuple | None:
    """What trials must share to train together (None: this preset cannot be batched): the data (dataset, its
    options, split and batch size), the architecture (units, activations, batch norm, which layers have dropout) and
    the loss and optimizer family. Seeds, lr, weight decay, momentum, L1, dropout rate, scheduler, clipping, early
    stopping and epochs may differ."""
    t, d = preset.training, preset.data
    if t.optimizer not in BATCHED_OPTIMIZERS:
        return None
    layers = tuple((l.units, l.activation, bool(l.batch_norm), l.dropout > 0) for l in preset.layers)
    data = (d.dataset, repr(sorted(d.options.items())), d.test_fraction, d.batch_size, repr(d.extra_features))
    return (data, layers, t.loss, family(t.optimizer), t.device)


def family(optimizer: str) -> str:
    """Adam and AdamW each their own; SGD with or without momentum one (momentum 0 is plain SGD)."""
    return optimizer if optimizer in ("adam", "adamw") else "sgd"


def estimate_bytes(parameters: int, rows: int, batch: int, units: int, trials: int, shared_data: bool,
                   features: int) -> int:
    """Memory a group needs, roughly: per trial its weights, gradients, two optimizer slots, the last good copy
    and the best copy (6 × parameters), activations of a batch and of a validation pass (with autograd's saved
    tensors, ~4 × rows × units), and the data once (shared) or per trial."""
    per_trial = 6 * parameters + 4 * max(batch, rows) * max(units, 1)
    data = rows * (features + 1) * (1 if shared_data else trials)
    return 4 * (trials * per_trial + data)
