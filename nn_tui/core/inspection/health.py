"""Training health per layer — gradient and weight norms, update-to-weight ratio, dead and saturated units —
and verdicts in the words tutorials use ("vanishing gradients: try ReLU, batch norm, or a smaller depth").

Health is measured on a fixed sample of training rows, a few times a second at most, between steps on the
training thread: nothing is added to the training step itself, and measuring never changes the run
(the sample is fixed, no random numbers are drawn, and the optimizer is put back exactly as it was).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nn_tui.core.training.state import TrainState

if TYPE_CHECKING:
    import torch
    from torch import nn

    from nn_tui.core.model.network import Layer

SAMPLE_ROWS = 256  # training rows the health is measured on
RELU_FAMILY = ("relu", "leaky_relu", "elu", "gelu", "silu")
SATURATING = ("sigmoid", "tanh")
SATURATION_MARGIN = 0.02  # sigmoid below 0.02 or above 0.98; tanh beyond ±0.96
SATURATED_SHARE = 0.9  # a unit counts as saturated when it sits at a limit for 90% of the sample
VANISHING_RATIO = 1e-3  # input-side gradient (per weight) below this share of the output side's
EXPLODING_RATIO = 1e3  # ... or above this multiple of it
EXPLODING_NORM = 1e3  # any layer's gradient norm above this
TINY_GRADIENT = 1e-7  # output-side gradient (per weight) below this: nothing left to learn, nothing to judge
DEAD_WARNING = 0.5  # share of a ReLU layer's units that never fire
SATURATED_WARNING = 0.5
LARGE_UPDATE = 0.3  # one step changes a layer's weights by more than this share
WARM_UP_STEPS = 10  # Adam's first steps move every weight by about lr whatever the gradient: not judged



@dataclass(frozen=True)
class LayerHealth:
    name: str  # "hidden 1", ..., "output"
    activation: str
    units: int
    grad_norm: float  # ||dL/dW|| of the layer's weight matrix on the sample
    grad_rms: float  # the same per weight, so layers of different sizes compare
    weight_norm: float
    update_ratio: float | None  # ||ΔW|| / ||W|| for one optimizer step on the sample
    dead_fraction: float | None  # ReLU family: share of units never active on the sample
    saturated_fraction: float | None  # sigmoid/tanh: share of units stuck near a limit


@dataclass(frozen=True)
class Verdict:
    level: str  # "ok" | "warning"
    kind: str  # healthy | vanishing | exploding | dead | saturated | large_updates
    text: str
    layer: str | None = None


@dataclass(frozen=True)
class HealthReport:
    epoch: int  # epochs completed when measured
    global_step: int
    sample_loss: float
    layers: tuple[LayerHealth, ...]
    verdicts: tuple[Verdict, ...]

    @property
    def healthy(self) -> bool:
        return all(v.level == "ok" for v in self.verdicts)

    def flags(self, layer: str) -> list[str]:
        return [v.kind for v in self.verdicts if v.layer == layer and v.level != "ok"]

    def rows(self) -> list[dict[str, Any]]:
        """One health.csv row per layer."""
        return [
            {
                "epoch": self.epoch,
                "step": self.global_step,
                "layer": lh.name,
                "units": lh.units,
                "activation": lh.activation,
                "grad_norm": lh.grad_norm,
                "weight_norm": lh.weight_norm,
                "update_ratio": lh.update_ratio,
                "dead_fraction": lh.dead_fraction,
                "saturated_fraction": lh.saturated_fraction,
                "sample_loss": self.sample_loss,
                "flags": " ".join(self.flags(lh.name)),
            }
            for lh in self.layers
        ]


# ---------------------------------------------------------------- verdicts


def diagnose(layers: list[LayerHealth] | tuple[LayerHealth, ...], global_step: int = WARM_UP_STEPS) -> list[Verdict]:
    """What is wrong, in a learner's words; a single "healthy" verdict when nothing is."""
    out: list[Verdict] = []
    if not layers:
        return out
    first, last = layers[0], layers[-1]
    norms = [lh.grad_norm for lh in layers]
    if not all(math.isfinite(n) for n in norms):
        out.append(Verdict("warning", "exploding", "exploding gradients: the gradients are NaN or infinite; "
                           "try gradient clipping or a smaller learning rate", first.name))
    elif max(norms) > EXPLODING_NORM:
        worst = max(layers, key=lambda lh: lh.grad_norm)
        out.append(Verdict("warning", "exploding", f"exploding gradients: {worst.name}'s gradient norm is "
                           f"{worst.grad_norm:.3g}; try gradient clipping or a smaller learning rate", worst.name))
    elif len(layers) > 1 and last.grad_rms > TINY_GRADIENT:
        ratio = first.grad_rms / last.grad_rms
        if ratio < VANISHING_RATIO:
            out.append(Verdict(
                "warning", "vanishing",
                f"vanishing gradients: {first.name} gets {ratio:.1e} of the gradient the output layer gets, "
                "so it barely learns; try ReLU, batch norm, or a smaller depth",
                first.name,
            ))
        elif ratio > EXPLODING_RATIO:
            out.append(Verdict(
                "warning", "exploding",
                f"exploding gradients: {first.name}'s gradient is {ratio:.1e} times the output layer's; "
                "try gradient clipping, a smaller learning rate, or batch norm",
                first.name,
            ))
    for lh in layers:
        if lh.dead_fraction is not None and lh.activation == "relu" and lh.dead_fraction >= DEAD_WARNING:
            out.append(Verdict(
                "warning", "dead",
                f"dead ReLUs: {lh.dead_fraction:.0%} of {lh.name}'s units never fire, so they stop learning; "
                "try leaky_relu, a smaller learning rate, or batch norm",
                lh.name,
            ))
        if lh.saturated_fraction is not None and lh.saturated_fraction >= SATURATED_WARNING:
            out.append(Verdict(
                "warning", "saturated",
                f"saturated units: {lh.saturated_fraction:.0%} of {lh.name}'s {lh.activation} units sit at their "
                "flat ends, where the gradient vanishes; try ReLU, batch norm, or a smaller learning rate",
                lh.name,
            ))
        large = lh.update_ratio is not None and math.isfinite(lh.update_ratio) and lh.update_ratio > LARGE_UPDATE
        if large and global_step >= WARM_UP_STEPS:
            out.append(Verdict(
                "warning", "large_updates",
                f"large updates: one step changes {lh.name}'s weights by {lh.update_ratio:.0%}; "
                "try a smaller learning rate",
                lh.name,
            ))
    if not out:
        out.append(Verdict("ok", "healthy", "healthy: gradients reach every layer and no units are dead or saturated"))
    return out


