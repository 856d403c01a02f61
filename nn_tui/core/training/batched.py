"""Many small networks of one architecture trained together: weights stacked along a leading trial dimension,
one batched forward (baddbmm), one backward and one optimizer step over the stacks per training step.

Each trial is still an ordinary `Trainer` (its own model, optimizer, scheduler, TrainState and callbacks): its
model's parameters, buffers and optimizer state become views into the stacks, so its callbacks (metrics.csv,
checkpoints, best weights) see the live values with no copying. Per-trial settings (lr, weight decay, momentum,
L1, gradient clipping, dropout rate) are tensors over the trial dimension; seeds, shuffle orders and dropout masks
come from each trial's own generators, drawn exactly as the trainer alone draws them. A trial that diverges,
stops early, is stopped or reaches its epochs leaves the group: its tensors are copied out of the stacks.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any

from nn_tui.core.training import backprop
from nn_tui.core.training.events import EpochBlock, RunFinished, StepProgress
from nn_tui.core.training.grouping import BN_EPS, BN_MOMENTUM, family

if TYPE_CHECKING:
    import torch

    from nn_tui.core.training.trainer import Trainer


# The longest a group trains before each trial's callbacks hear of its epochs (and their metrics rows are
# formatted): delivering an epoch at a time cost more than the epoch itself for a 2-4-1 network.
BLOCK_SECONDS = 0.2
SHRINK_FROM = 4  # a group this big or bigger hands its trials on to a smaller one when half have left
BLOCK_EPOCHS = 256  # and at most this many epochs: a block's numbers wait as Python floats, 3 per trial-epoch


def start_point(state: Any) -> tuple:
    """Where a trial's training begins: (epochs done, step within the next epoch or None). Trials train together
    only from the same point."""
    within = state.within_epoch
    return state.epoch, None if within is None else (within["epoch"], within["step"], within["seen"])


class BatchedTrainer:
    """Trains the given trainers (same data shape and architecture, see grouping.batch_key) as one stacked model."""

    def __init__(self, trainers: list[Trainer], rng_states: list[torch.Tensor], *,
                 best: list[list[torch.Tensor]] | None = None, continuing: bool = False) -> None:
        """rng_states: torch's global generator state right after each trainer was built (and restored, when
        resumed): where that trainer's dropout masks would have been drawn from. A group that carries on the
        trials another group handed over (`handed_over`) gets their best-epoch weights (`best`, from best_row)
        and does not announce them again (continuing=True)."""
        import torch

        self.trainers = trainers
        self.T = T = len(trainers)
        self.continuing = continuing
        self.given_best = best
        self.handed_over: list[int] = []  # trials left to a smaller group (see run)
        first = trainers[0]
        self.device = first.device
        self.loss_name = first.loss_name
        self.metric = first.metric
        shapes = {(tuple(tr.X_train.shape), tuple(tr.X_val.shape), tuple(tr.y_train.shape),
                   tuple((k, s.shape) for k, s in tr.model.state_dict().items())) for tr in trainers}
        if len(shapes) != 1 or len({family(tr.preset.training.optimizer) for tr in trainers}) != 1:
            raise ValueError("these trials differ in data shape, architecture or optimizer family")
        if len({start_point(tr.state) for tr in trainers}) != 1:
            raise ValueError("trials trained together must start at the same point (epoch and step)")
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
        # Dropout: a layer drops out for the trials whose preset gives it a rate (rates may differ, or be 0).
        self.drop_rates = [[layer.dropout for layer in tr.preset.layers] for tr in trainers]
        self.active = [True] * T  # which trials are still training (run() keeps it)
        self.adam = first.preset.training.optimizer in ("adam", "adamw")
        self.decoupled = first.preset.training.optimizer == "adamw"
        self._stack()
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

    def _stack(self) -> None:
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
        if self.given_best is not None:
            for i, rows in enumerate(self.given_best):
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

    # ------------------------------------------------------------ the loop

    def run(self) -> list[RunFinished | None]:
        """Train until every trial has ended, or until half of them have (then the rest are `handed_over` and
        their results are None). A trial's result is its RunFinished."""
        import torch

        trainers, T, dev = self.trainers, self.T, self.device
        pi = 0
        for layer in self.layout:  # where each layer's tensors are among the parameters and buffers
            layer["pi"] = pi
            pi += 4 if layer["bn"] else 2
        bn_names = [n for n in self.buffers if n.endswith("running_mean")]
        for layer, name in zip([l for l in self.layout if l["bn"]], bn_names):
            layer["rm"], layer["rv"] = name, name.replace("running_mean", "running_var")
        tracked = [n for n in self.buffers if n.endswith("num_batches_tracked")]
        plans = [tr._plan() for tr in trainers]
        plan = plans[0]
        if not self.continuing:
            for tr, p in zip(trainers, plans):
                tr._announce(p)
        n, bs, steps = plan.rows, plan.batch_size, plan.steps
        has_drop = any(l["drop"] for l in self.layout)
        has_bn = any(l["bn"] for l in self.layout)
        reuse = steps == 1 and self.val_is_train and not has_drop and not has_bn
        epochs = [tr.preset.training.epochs for tr in trainers]
        start = trainers[0].state.epoch + 1
        within = trainers[0].state.within_epoch  # resumed in the middle of an epoch: the same point for all
        results: list[RunFinished | None] = [None] * T
        active = [tr.state.epoch < epochs[i] for i, tr in enumerate(trainers)]
        for i, tr in enumerate(trainers):
            tr.state.dropout_generator = self.dropout_gens[i]  # what its checkpoints save as its dropout stream
            if not active[i]:
                results[i] = self._finished(i, "completed", "", 0.0)
        # One flag for the whole group, set by any trial's stop, checked every step.
        self.stop_flag = stop_flag = threading.Event()
        for tr in trainers:
            tr.control.signal_stop_to(stop_flag)
        shuffle = [tr.generator for tr in trainers]
        in_order = torch.arange(n, device=dev)
        self.active = active
        stacked_data = self.X.dim() == 3
        rows = torch.arange(T, device=dev).unsqueeze(1)
        self.t_start = time.perf_counter()
        self.before = [tr.state.final.get("seconds", 0.0) for tr in trainers]
        self.steps_base = [tr.state.global_step for tr in trainers]
        self.steps_done = 0
        self.steps_per_epoch = steps
        schedulers = any(tr.scheduler is not None for tr in trainers)
        manual = backprop.supports(self.layout, self.loss_name)
        # StepProgress now and then (as a trainer alone sends it), to the trials whose callbacks want it: the
        # sweep's watcher stops a trial from there, so a stop does not wait for a long epoch's end.
        self.progress_hooks = [tr.callbacks.hooks(StepProgress) for tr in trainers]
        interval = trainers[0].progress_interval if any(self.progress_hooks) else 0
        next_report = time.perf_counter() + interval
        # The epoch-end rules (TrainState.record_epoch, Trainer._early_stop) as tensors over the trials, so an
        # epoch needs no Python per trial: per trial, only at the end of a block (see _deliver).
        alive = torch.tensor(active, device=dev)
        best_val = torch.tensor([tr.state.best_val_loss for tr in trainers], device=dev)
        stale = torch.tensor([float(tr.state.epochs_without_improvement) for tr in trainers], device=dev)
        patience = torch.tensor([float(tr.preset.training.early_stopping or 0) for tr in trainers], device=dev)
        has_patience = bool(patience.any())
        # Epochs some trial's callbacks must see as they stand (pruning rungs, its last epoch).
        ends = set(epochs).union(*(tr.callbacks.block_ends() for tr in trainers))
        last_epoch = max(epochs)
        block: list[tuple[Any, float, float]] = []
        block_t0 = time.perf_counter()
        pending = None
        for epoch in range(start, last_epoch + 1):
            if not any(active):
                break
            epoch_t0 = time.perf_counter()
            first_step, seen = 0, 0
            loss_sum = torch.zeros(T, device=dev)
            if within is not None:
                first_step, seen = within["step"], within["seen"]
                loss_sum = torch.stack([tr.state.within_epoch["loss_sum"].reshape(()) for tr in trainers]).float()
                for tr in trainers:
                    tr.state.within_epoch = None
                within = None
            # Each trial's shuffle generator before this epoch's order: what a stop in the middle saves.
            shuffle_states = [g.get_state() for g in shuffle] if steps > 1 else None
            # Only the trials still training draw (a trial that left keeps its generators where they stood).
            perm = torch.stack([torch.randperm(n, device=dev, generator=g) if active[i] else in_order
                                for i, g in enumerate(shuffle)]) if steps > 1 else None
            stopped_within = False
            for step in range(first_step, steps):
                if stop_flag.is_set():
                    self._deliver(block, epoch - 1, active, results, stops_after=False)
                    block, block_t0 = [], time.perf_counter()
                    self._stop_within(epoch, seen, loss_sum, shuffle_states, active, results)
                    alive = torch.tensor(active, device=dev)
                    if not any(active):
                        stopped_within = True
                        break
                if perm is None:
                    xb, yb = self.X, self._per_trial(self.y, stacked_data)
                else:
                    idx = perm[:, step * bs: (step + 1) * bs if step < steps - 1 else n]
                    xb = self.X[rows, idx] if stacked_data else self.X[idx]
                    yb = self.y[rows, idx] if stacked_data else self.y[idx]
                m = len(idx[0]) if perm is not None else n
                if manual:  # the hand-written backward (backprop.py): no graph, no autograd engine
                    with torch.no_grad():
                        masks = self.dropout_masks(m) if has_drop else None
                        if pending is not None:
                            lvec, out, saved = pending
                        else:
                            saved = []
                            out = self.forward(xb, True, masks, saved)
                            lvec = self.losses(out, yb)
                        delta = backprop.loss_gradient(self.loss_name, out, yb)
                        grads = backprop.backward(self.layout, self.params, saved, masks, delta,
                                                  self.l1 if self.any_l1 else None)
                else:
                    if pending is not None:
                        lvec = pending
                    else:
                        lvec = self.losses(self.forward(xb, True, self.dropout_masks(m) if has_drop else None), yb)
                    total = lvec.sum()
                    if self.any_l1:
                        weights = [self.params[l["pi"]] for l in self.layout]
                        total = total + (self.l1 * torch.stack([w.abs().flatten(1).sum(1) for w in weights]).sum(0)).sum()
                    grads = list(torch.autograd.grad(total, self.params))
                pending = None
                self.optimizer_step(grads)
                if has_bn:
                    for name in tracked:
                        self.buffers[name].add_(1)
                loss_sum.add_(lvec.detach(), alpha=m)
                seen += m
                self.steps_done += 1
                if interval and (now := time.perf_counter()) >= next_report:
                    next_report = now + interval
                    self._progress(epoch, step + 1, steps, loss_sum, seen, now - epoch_t0)
            if stopped_within:
                break
            # Validation: each trial's loss and metric.
            if reuse and manual:
                y = self._per_trial(self.y, stacked_data)
                with torch.no_grad():
                    saved = []
                    out = self.forward(self.X, True, None, saved)
                    val = self.losses(out, y)
                    metric = self.scores(out, y)
                pending = (val, out, saved)
            elif reuse:
                y = self._per_trial(self.y, stacked_data)
                out = self.forward(self.X, True)
                pending = self.losses(out, y)
                val, metric = pending.detach(), self.scores(out.detach(), y)
            else:
                yv = self._per_trial(self.yv, self.Xv.dim() == 3)
                with torch.no_grad():
                    out = self.forward(self.Xv, False)
                    val, metric = self.losses(out, yv), self.scores(out, yv)
            stats = torch.stack([loss_sum / max(seen, 1), val.detach(), metric.float()])
            finite = torch.isfinite(stats[:2]).all(0)
            improved = alive & finite & (val < best_val)
            best_val = torch.where(improved, val.detach(), best_val)
            stale = torch.where(improved, 0.0, stale + 1)
            ended = alive & ~finite
            if has_patience:
                ended = ended | (alive & finite & (patience > 0) & (stale >= patience))
            any_improved, any_ended = torch.stack([improved.any(), ended.any()]).tolist()
            if any_improved:  # the best weights of the trials whose validation loss improved
                for best, live in zip(self.best, self.live):
                    best.copy_(torch.where(improved.view(-1, *([1] * (live.dim() - 1))), live, best))
            now = time.perf_counter()
            block.append((stats, now, seen / max(now - epoch_t0, 1e-9)))
            if (any_ended or schedulers or epoch in ends or stop_flag.is_set()
                    or now - block_t0 >= BLOCK_SECONDS or len(block) >= BLOCK_EPOCHS or epoch == last_epoch):
                self._deliver(block, epoch, active, results)
                block, block_t0 = [], time.perf_counter()
                left = sum(active)
                if 0 < left <= T // 2 and T >= SHRINK_FROM and epoch < last_epoch:
                    # Half the rows or more belong to trials that left: hand the rest to a smaller group
                    # (nn_tui.core.run.together builds it) rather than keep computing rows no one reads.
                    self.handed_over = [i for i in range(T) if active[i]]
                    break
                alive = torch.tensor(active, device=dev)
                if schedulers:
                    self.lr.copy_(torch.tensor([tr.current_lr() for tr in trainers], dtype=torch.float64))
                    self.lr32 = self.lr.float()
            torch._foreach_copy_(self.good, self.live)
        handed = set(self.handed_over)
        return [r if r is not None or i in handed else self._finished(i, "stopped", "stopped", self.before[i])
                for i, r in enumerate(results)]  # None: handed over, still training

    def _deliver(self, block: list, epoch: int, active: list[bool], results: list, stops_after: bool = True) -> None:
        """Hand the epochs of `block` (the last is `epoch`) to each trial still training: its TrainState and
        callbacks (one EpochBlock, or EpochEnd for a single epoch), then its end if it has come. Every epoch of
        a block but the last is finite and ends no trial (those end a block at once). stops_after=False: the
        trials asked to stop stay, to be saved where the next epoch stands (_stop_within)."""
        import torch

        if not block:
            return
        K = len(block)
        first = epoch - K + 1
        per_trial = torch.stack([b[0] for b in block]).permute(2, 1, 0).tolist()  # trial, (train, val, metric), epoch
        times, rates = [b[1] for b in block], [b[2] for b in block]
        steps = self.steps_per_epoch
        for i, tr in enumerate(self.trainers):
            if not active[i]:
                continue
            train_l, val_l, metric_l = per_trial[i]
            diverged = not math.isfinite(train_l[-1]) or not math.isfinite(val_l[-1])
            k = K - 1 if diverged else K
            seconds = [self.before[i] + t - self.t_start for t in times[:k]]
            global_step = self.steps_base[i] + self.steps_done - (K - k) * steps
            if k == 1:
                tr.state.global_step = global_step
                tr._end_epoch(first, train_l[0], val_l[0], metric_l[0], rates[0], seconds[0])
            elif k > 1:
                tr._end_block(EpochBlock(first, tr.preset.training.epochs, train_l[:k], val_l[:k], self.metric,
                                         metric_l[:k], tr.current_lr(), rates[:k], seconds, global_step, steps))
            took = self.before[i] + time.perf_counter() - self.t_start
            if diverged:
                for live, good in zip(self.live, self.good):
                    live[i].copy_(good[i])
                tr.state.global_step = global_step
                results[i] = self._leave(i, active, *tr._diverged(epoch), took)
            elif (stop := tr._early_stop()) is not None:
                results[i] = self._leave(i, active, *stop, took)
            elif tr.control.stop_requested and stops_after:
                results[i] = self._leave(i, active, "stopped", f"stopped by request after epoch {epoch}", took)
            elif epoch >= tr.preset.training.epochs:
                results[i] = self._leave(i, active, "completed", "", took)
        if stops_after and not any(active[i] and tr.control.stop_requested for i, tr in enumerate(self.trainers)):
            self.stop_flag.clear()

    def _progress(self, epoch: int, step: int, steps: int, loss_sum: Any, seen: int, elapsed: float) -> None:
        """A StepProgress to each trial still training whose callbacks listen (one host sync for all)."""
        running = (loss_sum / max(seen, 1)).tolist()
        rate = seen / max(elapsed, 1e-9)
        for i, tr in enumerate(self.trainers):
            hooks = self.progress_hooks[i]
            if not hooks or not self.active[i] or not math.isfinite(running[i]):
                continue
            event = StepProgress(epoch, step, steps, self.steps_base[i] + self.steps_done, running[i], rate)
            for hook in hooks:
                hook(tr.state, event)

    def _stop_within(self, epoch: int, seen: int, loss_sum: Any, shuffle_states: list | None, active: list[bool],
                     results: list) -> None:
        """The trials asked to stop leave in the middle of `epoch`, each saved as a trainer alone saves a stop
        there (TrainState.within_epoch: the step, the rows seen, the loss so far, the epoch's shuffle order)."""
        bs = self.trainers[0]._plan().batch_size
        for i, tr in enumerate(self.trainers):
            if not active[i] or not tr.control.stop_requested:
                continue
            state = tr.state
            state.global_step = self.steps_base[i] + self.steps_done
            state.within_epoch = {
                "epoch": epoch, "step": -(-seen // bs), "seen": seen, "loss_sum": loss_sum[i].detach().clone(),
                "shuffle_state": shuffle_states[i] if shuffle_states is not None else tr.generator.get_state(),
            }
            took = self.before[i] + time.perf_counter() - self.t_start
            results[i] = self._leave(i, active, "stopped", f"stopped by request during epoch {epoch}", took)
        self.stop_flag.clear()

    def _per_trial(self, y: torch.Tensor, stacked: bool) -> torch.Tensor:
        return y if stacked else y.expand(self.T, *y.shape)

    def _leave(self, i: int, active: list[bool], status: str, message: str, seconds: float) -> RunFinished:
        active[i] = False
        self._release(i)
        return self._finished(i, status, message, seconds)

    def _finished(self, i: int, status: str, message: str, seconds: float) -> RunFinished:
        tr = self.trainers[i]
        s = tr.state
        return RunFinished(status=status, message=message or f"trained {s.epoch} epochs", epochs_run=s.epoch,
                           seconds=seconds, final=dict(s.final), best=dict(s.best), run_dir=tr.run_dir)
