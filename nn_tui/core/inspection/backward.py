"""One backward pass, neuron by neuron: ∂L/∂z for every neuron and ∂L/∂w for every weight of one sample, worked
out layer by layer from the output back with the chain rule — the steps of a tutorial's "backpropagation"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class LayerGradients:
    name: str  # "hidden 1", ..., "output"
    activation: str
    dL_da: tuple[float, ...]  # per neuron: how the loss changes with the neuron's output a
    f_prime: tuple[float, ...]  # per neuron: f′(z), the slope of the activation at z (1 for the output's logits)
    dL_dz: tuple[float, ...]  # per neuron: ∂L/∂z = ∂L/∂a · f′(z) (for the output: straight from the loss)
    dL_dw: tuple[tuple[float, ...], ...]  # [neuron][input] = ∂L/∂z · x  (times the batch-norm scale if any)
    dL_db: tuple[float, ...]
    bn_scale: tuple[float, ...] | None  # γ/√(var+ε) per neuron when the layer has batch norm (eval mode)
    inputs: tuple[float, ...]  # x: what this layer received


@dataclass(frozen=True)
class ChainRule:
    """One weight's gradient written out: ∂L/∂w = ∂L/∂a · f′(z) · x  (· s with batch norm)."""

    layer: str
    layer_index: int
    neuron: int  # 0-based
    input: int  # 0-based
    dL_da: float | None  # None for the output layer, whose ∂L/∂z comes from the loss directly
    f_prime: float | None
    dL_dz: float
    bn_scale: float | None
    x: float
    dL_dw: float

    def text(self, input_name: str | None = None) -> str:
        """The rule in numbers, e.g. `∂L/∂w = ∂L/∂a · f′(z) · x = -0.213 · 0.787 · 1.200 = -0.201`."""
        x_name = input_name or "x"
        if self.dL_da is None:
            return f"∂L/∂w = ∂L/∂z · {x_name} = {self.dL_dz:+.4g} · {self.x:.4g} = {self.dL_dw:+.4g}"
        scale = f" · {self.bn_scale:.4g}" if self.bn_scale is not None else ""
        symbols = "∂L/∂a · f′(z)" + (" · s" if self.bn_scale is not None else "") + f" · {x_name}"
        return f"∂L/∂w = {symbols} = {self.dL_da:+.4g} · {self.f_prime:.4g}{scale} · {self.x:.4g} = {self.dL_dw:+.4g}"


@dataclass(frozen=True)
class BackwardTrace:
    loss: float
    layers: tuple[LayerGradients, ...]
    chain: ChainRule | None

    def weight_gradients(self) -> tuple:
        """∂L/∂W per layer as numpy arrays (out, in), for the network diagram's links."""
        import numpy as np

        return tuple(np.asarray(g.dL_dw, dtype=np.float64) for g in self.layers)


def backward_trace(model: nn.Module, x: Sequence[float], loss: str, target: float | int | Sequence[float]) -> BackwardTrace:
    """Backpropagate one sample's loss through a copy of the model in eval mode, by hand, layer by layer.

    Only ∂L/∂(logits) and each activation's slope f′(z) are asked of autograd (the loss and activation
    derivatives, elementwise); the chain rule between layers is done here, as written in tutorials."""
    import copy

    import torch

    from nn_tui.core.model.build import loss_function
    from nn_tui.core.model.network import layers_of, plain_model

    net = copy.deepcopy(plain_model(model)).cpu().eval()
    net.requires_grad_(False)
    layers = layers_of(net)
    h = torch.as_tensor([list(map(float, x))], dtype=torch.float32)
    received, zs, scales = [], [], []
    with torch.no_grad():
        for layer in layers:
            received.append(h[0].clone())
            z = layer.linear(h)
            scale = None
            if layer.batch_norm is not None:
                bn = layer.batch_norm
                scale = (bn.weight if bn.affine else torch.ones_like(bn.running_var)) / torch.sqrt(bn.running_var + bn.eps)
                z = bn(z)
            zs.append(z[0].clone())
            scales.append(scale)
            h = layer.activation_module(z) if layer.activation_module is not None else z
    logits = zs[-1].clone().unsqueeze(0).requires_grad_(True)
    if loss == "cross_entropy":
        yt = torch.tensor([int(target)])  # type: ignore[arg-type]
    elif loss == "bce":
        yt = torch.tensor([[float(target)]])  # type: ignore[arg-type]
    else:
        values = [float(target)] if isinstance(target, (int, float)) else [float(v) for v in target]
        yt = torch.tensor([values])
    value = loss_function(loss)(logits, yt)
    (delta,) = torch.autograd.grad(value, logits)
    delta = delta[0]

    grads: list[LayerGradients] = []
    dL_da_next = None
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        if layer.is_output:
            dL_da, f_prime, dz = None, torch.ones_like(delta), delta
        else:
            dL_da = dL_da_next
            f_prime = _slope(layer.activation_module, zs[i])
            dz = dL_da * f_prime
        dz_linear = dz * scales[i] if scales[i] is not None else dz  # back through batch norm's affine map
        dW = dz_linear[:, None] * received[i][None, :]
        grads.append(LayerGradients(
            name=layer.name,
            activation=layer.activation if not layer.is_output else {"bce": "sigmoid", "cross_entropy": "softmax"}.get(loss, "linear"),
            dL_da=tuple((dL_da if dL_da is not None else torch.full_like(dz, float("nan"))).tolist()),
            f_prime=tuple(f_prime.tolist()),
            dL_dz=tuple(dz.tolist()),
            dL_dw=tuple(tuple(row) for row in dW.tolist()),
            dL_db=tuple(dz_linear.tolist()),
            bn_scale=tuple(scales[i].tolist()) if scales[i] is not None else None,
            inputs=tuple(received[i].tolist()),
        ))
        dL_da_next = layer.linear.weight.detach().T @ dz_linear  # what the layer before receives
    grads.reverse()
    return BackwardTrace(float(value.detach()), tuple(grads), _chain(grads))


def _slope(activation: nn.Module | None, z):
    """f′(z) elementwise: each activation is applied to its own neurons, so the slope is a gradient of a sum."""
    import torch

    if activation is None:
        return torch.ones_like(z)
    with torch.enable_grad():
        zz = z.detach().clone().requires_grad_(True)
        (slope,) = torch.autograd.grad(activation(zz).sum(), zz)
    return slope


def _chain(grads: list[LayerGradients]) -> ChainRule | None:
    """The rule for the weight with the largest gradient in the first layer (the longest chain) — or, where every
    gradient there is 0 (an input of zeros), in the first layer that has one that is not."""
    import math

    def largest(g: LayerGradients) -> tuple[float, tuple[int, int]]:
        best, where = -1.0, (0, 0)
        for n, row in enumerate(g.dL_dw):
            for k, v in enumerate(row):
                if math.isfinite(v) and abs(v) > best:
                    best, where = abs(v), (n, k)
        return best, where

    found = [(i, *largest(g)) for i, g in enumerate(grads)]
    layer_index, best, (n, k) = next((f for f in found if f[1] > 0), found[0])
    if best < 0:
        return None
    g = grads[layer_index]
    output = g.name == "output"
    return ChainRule(
        layer=g.name,
        layer_index=layer_index,
        neuron=n,
        input=k,
        dL_da=None if output else g.dL_da[n],
        f_prime=None if output else g.f_prime[n],
        dL_dz=g.dL_dz[n],
        bn_scale=g.bn_scale[n] if g.bn_scale is not None else None,
        x=g.inputs[k],
        dL_dw=g.dL_dw[n][k],
    )
