"""Many small networks of one architecture trained together (their stacks: nn_tui.core.training.stacked): per
training step one batched forward, one backward and one optimizer step for all of them.

Seeds, shuffle orders and dropout masks come from each trial's own generators, drawn exactly as the trainer alone
draws them; each trial's epochs reach its callbacks in blocks (EpochBlock), ending at any epoch a callback must
see as it stands. A trial that diverges, stops early, is stopped or reaches its epochs leaves the group; once half
have left, the rest are handed to a smaller group (nn_tui.core.run.together builds it).
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any

from nn_tui.core.training import backprop
from nn_tui.core.training.events import EpochBlock, RunFinished, StepProgress
from nn_tui.core.training.stacked import StackedTrials

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


class BatchedTrainer(StackedTrials):
    """Trains the given trainers (same data shape and architecture, see grouping.batch_key) as one stacked model:
    one forward, backward and optimizer step for all of them per training step."""

    def __init__(self, trainers: list[Trainer], rng_states: list[torch.Tensor], *,
                 best: list[list[torch.Tensor]] | None = None, continuing: bool = False) -> None:
        """See StackedTrials. A group that carries on the trials another group handed over (`handed_over`) gets
        their best weights (`best`) and does not announce them again (continuing=True)."""
        if len({start_point(tr.state) for tr in trainers}) != 1:
            raise ValueError("trials trained together must start at the same point (epoch and step)")
        super().__init__(trainers, rng_states, best=best)
        self.continuing = continuing
        self.handed_over: list[int] = []  # trials left to a smaller group (see run)

    # ------------------------------------------------------------ the loop

    def run(self) -> list[RunFinished | None]:
        """Train until every trial has ended, or until half of them have (then the rest are `handed_over` and
        their results are None). A trial's result is its RunFinished."""
        import torch

        trainers, T, dev = self.trainers, self.T, self.device
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
        # Which trials still train, and how each ended (kept on self: the helpers below update both).
        self.results = results = [None] * T
        self.active = active = [tr.state.epoch < epochs[i] for i, tr in enumerate(trainers)]
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
        stacked_data = self.X.dim() == 3
        rows = torch.arange(T, device=dev).unsqueeze(1)
        self.t_start = time.perf_counter()
        self.before = [tr.state.final.get("seconds", 0.0) for tr in trainers]
        self.steps_base = [tr.state.global_step for tr in trainers]
        self.steps_done = 0
        self.steps_per_epoch, self.batch_size = steps, bs
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
                    self._deliver(block, epoch - 1, stops_after=False)
                    block, block_t0 = [], time.perf_counter()
                    self._stop_within(epoch, seen, loss_sum, shuffle_states)
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
                self._deliver(block, epoch)
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

    def _deliver(self, block: list, epoch: int, stops_after: bool = True) -> None:
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
            if not self.active[i]:
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
                self._leave(i, *tr._diverged(epoch), took)
            elif (stop := tr._early_stop()) is not None:
                self._leave(i, *stop, took)
            elif tr.control.stop_requested and stops_after:
                self._leave(i, "stopped", f"stopped by request after epoch {epoch}", took)
            elif epoch >= tr.preset.training.epochs:
                self._leave(i, "completed", "", took)
        if stops_after and not any(self.active[i] and tr.control.stop_requested for i, tr in enumerate(self.trainers)):
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

    def _stop_within(self, epoch: int, seen: int, loss_sum: Any, shuffle_states: list | None) -> None:
        """The trials asked to stop leave in the middle of `epoch`, each saved as a trainer alone saves a stop
        there (TrainState.within_epoch: the step, the rows seen, the loss so far, the epoch's shuffle order)."""
        bs = self.batch_size
        for i, tr in enumerate(self.trainers):
            if not self.active[i] or not tr.control.stop_requested:
                continue
            state = tr.state
            state.global_step = self.steps_base[i] + self.steps_done
            state.within_epoch = {
                "epoch": epoch, "step": -(-seen // bs), "seen": seen, "loss_sum": loss_sum[i].detach().clone(),
                "shuffle_state": shuffle_states[i] if shuffle_states is not None else tr.generator.get_state(),
            }
            took = self.before[i] + time.perf_counter() - self.t_start
            self._leave(i, "stopped", f"stopped by request during epoch {epoch}", took)
        self.stop_flag.clear()

    def _leave(self, i: int, status: str, message: str, seconds: float) -> None:
        """Trial i has ended: out of the group (its own tensors again), its result recorded."""
        self.active[i] = False
        self._release(i)
        self.results[i] = self._finished(i, status, message, seconds)

    def _finished(self, i: int, status: str, message: str, seconds: float) -> RunFinished:
        tr = self.trainers[i]
        s = tr.state
        return RunFinished(status=status, message=message or f"trained {s.epoch} epochs", epochs_run=s.epoch,
                           seconds=seconds, final=dict(s.final), best=dict(s.best), run_dir=tr.run_dir)
