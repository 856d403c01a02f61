"""Validation scores on the device: mean loss and accuracy (or R²) as tensors, so an epoch syncs with the host once."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

EVAL_CHUNK = 65536


def metric_target(y: torch.Tensor, metric: str, loss_name: str) -> torch.Tensor:
    """What predictions are compared with: class indices (BCE targets are 0.0/1.0 in a column)."""
    return y[:, 0].long() if metric == "val_accuracy" and loss_name == "bce" else y


def whole_set_scores(
    out: torch.Tensor, y: torch.Tensor, loss: torch.Tensor, metric: str, loss_name: str, target: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean loss, metric) of one whole-set output; `* n / n` keeps the chunked loop's arithmetic."""
    n = len(out)
    loss_mean = loss * n / n
    if metric == "val_accuracy":
        if target is None:
            target = metric_target(y, metric, loss_name)
        if loss_name == "bce":
            return loss_mean, ((out[:, 0] > 0) == target).sum() / n  # bool == 0/1: the same count
        return loss_mean, (out.argmax(1) == target).sum() / n
    sst = ((y - y.mean(0)) ** 2).sum(0).clamp_min(1e-12)
    return loss_mean, (1 - ((out - y) ** 2).sum(0) / sst).mean()


def chunked_scores(forward, loss_fn, X: torch.Tensor, y: torch.Tensor, metric: str, loss_name: str, device):
    """(mean loss, metric) over sets too big for one forward pass, EVAL_CHUNK rows at a time."""
    import torch

    n = len(X)
    loss_sum = torch.zeros((), device=device)
    hits = torch.zeros((), device=device)
    if metric == "val_r2":
        sse = torch.zeros(y.shape[1], device=device)
    for start in range(0, n, EVAL_CHUNK):
        xb, yb = X[start : start + EVAL_CHUNK], y[start : start + EVAL_CHUNK]
        out = forward(xb)
        loss_sum += loss_fn(out, yb) * len(xb)
        if metric == "val_accuracy":
            pred = (out[:, 0] > 0).long() if loss_name == "bce" else out.argmax(1)
            target = yb[:, 0].long() if loss_name == "bce" else yb
            hits += (pred == target).sum()
        else:
            sse += ((out - yb) ** 2).sum(0)
    if metric == "val_accuracy":
        value = hits / n
    else:
        sst = ((y - y.mean(0)) ** 2).sum(0).clamp_min(1e-12)
        value = (1 - sse / sst).mean()
    return loss_sum / n, value
