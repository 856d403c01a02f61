"""The trainer's hot path without per-call Python bookkeeping: a plain-function forward pass, the loss as one
call, and the fused Adam kernel called directly.

Each piece calls exactly the kernels the nn.Module / torch.optim code it replaces calls, with the same
arguments, so results are bit-identical (tests/core/test_fastpath.py checks that). What goes away is the
overhead around them, measured in benchmarks/ (profile in benchmarks/README.md): nn.Module.__call__ hook checks
per layer, the loss module's argument juggling, and Optimizer.step's profiler hook, grad-mode switch,
`_init_group` and device/dtype grouping — about 100 µs a step, which is most of a step for a tiny network.
Anything unusual (hooks, other layer or optimizer types, options the direct calls do not cover) falls back to
the ordinary call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

Tensor = "torch.Tensor"


def _has_hooks(module: nn.Module) -> bool:
    from torch.nn.modules import module as module_mod

    if (
        module_mod._global_forward_hooks
        or module_mod._global_forward_pre_hooks
        or getattr(module_mod, "_global_forward_hooks_always_called", None)
    ):
        return True
    return any(m._forward_hooks or m._forward_pre_hooks for m in module.modules())


def plain_forward(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """model(x) for an nn.Sequential of the layers nn_tui builds, as a loop of plain function calls.

    Linear layers and stateless activations become their functional kernels; anything whose behaviour
    depends on train/eval mode (BatchNorm, Dropout) or that we do not know is called as a module, so
    mode switching keeps working. Reads the parameters at call time, so in-place updates and
    load_state_dict are seen (the Parameter objects are bound once). A model with forward hooks gets
    model.__call__ itself (hooks must fire).
    """
    import torch
    from torch import nn
    from torch.nn import functional as F

    if not isinstance(model, nn.Sequential) or _has_hooks(model):
        return model

    linear = torch._C._nn.linear
    steps: list[Callable[[torch.Tensor], torch.Tensor]] = []
    for m in model:
        kind = type(m)
        if kind is nn.Linear:
            steps.append(lambda x, w=m.weight, b=m.bias: linear(x, w, b))
        elif kind is nn.ReLU and not m.inplace:
            steps.append(torch.relu)
        elif kind is nn.Tanh:
            steps.append(torch.tanh)
        elif kind is nn.Sigmoid:
            steps.append(torch.sigmoid)
        elif kind is nn.GELU:
            steps.append(lambda x, a=m.approximate: F.gelu(x, approximate=a))
        elif kind is nn.ELU and not m.inplace:
            steps.append(lambda x, a=m.alpha: F.elu(x, a))
        elif kind is nn.SiLU and not m.inplace:
            steps.append(F.silu)
        elif kind is nn.LeakyReLU and not m.inplace:
            steps.append(lambda x, s=m.negative_slope: torch._C._nn.leaky_relu(x, s))
        elif kind is nn.Identity:
            continue
        else:
            steps.append(m)  # BatchNorm1d, Dropout, anything else: the module, honouring train/eval mode

    if len(steps) == 3:  # the common one-hidden-layer net, unrolled
        s0, s1, s2 = steps
        return lambda x: s2(s1(s0(x)))

    def forward(x: torch.Tensor) -> torch.Tensor:
        for step in steps:
            x = step(x)
        return x

    return forward


def plain_loss(name: str, module: nn.Module) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss as the single aten call its module makes (mean reduction, no weights); others: the module."""
    import torch

    if name == "cross_entropy" and module.weight is None and module.ignore_index == -100 and not module.label_smoothing:
        ce = torch._C._nn.cross_entropy_loss
        return lambda out, y: ce(out, y, None, 1, -100, 0.0)  # 1 = mean
    if name == "bce" and module.weight is None and module.pos_weight is None:
        bce = torch.binary_cross_entropy_with_logits

        def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            if out.shape != y.shape:
                return module(out, y)  # raises the module's own message
            return bce(out, y, None, None, 1)

        return loss
    return module