# ---------------------------------------------------------------- measuring


def _activation_stats(layer: Layer, pre: torch.Tensor, post: torch.Tensor) -> tuple[Any, Any]:
    """(dead fraction, saturated fraction) as 0-d tensors, or None where they do not apply."""
    dead = saturated = None
    if layer.activation in RELU_FAMILY:
        dead = (pre <= 0).all(dim=0).float().mean()
    elif layer.activation == "sigmoid":
        near = (post < SATURATION_MARGIN) | (post > 1 - SATURATION_MARGIN)
        saturated = (near.float().mean(dim=0) >= SATURATED_SHARE).float().mean()
    elif layer.activation == "tanh":
        near = post.abs() > 1 - 2 * SATURATION_MARGIN
        saturated = (near.float().mean(dim=0) >= SATURATED_SHARE).float().mean()
    return dead, saturated


def measure_health(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    optimizer: torch.optim.Optimizer | None = None,
    grad_clip: float = 0.0,
    epoch: int = 0,
    global_step: int = 0,
) -> HealthReport:
    """Health of every layer on the rows X, y, in eval mode (no dropout, batch-norm running statistics).

    With an optimizer, the update-to-weight ratio is that of one real optimizer step on these rows,
    taken and then undone: weights, gradients and optimizer state are restored bit for bit.
    """
    import torch

    from nn_tui.core.model.network import layers_of, plain_model

    model = plain_model(model)
    layers = layers_of(model)
    captured: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    handles = []
    for layer in layers:
        if layer.activation_module is not None:
            def keep(module, inputs, output, i=layer.index):
                captured[i] = (inputs[0].detach(), output.detach())

            handles.append(layer.activation_module.register_forward_hook(keep))
    params = [p for p in model.parameters() if p.requires_grad]
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            loss = loss_fn(model(X), y)
            grads = torch.autograd.grad(loss, params, allow_unused=True)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)

    grad_of = {id(p): g for p, g in zip(params, grads)}
    stats: list[torch.Tensor] = [loss.detach().float()]
    zero = torch.zeros((), device=loss.device)
    weight_norms = torch._foreach_norm([layer.linear.weight.detach() for layer in layers])
    layer_grads = [grad_of.get(id(layer.linear.weight)) for layer in layers]
    present = [g for g in layer_grads if g is not None]
    grad_norms = iter(torch._foreach_norm(present)) if present else iter(())
    for layer, g, w_norm in zip(layers, layer_grads, weight_norms):
        stats.append(next(grad_norms).float() if g is not None else zero)
        stats.append(w_norm.float())
        dead, sat = _activation_stats(layer, *captured[layer.index]) if layer.index in captured else (None, None)
        stats.append(dead if dead is not None else zero - 1)
        stats.append(sat if sat is not None else zero - 1)
    updates = _one_step_update(optimizer, params, grads, layers, grad_clip) if optimizer is not None else None
    if updates is not None:
        stats.extend(updates)
    values = torch.stack(stats).tolist()  # the one host sync of a measurement

    sample_loss = values[0]
    rows: list[LayerHealth] = []
    for i, layer in enumerate(layers):
        g_norm, w_norm, dead, sat = values[1 + 4 * i : 5 + 4 * i]
        update = values[1 + 4 * len(layers) + i] if updates is not None else None
        rows.append(LayerHealth(
            name=layer.name,
            activation=layer.activation,
            units=layer.units,
            grad_norm=g_norm,
            grad_rms=g_norm / math.sqrt(layer.linear.weight.numel()),
            weight_norm=w_norm,
            update_ratio=update,
            dead_fraction=dead if dead >= 0 else None,
            saturated_fraction=sat if sat >= 0 else None,
        ))
    return HealthReport(epoch, global_step, sample_loss, tuple(rows), tuple(diagnose(rows, global_step)))


