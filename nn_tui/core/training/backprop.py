"""The backward pass of a stack of MLPs written out by hand (nn_tui.core.training.batched): for networks this small,
autograd's bookkeeping (building the graph, running its engine) costs more than the gradients themselves.

Each step uses the kernel autograd itself would run for it (aten's tanh_backward, threshold_backward, …), so the
gradients are the ones autograd gives up to the order of a few sums. Networks with batch norm keep autograd.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# Activation modules whose backward is written here (by class name), with what their backward kernel reads.
ACTIVATIONS = ("ReLU", "Tanh", "Sigmoid", "LeakyReLU", "GELU", "SiLU", "ELU")
LOSSES = ("bce", "cross_entropy", "mse", "mae", "huber")


def supports(layout: list[dict[str, Any]], loss_name: str) -> bool:
    """Whether this network's backward can be done here: no batch norm, known activations and loss."""
    return loss_name in LOSSES and all(
        not layer["bn"] and (layer["act"] is None or type(layer["act"]).__name__ in ACTIVATIONS) for layer in layout
    )


def loss_gradient(loss_name: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d(Σ over trials of each trial's mean loss) / d(out), out (T, n, outputs), as autograd computes it."""
    import torch

    aten = torch.ops.aten
    T, n, c = out.shape
    # The mean's backward: 1 / (elements per trial), in float32, spread over the elements.
    per_element = (torch.ones((), device=out.device) / (n if loss_name == "cross_entropy" else n * c)).item()
    if loss_name == "bce":
        return (torch.sigmoid(out) - y) * per_element
    if loss_name == "cross_entropy":
        logp = torch.log_softmax(out, 2)
        grad = torch.zeros_like(out).scatter_(2, y.unsqueeze(2), -per_element)
        return aten._log_softmax_backward_data(grad, logp, 2, out.dtype)
    grad = torch.full_like(out, per_element)
    if loss_name == "mse":
        return aten.mse_loss_backward(grad, out, y, 0)
    if loss_name == "mae":
        return grad * torch.sgn(out - y)
    return aten.huber_loss_backward(grad, out, y, 0, 1.0)


def activation_gradient(module: Any, grad: torch.Tensor, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """d/dz of h = module(z), given d/dh."""
    import torch

    aten = torch.ops.aten
    name = type(module).__name__
    if name == "ReLU":
        return aten.threshold_backward(grad, h, 0)
    if name == "Tanh":
        return aten.tanh_backward(grad, h)
    if name == "Sigmoid":
        return aten.sigmoid_backward(grad, h)
    if name == "LeakyReLU":
        return aten.leaky_relu_backward(grad, z, module.negative_slope, False)
    if name == "GELU":
        return aten.gelu_backward(grad, z, approximate=module.approximate)
    if name == "SiLU":
        return aten.silu_backward(grad, z)
    return aten.elu_backward(grad, module.alpha, 1, 1, False, z)  # ELU


def backward(layout: list[dict[str, Any]], params: list[torch.Tensor], saved: list[tuple], masks: list | None,
             delta: torch.Tensor, l1: torch.Tensor | None) -> list[torch.Tensor]:
    """Gradients of every parameter (in `params` order: W, b per layer), from the loss gradient `delta` and what
    the forward pass saved per layer: (its input, its pre-activation z, its activation h before dropout).
    l1: per-trial L1 strengths, or None."""
    import torch

    grads: list[Any] = [None] * len(params)
    for k in range(len(layout) - 1, -1, -1):
        layer = layout[k]
        x_in, z, h = saved[k]
        if layer["drop"] and masks is not None:
            delta = delta * masks[k]
        if layer["act"] is not None:
            delta = activation_gradient(layer["act"], delta, z, h)
        W = params[layer["pi"]]
        dW = torch.bmm(delta.transpose(1, 2), x_in)
        if l1 is not None:
            dW = dW + l1.view(-1, 1, 1) * torch.sgn(W.detach())
        grads[layer["pi"]] = dW
        grads[layer["pi"] + 1] = delta.sum(1)
        if k > 0:
            delta = torch.bmm(delta, W.detach())
    return grads
