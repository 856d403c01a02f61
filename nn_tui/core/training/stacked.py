"""Many small networks of one architecture held as one: every trial's weights stacked along a leading trial
dimension, with the batched forward (baddbmm), the losses and scores per trial, and one optimizer update over the
stacks (nn_tui.core.training.batched trains them; backprop.py has the backward pass).

Each trial is still an ordinary `Trainer` (its own model, optimizer, scheduler, TrainState and callbacks): its
model's parameters, buffers and optimizer state become views into the stacks, so its callbacks (metrics.csv,
checkpoints, best weights) see the live values with no copying. Per-trial settings (lr, weight decay, momentum,
L1, gradient clipping, dropout rate) are tensors over the trial dimension; dropout masks come from each trial's
own generator, drawn exactly as nn.Dropout draws them. A trial that leaves has its tensors copied out.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from nn_tui.core.training.grouping import BN_EPS, BN_MOMENTUM, family

if TYPE_CHECKING:
    import torch

    from nn_tui.core.training.trainer import Trainer


class StackedTrials:
    """The trials' networks, parameters, optimizer state and settings as stacks over a leading trial dimension."""

    def __init__(self, trainers: list[Trainer], rng_states: list[torch.Tensor], *,
                 best: list[list[torch.Tensor]] | None = None) -> None:
        """rng_states: torch's global generator state right after each trainer was built (and restored, when
        resumed): where that trainer's dropout masks would have been drawn from. best: each trial's best-epoch
        weights so far (best_row of the group it comes from), or None to start from its weights now."""
        import torch

        self.trainers = trainers
        self.T = T = len(trainers)
        first = trainers[0]
        self.device = first.device
        self.loss_name = first.loss_name
        self.metric = first.metric
        shapes = {(tuple(tr.X_train.shape), tuple(tr.X_val.shape), tuple(tr.y_train.shape),
                   tuple((k, s.shape) for k, s in tr.model.state_dict().items())) for tr in trainers}
        if len(shapes) != 1 or len({family(tr.preset.training.optimizer) for tr in trainers}) != 1:
            raise ValueError("these trials differ in data shape, architecture or optimizer family")
        self.X, self.y = self._data([tr.X_train for tr in trainers], [tr.y_train for tr in trainers])
        self.val_is_train = all(tr.X_val is tr.X_train for tr in trainers)
        self.Xv, self.yv = (self.X, self.y) if self.val_is_train else self._data(
            [tr.X_val for tr in trainers], [tr.y_val for tr in trainers])
        # The network's layout, from the first model: Linear -> [BatchNorm1d] -> activation -> [Dropout].
        self.layout: list[dict[str, Any]] = []
        for m in first.model:
            name = type(m).__name__
            if name == "Linear":
                self.layout.append({"linear": len(self.layout), "bn": None, "act": None, "drop": False})
            elif name == "BatchNorm1d":
                self.layout[-1]["bn"] = True
            elif name == "Dropout":
                self.layout[-1]["drop"] = True
            else:
                self.layout[-1]["act"] = m  # stateless: shared by every trial
        pi = 0
        for layer in self.layout:  # where each layer's tensors are among the parameters (W, b[, gamma, beta])
            layer["pi"] = pi
            pi += 4 if layer["bn"] else 2
        # Dropout: a layer drops out for the trials whose preset gives it a rate (rates may differ, or be 0).
        self.drop_rates = [[layer.dropout for layer in tr.preset.layers] for tr in trainers]
        self.active = [True] * T  # which trials are still training (run() keeps it)
        self.adam = first.preset.training.optimizer in ("adam", "adamw")
        self.decoupled = first.preset.training.optimizer == "adamw"
        self._stack(best)
        t = [tr.preset.training for tr in trainers]
        col = lambda v: torch.tensor(v, dtype=torch.float32, device=self.device)  # noqa: E731
        # Learning rates in double, as torch.optim holds them (Python floats): Adam's step size is computed from them.
        self.lr = torch.tensor([tr.current_lr() for tr in trainers], dtype=torch.float64, device=self.device)
        self.lr32 = self.lr.float()
        self.wd = col([tr.optimizer.param_groups[0]["weight_decay"] for tr in trainers])
        self.momentum = col([tr.optimizer.param_groups[0].get("momentum", 0.0) or 0.0 for tr in trainers])
        self.l1 = col([tr.state.l1 for tr in trainers])
        self.clip = col([x.grad_clip for x in t])
        self.any_l1 = bool(self.l1.any())
        self.any_clip = bool(self.clip.any())
        self.any_wd = bool(self.wd.any())
        for tr in trainers:
            # The group steps the optimizers' tensors itself: tell each scheduler its optimizer has stepped (as
            # torch.optim marks it), or it warns that the schedule is being stepped first.
            tr.optimizer._opt_called = True
        # Each trial's dropout stream: torch's global generator as it stood when the trial's trainer was ready.
        self.dropout_gens = []
        for state in rng_states:
            g = torch.Generator(device=self.device)
            g.set_state(state)
            self.dropout_gens.append(g)

    def _data(self, Xs: list[torch.Tensor], ys: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """One copy when every trial has the same rows (then shape (n, features)), else stacked (T, n, features)."""
        import torch

        if all(x is Xs[0] or torch.equal(x, Xs[0]) for x in Xs) and all(v is ys[0] or torch.equal(v, ys[0]) for v in ys):
            return Xs[0], ys[0]
        return torch.stack(Xs), torch.stack(ys)

    # ------------------------------------------------------------ stacks shared with each trial's objects

    def _stack(self, best: list[list[torch.Tensor]] | None) -> None:
        """Stack every trial's parameters, buffers and optimizer state; make each trial's tensors views of them."""
        import torch

        models = [tr.model for tr in self.trainers]
        T, device = self.T, self.device
        names = [n for n, _ in models[0].named_parameters()]
        sizes = [p.numel() for p in models[0].parameters()]
        shapes = [tuple(p.shape) for p in models[0].parameters()]
        offsets = [sum(sizes[:j]) for j in range(len(sizes) + 1)]
        # Every parameter of every trial in one (T, P) buffer: the optimizer updates all of them in a few ops.
        # The autograd leaves are views of it (one per parameter), and so is each trial's own Parameter.
        self.flat = torch.empty(T, offsets[-1], device=device)
        own = [list(m.parameters()) for m in models]
        for i in range(T):
            torch.cat([p.detach().reshape(-1) for p in own[i]], out=self.flat[i])
        self.params: list[torch.Tensor] = []
        for j, shape in enumerate(shapes):
            a, b = offsets[j], offsets[j + 1]
            self.params.append(self.flat[:, a:b].view(T, *shape).requires_grad_(True))
            for i in range(T):
                own[i][j].data = self.flat[i, a:b].view(shape)
        self.slices = [(offsets[j], offsets[j + 1], shapes[j]) for j in range(len(shapes))]
        self.buffers: dict[str, torch.Tensor] = {}
        for name, _ in models[0].named_buffers():
            mine = [dict(m.named_buffers())[name] for m in models]
            stacked = torch.stack([b.detach() for b in mine])
            for i, b in enumerate(mine):
                b.data = stacked[i]
            self.buffers[name] = stacked
        self.param_names = names
        bn_names = [n for n in self.buffers if n.endswith("running_mean")]
        for layer, name in zip([l for l in self.layout if l["bn"]], bn_names):  # each batch norm's running stats
            layer["rm"], layer["rv"] = name, name.replace("running_mean", "running_var")
        # Optimizer state, in the same (T, P) layout: Adam's exp_avg and exp_avg_sq (and step per trial), or
        # SGD's momentum buffer in exp_avg. Values restored from a checkpoint (resume) are kept.
        self.exp_avg = torch.zeros_like(self.flat)
        self.exp_avg_sq = torch.zeros_like(self.flat)
        self.step = torch.zeros(T, dtype=torch.float64, device=device)
        for i, tr in enumerate(self.trainers):
            for j, p in enumerate(own[i]):
                a, b, shape = self.slices[j]
                st = tr.optimizer.state.get(p, {})
                m, v = self.exp_avg[i, a:b].view(shape), self.exp_avg_sq[i, a:b].view(shape)
                if self.adam:
                    if "exp_avg" in st:
                        m.copy_(st["exp_avg"])
                        v.copy_(st["exp_avg_sq"])
                        self.step[i] = float(st["step"])
                    tr.optimizer.state[p] = {"step": self.step[i], "exp_avg": m, "exp_avg_sq": v}
                elif tr.optimizer.param_groups[0].get("momentum", 0.0):
                    if st.get("momentum_buffer") is not None:
                        m.copy_(st["momentum_buffer"])
                    tr.optimizer.state[p] = {"momentum_buffer": m}
        steps = self.step.tolist()
        self.same_step = int(steps[0]) if len(set(steps)) == 1 else None
        self.live = [self.flat, *self.buffers.values()]
        self.good = [t.clone() for t in self.live]
        self.best = [t.clone() for t in self.live]  # each trial's weights of its best epoch so far
        if best is not None:
            for i, rows in enumerate(best):
                for stack, row in zip(self.best, rows):
                    stack[i].copy_(row)

    def best_row(self, i: int) -> list[torch.Tensor]:
        """Trial i's best-epoch weights as they sit in the stacks (for the group that carries it on)."""
        return [stack[i] for stack in self.best]

    def best_views(self, i: int) -> list[torch.Tensor]:
        """Trial i's best-epoch weights, in its model's state_dict order (views, kept up to date every epoch)."""
        model = self.trainers[i].model
        where = {name: self.slices[j] for j, name in enumerate(self.param_names)}
        out = []
        for key in model.state_dict():
            if key in where:
                a, b, shape = where[key]
                out.append(self.best[0][i, a:b].view(shape))
            else:
                out.append(self.best[1 + list(self.buffers).index(key)][i])
        return out

    def _release(self, i: int) -> None:
        """Trial i leaves the group: its model and optimizer state become its own tensors again."""
        tr = self.trainers[i]
        for t in [*tr.model.parameters(), *tr.model.buffers()]:
            t.data = t.data.clone()
        for st in tr.optimizer.state.values():
            for k, v in list(st.items()):
                if hasattr(v, "clone"):
                    st[k] = v.clone()

    # ------------------------------------------------------------ the stacked network

    def forward(self, x: torch.Tensor, training: bool, masks: list | None = None,
                saved: list | None = None) -> torch.Tensor:
        """x: (n, features) shared by every trial, or (T, n, features). Returns (T, n, outputs). `saved` gets
        (input, pre-activation, activation) per layer, for the hand-written backward (backprop.backward)."""
        import torch
        from torch.nn import functional as F

        T = self.T
        if x.dim() == 2:
            x = x.expand(T, *x.shape)
        params = self.params
        for k, layer in enumerate(self.layout):
            W, b = params[layer["pi"]], params[layer["pi"] + 1]
            x_in = x
            x = torch.baddbmm(b.unsqueeze(1), x, W.transpose(1, 2))
            if layer["bn"]:
                gamma, beta = params[layer["pi"] + 2], params[layer["pi"] + 3]
                n, c = x.shape[1], x.shape[2]
                # Trials side by side as channels: BatchNorm1d's own kernel, per channel as in each model.
                flat = x.transpose(0, 1).reshape(n, T * c)
                rm, rv = self.buffers[layer["rm"]], self.buffers[layer["rv"]]
                flat = F.batch_norm(flat, rm.view(-1), rv.view(-1), gamma.reshape(-1), beta.reshape(-1),
                                    training, BN_MOMENTUM, BN_EPS)
                x = flat.reshape(n, T, c).transpose(0, 1)
            z = x
            if layer["act"] is not None:
                x = layer["act"](x)
            if saved is not None:
                saved.append((x_in, z, x))
            if training and layer["drop"] and masks is not None:
                x = x * masks[k]
        return x

    def dropout_masks(self, n: int) -> list | None:
        """One mask per dropout layer, (T, n, units): each trial's from its own generator, as nn.Dropout draws."""
        import torch

        if not any(layer["drop"] for layer in self.layout):
            return None
        masks: list[Any] = [None] * len(self.layout)
        for k, layer in enumerate(self.layout):
            if not layer["drop"]:
                continue
            units = self.params[layer["pi"]].shape[1]
            rows = []
            for i in range(self.T):
                p = self.drop_rates[i][k]
                if p > 0 and self.active[i]:
                    noise = torch.empty(n, units, device=self.device).bernoulli_(1 - p, generator=self.dropout_gens[i])
                    rows.append(noise.div_(1 - p))
                else:
                    rows.append(torch.ones(n, units, device=self.device))
            masks[k] = torch.stack(rows)
        return masks

    def losses(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Each trial's mean loss, (T,)."""
        from torch.nn import functional as F

        T = self.T
        name = self.loss_name
        if name == "bce":
            return F.binary_cross_entropy_with_logits(out, y, reduction="none").flatten(1).mean(1)
        if name == "cross_entropy":
            n, c = out.shape[1], out.shape[2]
            return F.cross_entropy(out.reshape(T * n, c), y.reshape(T * n), reduction="none").view(T, n).mean(1)
        fn = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss}[name]
        return fn(out, y, reduction="none").flatten(1).mean(1)

    def scores(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Each trial's accuracy or R², (T,)."""
        n = out.shape[1]
        if self.metric == "val_accuracy":
            if self.loss_name == "bce":
                return ((out[..., 0] > 0) == y[..., 0].long()).sum(1) / n
            return (out.argmax(2) == y).sum(1) / n
        sst = ((y - y.mean(1, keepdim=True)) ** 2).sum(1).clamp_min(1e-12)
        return (1 - ((out - y) ** 2).sum(1) / sst).mean(1)

    # ------------------------------------------------------------ the step

    def optimizer_step(self, grads: list[torch.Tensor]) -> None:
        """One update of every trial: Adam / AdamW / SGD (with momentum) as torch.optim does it, with per-trial
        settings, on the (T, P) buffer: the same arithmetic, in the same order, as the fused/foreach kernels."""
        import torch

        with torch.no_grad():
            g = torch.cat([x.reshape(self.T, -1) for x in grads], 1)
            if self.any_clip:  # torch.nn.utils.clip_grad_norm_: the norm of the per-parameter norms
                norms = torch.stack([x.reshape(self.T, -1).norm(dim=1) for x in grads], 1).norm(dim=1)
                coef = (self.clip / (norms + 1e-6)).clamp(max=1.0)
                g.mul_(torch.where(self.clip > 0, coef, torch.ones_like(coef)).unsqueeze(1))
            p = self.flat
            if self.adam:
                self.step += 1
                if self.same_step is not None:
                    # Every trial at the same step (they started together): the bias corrections are Python
                    # floats, as torch.optim's own; the step size in double, then float, as its fused kernel.
                    self.same_step += 1
                    t = self.same_step
                    step_size = torch.div(self.lr, -(1 - 0.9 ** t)).float().unsqueeze(1)
                    bc2_sqrt = math.sqrt(1 - 0.999 ** t)
                else:
                    step_size = (-self.lr / (1 - 0.9 ** self.step)).float().unsqueeze(1)
                    bc2_sqrt = (1 - 0.999 ** self.step).sqrt().float().unsqueeze(1)
                if self.any_wd:
                    if self.decoupled:
                        p.mul_((1 - self.lr * self.wd.double()).float().unsqueeze(1))
                    else:
                        g = g + self.wd.unsqueeze(1) * p
                self.exp_avg.lerp_(g, 0.1)
                self.exp_avg_sq.mul_(0.999).addcmul_(g, g, value=0.001)
                denom = (self.exp_avg_sq.sqrt() / bc2_sqrt).add_(1e-8)
                p.add_(step_size * self.exp_avg / denom)
            else:
                if self.any_wd:
                    g = g + self.wd.unsqueeze(1) * p
                self.exp_avg.mul_(self.momentum.unsqueeze(1)).add_(g)
                p.sub_(self.lr32.unsqueeze(1) * self.exp_avg)

    def _per_trial(self, y: torch.Tensor, stacked: bool) -> torch.Tensor:
        return y if stacked else y.expand(self.T, *y.shape)