def _one_step_update(optimizer, params, grads, layers, grad_clip: float) -> list[torch.Tensor] | None:
    """||ΔW|| / ||W|| per layer for one optimizer step with `grads`, then everything put back as it was."""
    import torch

    group_params = [p for g in optimizer.param_groups for p in g["params"]]
    if {id(p) for p in group_params} != {id(p) for p in params}:
        return None  # an optimizer over other parameters: leave it alone
    # Save with one foreach call per kind of tensor, not one Python-level call per tensor.
    data = [p.detach() for p in group_params]
    saved_data = torch._foreach_mul(data, 1.0)
    saved_grad = [p.grad for p in group_params]
    state_refs: list[torch.Tensor] = []
    others: dict[int, dict[str, Any]] = {}
    had_state: dict[int, bool] = {}
    for p in group_params:
        state = optimizer.state.get(p)
        had_state[id(p)] = bool(state)
        if state:
            for k, v in state.items():
                if isinstance(v, torch.Tensor):
                    state_refs.append(v)
                else:
                    others.setdefault(id(p), {})[k] = v
    saved_state = torch._foreach_mul(state_refs, 1) if state_refs else []
    grad_of = {id(p): g for p, g in zip(params, grads)}
    weights = [layer.linear.weight.detach() for layer in layers]
    before = torch._foreach_mul(weights, 1.0)
    try:
        for p in group_params:
            g = grad_of.get(id(p))
            p.grad = g.detach().clone() if g is not None else None
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_([p for p in group_params if p.grad is not None], grad_clip)
        optimizer.step()
        deltas = torch._foreach_norm(torch._foreach_sub(weights, before))
        sizes = torch._foreach_norm(before)
        return [d.float() / s.float().clamp_min(1e-12) for d, s in zip(deltas, sizes)]
    finally:
        with torch.no_grad():
            torch._foreach_copy_(data, saved_data)
            if state_refs:
                torch._foreach_copy_(state_refs, saved_state)  # the same tensor objects: fast paths keep them
            for p, grad in zip(group_params, saved_grad):
                p.grad = grad
                if not had_state[id(p)]:
                    optimizer.state.pop(p, None)  # the step created it: a first step that never happened
                else:
                    optimizer.state[p].update(others.get(id(p), {}))


def sample_rows(X: torch.Tensor, y: torch.Tensor, rows: int = SAMPLE_ROWS) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed sample: the first rows of the training split, which the split already shuffled."""
    return X[:rows], y[:rows]


def measure_state(state: TrainState, rows: int = SAMPLE_ROWS) -> HealthReport:
    """Health of a run's model (its TrainState) on a fixed sample of its training rows."""
    X, y = sample_rows(state.X_train, state.y_train, rows)
    return measure_health(
        state.model,
        X,
        y,
        state.loss_fn,
        optimizer=state.optimizer,
        grad_clip=state.preset.training.grad_clip,
        epoch=state.epoch,
        global_step=state.global_step,
    )