class FusedAdamStep:
    """optimizer.step() for a fused Adam/AdamW: the same `_foreach_add_` + `_fused_adam(w)_` calls, without
    the Python around them. State lives in the optimizer as usual (checkpoints and state_dict see it).

    The first step, and any step after the optimizer's state was replaced (load_state_dict) or a gradient
    is missing, goes through optimizer.step() so its lazy state initialisation and checks apply.
    """

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        import torch

        self.opt = optimizer
        self._group_params = optimizer.param_groups[0]["params"]
        self.params = list(self._group_params)
        self._kernel = torch._fused_adamw_ if self._decoupled() else torch._fused_adam_
        self._foreach_add = torch._foreach_add_
        self._grad_enabled = torch.is_grad_enabled
        self._set_grad = torch._C._set_grad_enabled  # a `with torch.no_grad()` costs more than the kernel here
        self._state_obj = None
        self._lists: tuple[list, list, list] | None = None

    @staticmethod
    def supports(optimizer) -> bool:
        import torch
        from torch.optim import optimizer as optim_mod

        if type(optimizer) not in (torch.optim.Adam, torch.optim.AdamW) or len(optimizer.param_groups) != 1:
            return False
        g = optimizer.param_groups[0]
        if not g.get("fused") or g.get("amsgrad") or g.get("maximize") or g.get("capturable") or g.get("differentiable"):
            return False
        if isinstance(g.get("lr"), torch.Tensor) or any(isinstance(b, torch.Tensor) for b in g.get("betas", ())):
            return False
        if optim_mod._global_optimizer_pre_hooks or optim_mod._global_optimizer_post_hooks:
            return False
        if optimizer._optimizer_step_pre_hooks or optimizer._optimizer_step_post_hooks:
            return False
        params = g["params"]
        if not params or any(p.is_complex() or p.is_sparse for p in params):
            return False
        first = params[0]
        return all(p.device == first.device and p.dtype == first.dtype for p in params)

    def _decoupled(self) -> bool:
        import torch

        g = self.opt.param_groups[0]
        return bool(g.get("decoupled_weight_decay", type(self.opt) is torch.optim.AdamW))

    def _collect(self) -> tuple[list, list, list] | None:
        state = self.opt.state
        exp_avgs, exp_avg_sqs, steps = [], [], []
        for p in self.params:
            s = state.get(p)
            if not s or "exp_avg" not in s:
                return None
            exp_avgs.append(s["exp_avg"])
            exp_avg_sqs.append(s["exp_avg_sq"])
            steps.append(s["step"])
        return exp_avgs, exp_avg_sqs, steps

    def __call__(self) -> None:
        opt = self.opt
        state = opt.state
        if (
            self._lists is None
            or state is not self._state_obj
            or len(state) != len(self.params)
            or opt.param_groups[0]["params"] is not self._group_params
        ):
            opt.step()
            self._group_params = opt.param_groups[0]["params"]
            self.params = list(self._group_params)
            self._state_obj = opt.state
            self._lists = self._collect()
            return
        grads = [p.grad for p in self.params]
        if any(g is None for g in grads):
            opt.step()
            return
        g = opt.param_groups[0]
        beta1, beta2 = g["betas"]
        exp_avgs, exp_avg_sqs, steps = self._lists
        grad_was = self._grad_enabled()
        self._set_grad(False)
        try:
            self._foreach_add(steps, 1)
            self._kernel(
                self.params,
                grads,
                exp_avgs,
                exp_avg_sqs,
                [],
                steps,
                amsgrad=False,
                lr=g["lr"],
                beta1=beta1,
                beta2=beta2,
                weight_decay=g["weight_decay"],
                eps=g["eps"],
                maximize=False,
                grad_scale=None,
                found_inf=None,
            )
        finally:
            self._set_grad(grad_was)


def optimizer_step(optimizer: torch.optim.Optimizer) -> Callable[[], None]:
    """The quickest exact equivalent of optimizer.step available for this optimizer."""
    try:
        if FusedAdamStep.supports(optimizer):
            return FusedAdamStep(optimizer)
    except (AttributeError, TypeError, KeyError):  # a torch whose internals differ: the ordinary step
        pass
    return optimizer.step


def mode_matters(model: nn.Module) -> bool:
    """False when train() and eval() compute the same thing (no dropout, batch norm or unknown layers),
    so evaluation can skip switching modes."""
    from torch import nn

    stateless = (nn.Sequential, nn.Linear, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.ELU, nn.SiLU, nn.LeakyReLU,
                 nn.Identity)
    return any(type(m) not in stateless for m in model.modules())
