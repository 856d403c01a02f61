"""The training loop: data as tensors on the device, randperm batches, no per-step host sync.

The trainer knows nothing about files or screens. It reports each event to its callbacks
(nn_tui.core.training.callbacks) with the TrainState, and obeys a TrainerControl (stop / pause / step one
epoch), checked every step. `run()` is a short loop over named steps; the hot per-step loop is `_train_epoch`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nn_tui.core.datasets import Dataset, metric_for
from nn_tui.core.model.build import build_model, loss_function, make_optimizer, make_scheduler
from nn_tui.core.preset import Preset
from nn_tui.core.training.callbacks import Callback, Callbacks, EventCallback
from nn_tui.core.training.events import (
    EpochBlock,
    EpochEnd,
    Event,
    RunFinished,
    RunStarted,
    StepProgress,
    TrainerControl,
)
from nn_tui.core.training.live import apply_due_changes
from nn_tui.core.training.fastpath import mode_matters, optimizer_step, plain_forward, plain_loss
from nn_tui.core.training.scoring import EVAL_CHUNK, chunked_scores, metric_target, whole_set_scores
from nn_tui.core.training.state import TrainState

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class EpochPlan:
    """How every epoch of this run is cut into steps."""

    rows: int
    batch_size: int
    steps: int
    start_epoch: int
    # Full batch with validation on the training rows (the AND/OR/XOR truth tables): the validation forward
    # pass after epoch e is exactly the training forward pass of epoch e + 1, so it is done once, with
    # autograd, and kept for that step (`_pending`) unless the weights changed in between.
    reuse_forward: bool


class Trainer:
    """Trains one model for one preset. `run()` blocks until done, stopped or diverged."""

    def __init__(
        self,
        preset: Preset,
        data: Dataset,
        *,
        device: str = "cpu",
        n_out: int,
        callbacks: Iterable[Callback] = (),
        on_event: Callable[[Event], None] | None = None,
        control: TrainerControl | None = None,
        progress_interval: float = 0.25,
        run_dir: str | None = None,
        state: TrainState | None = None,
    ) -> None:
        import torch

        self.preset = preset
        self.data = data
        self.device = torch.device(device)
        self.loss_name = preset.training.loss
        assert self.loss_name is not None, "resolve the loss before training (nn_tui.core.run.runner.prepare_run)"
        self.control = control or TrainerControl()
        self.progress_interval = progress_interval
        self.run_dir = run_dir
        self.metric = metric_for(data.task)

        torch.manual_seed(preset.seed)
        self.model = build_model(data.n_features, preset.layers, n_out).to(self.device)
        self.loss_fn = loss_function(self.loss_name)
        self.optimizer = make_optimizer(self.model.parameters(), preset.training, self.device.type)
        self.scheduler = make_scheduler(self.optimizer, preset.training)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(preset.seed)

        self.X_train, self.y_train = self._tensors(data.X_train, data.y_train)
        if len(data.X_test) == 0 or data.validation_on_train:  # the same rows: one copy, and see EpochPlan
            self.X_val, self.y_val = self.X_train, self.y_train
        else:
            self.X_val, self.y_val = self._tensors(data.X_test, data.y_test)

        self.state = state if state is not None else TrainState()
        s = self.state
        s.preset, s.data, s.device = preset, data, self.device
        s.model, s.loss_fn, s.optimizer, s.scheduler, s.generator = (
            self.model, self.loss_fn, self.optimizer, self.scheduler, self.generator
        )
        s.X_train, s.y_train = self.X_train, self.y_train
        self.callbacks = Callbacks(s, [*callbacks, *([EventCallback(on_event)] if on_event else [])])
        self._live_state = list(self.model.state_dict().values())
        self._good_state = [t.detach().clone() for t in self._live_state]
        # The hot path (nn_tui.core.training.fastpath): the same kernels as model(x), loss_fn and optimizer.step(),
        # without their per-call Python overhead.
        self._forward = plain_forward(self.model)
        self._loss = plain_loss(self.loss_name, self.loss_fn)
        self._mode_matters = mode_matters(self.model)
        self._pending: tuple[torch.Tensor, list[int]] | None = None
        # L1 regularisation: l1 × Σ|w| over the Linear layers' weight matrices (not biases) joins the loss that is
        # backpropagated; the reported losses stay the data's. Off (0): the step is exactly the plain one.
        self.state.l1 = preset.training.l1  # a checkpoint loaded after this may set another (a change made live)
        self._l1_weights = [m.weight for m in self.model.modules() if isinstance(m, torch.nn.Linear)]

    def _tensors(self, X, y) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        Xt = torch.from_numpy(X).to(self.device)
        yt = torch.from_numpy(y).to(self.device)
        if self.loss_name == "bce":
            yt = yt.to(torch.float32).unsqueeze(1)
        return Xt, yt

    # The counters live in the TrainState; these read them.
    epoch = property(lambda self: self.state.epoch)
    global_step = property(lambda self: self.state.global_step)
    best = property(lambda self: self.state.best)
    final = property(lambda self: self.state.final)

    @property
    def state_tensors(self) -> list[torch.Tensor]:
        """The model's state_dict() values (live views, in state_dict order), without rebuilding the dict."""
        return self._live_state

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def current_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a saved TrainState (a checkpoint); a later divergence rolls back to these weights."""
        self.state.load_state_dict(state)
        self._keep_good_weights()

    def state_dict_cpu(self) -> dict[str, torch.Tensor]:
        """Model weights as contiguous CPU tensors, ready for safetensors."""
        return {k: v.detach().to("cpu").contiguous() for k, v in self.model.state_dict().items()}

    # ------------------------------------------------------------ the loop

    def run(self) -> RunFinished:
        epochs = self.preset.training.epochs
        plan = self._plan()
        # Built here, not in __init__, so a restored optimizer state (resume) is the one stepped.
        self._params = list(self.model.parameters())
        self._opt_step = optimizer_step(self.optimizer)
        self._target = metric_target(self.y_train, self.metric, self.loss_name) if plan.reuse_forward else None
        self._announce(plan)
        t_start = time.perf_counter()
        seconds_before = self.state.final.get("seconds", 0.0)  # continues the clock when resumed
        outcome: tuple[str, str] | None = None
        self.model.train()
        for epoch in range(plan.start_epoch, epochs + 1):
            trained = self._train_epoch(epoch, plan)
            if trained is None:
                outcome = "stopped", f"stopped by request during epoch {epoch}"
                break
            loss_sum, seen, epoch_t0, paused_s = trained
            train_loss, val_loss, metric = self._validate(plan, loss_sum, seen)
            if not math.isfinite(train_loss) or not math.isfinite(val_loss):
                outcome = self._diverged(epoch)
                break
            self._keep_good_weights()
            active = time.perf_counter() - epoch_t0 - paused_s
            self._end_epoch(epoch, train_loss, val_loss, metric, seen / max(active, 1e-9),
                            seconds_before + time.perf_counter() - t_start)
            if (outcome := self._early_stop()) is not None:
                break
        status, message = outcome or ("completed", "")
        s = self.state
        return RunFinished(
            status=status,
            message=message or f"trained {s.epoch} epochs",
            epochs_run=s.epoch,
            seconds=seconds_before + time.perf_counter() - t_start,
            final=dict(s.final),
            best=dict(s.best),
            run_dir=self.run_dir,
        )

    def _plan(self) -> EpochPlan:
        import torch

        n = len(self.X_train)
        bs = n if self.preset.data.batch_size == 0 else min(self.preset.data.batch_size, n)
        steps = math.ceil(n / bs)
        # Batch norm cannot train on a batch of one row: fold a lone last row into the batch before it.
        if steps > 1 and n % bs == 1 and any(isinstance(m, torch.nn.BatchNorm1d) for m in self.model.modules()):
            steps -= 1
        reuse = (
            steps == 1 and self.X_val is self.X_train and self.y_val is self.y_train and not self._mode_matters
            and n <= EVAL_CHUNK
        )
        return EpochPlan(n, bs, steps, self.state.epoch + 1, reuse)

    def _announce(self, plan: EpochPlan) -> None:
        self.callbacks.emit(
            RunStarted(
                run_dir=self.run_dir,
                device=str(self.device),
                epochs=self.preset.training.epochs,
                start_epoch=plan.start_epoch,
                steps_per_epoch=plan.steps,
                batch_size=plan.batch_size,
                train_samples=plan.rows,
                val_samples=len(self.X_val),
                parameters=self.parameters,
                task=self.data.task,
                metric=self.metric,
            )
        )

    def _train_epoch(self, epoch: int, plan: EpochPlan) -> tuple[torch.Tensor, int, float, float] | None:
        """One epoch of optimizer steps: (summed loss, rows seen, start time, seconds paused), or None when a
        stop came (the state then says where in the epoch, so a checkpoint continues from that very step)."""
        import torch

        state, control = self.state, self.control
        n, bs, steps = plan.rows, plan.batch_size, plan.steps
        forward, loss_fn, opt_step = self._forward, self._loss, self._opt_step
        X, y = self.X_train, self.y_train
        clip = self.preset.training.grad_clip
        params = self._params
        l1, l1_weights = state.l1, self._l1_weights
        interval = self.progress_interval
        on_progress = self.callbacks.hooks(StepProgress)
        # Replays this epoch's order if stopped and resumed; a full-batch epoch draws nothing, so its
        # state is only read if it stops (a 5 KB copy per epoch is a real cost for a 4-row network).
        shuffle_state = self.generator.get_state() if steps > 1 else None
        loss_sum = torch.zeros((), device=self.device)
        perm = torch.randperm(n, device=self.device, generator=self.generator) if steps > 1 else None
        epoch_t0 = time.perf_counter()
        paused_s = 0.0
        next_report = epoch_t0 + interval
        seen = first_step = 0
        if (resume := state.within_epoch) is not None and resume["epoch"] == epoch:
            first_step, seen = resume["step"], resume["seen"]
            loss_sum.copy_(resume["loss_sum"])
        state.within_epoch = None
        pending = self._pending
        for step in range(first_step, steps):
            if control.stop_requested:
                break
            if control.paused:
                p0 = time.perf_counter()
                control.wait_if_paused()
                paused_s += time.perf_counter() - p0
                if control.stop_requested:
                    break
            if control.changes_pending:  # lr, momentum, weight decay or L1 changed while training
                apply_due_changes(state, control, self.callbacks.emit, epoch, step)
                l1 = state.l1
            if perm is None:
                xb, yb = X, y
            else:
                idx = perm[step * bs : (step + 1) * bs if step < steps - 1 else n]
                xb, yb = X.index_select(0, idx), y.index_select(0, idx)
            if pending is not None and pending[1] == [p._version for p in params]:
                loss = pending[0]
            else:
                loss = loss_fn(forward(xb), yb)
            pending = None
            for p in params:  # opt.zero_grad(set_to_none=True), minus its profiler hook
                p.grad = None
            if l1:
                (loss + l1 * l1_penalty(l1_weights)).backward()
            else:
                loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(params, clip)
            opt_step()
            loss_sum.add_(loss.detach(), alpha=len(xb))
            seen += len(xb)
            state.global_step += 1
            if interval and (now := time.perf_counter()) >= next_report:
                next_report = now + interval
                running = loss_sum.item() / seen  # the only mid-epoch sync, a few times a second
                if not math.isfinite(running):
                    break
                if on_progress:
                    event = StepProgress(epoch, step + 1, steps, state.global_step, running,
                                         seen / max(now - epoch_t0 - paused_s, 1e-9))
                    for hook in on_progress:
                        hook(state, event)
        self._pending = pending
        if control.stop_requested:
            state.within_epoch = {
                "epoch": epoch, "step": -(-seen // bs), "seen": seen, "loss_sum": loss_sum,
                "shuffle_state": shuffle_state if shuffle_state is not None else self.generator.get_state(),
            }
            return None
        return loss_sum, seen, epoch_t0, paused_s

    def _validate(self, plan: EpochPlan, loss_sum: torch.Tensor, seen: int) -> tuple[float, float, float]:
        """(training loss, validation loss, metric), with one host sync for all three."""
        import torch

        if plan.reuse_forward:
            X, y = self.X_train, self.y_train
            out = self._forward(X)
            next_loss = self._loss(out, y)
            self._pending = (next_loss, [p._version for p in self._params])
            # Detached inputs: no graph is built, so no grad-mode switch is needed.
            val_loss, metric, loss_total = torch.stack(
                [*whole_set_scores(out.detach(), y, next_loss.detach(), self.metric, self.loss_name, self._target),
                 loss_sum]
            ).tolist()
        else:
            val_loss, metric, loss_total = self.score(self.X_val, self.y_val, loss_sum).tolist()
        return loss_total / max(seen, 1), val_loss, metric

    def score(self, X: torch.Tensor, y: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """[mean loss, accuracy or R²] (then `extra`, if given) as one tensor, in eval mode, so the caller syncs once."""
        import torch

        switch = self._mode_matters and self.model.training  # eval() == train() without dropout / batch norm
        if switch:
            self.model.eval()
        with torch.inference_mode():
            if len(X) <= EVAL_CHUNK:  # one chunk: the same arithmetic as the chunked loop, without accumulators
                out = self._forward(X)
                loss_mean, metric = whole_set_scores(out, y, self._loss(out, y), self.metric, self.loss_name)
            else:
                loss_mean, metric = chunked_scores(self._forward, self._loss, X, y, self.metric, self.loss_name,
                                                   self.device)
            values = torch.stack([loss_mean, metric] if extra is None else [loss_mean, metric, extra])
        if switch:
            self.model.train()
        return values

    def _keep_good_weights(self) -> None:
        """The weights of the last finite epoch, for a divergence to roll back to."""
        import torch

        torch._foreach_copy_(self._good_state, self._live_state)

    def _end_epoch(self, epoch: int, train_loss: float, val_loss: float, metric: float, rate: float, seconds: float) -> None:
        """Record the epoch (last row, best row, patience), step the scheduler, and tell the callbacks."""
        t = self.preset.training
        event = EpochEnd(
            epoch=epoch,
            epochs=t.epochs,
            train_loss=train_loss,
            val_loss=val_loss,
            metric=self.metric,
            metric_value=metric,
            lr=self.current_lr(),
            samples_per_sec=rate,
            seconds=seconds,
            global_step=self.state.global_step,
        )
        self.state.record_epoch(event.row(), val_loss)
        if self.scheduler is not None:
            if t.scheduler == "plateau":
                self.scheduler.step(val_loss)
            else:
                self.scheduler.step()
        self.callbacks.emit(event)
        self.control.epoch_done()

    def _end_block(self, block: EpochBlock) -> None:
        """Record several finished epochs at once and tell the callbacks (a group's driver; no scheduler)."""
        self.state.record_block(block)
        self.callbacks.emit(block)

    def _early_stop(self) -> tuple[str, str] | None:
        patience = self.preset.training.early_stopping
        s = self.state
        if patience and s.epochs_without_improvement >= patience:
            return "early_stopped", (
                f"validation loss did not improve for {patience} epochs; "
                f"best was {s.best_val_loss:.4g} at epoch {s.best.get('epoch')}"
            )
        return None

    def _diverged(self, epoch: int) -> tuple[str, str]:
        """Put back the last weights that gave a finite loss and explain what happened."""
        for good, live in zip(self._good_state, self._live_state):
            live.copy_(good)
        lr = self.current_lr()
        return "diverged", (
            f"the loss became NaN or infinite in epoch {epoch}: the learning rate ({lr:g}) is probably too high; "
            f"try {lr / 10:g}. The weights from the last finite epoch ({self.state.epoch}) were kept."
        )


def l1_penalty(weights: list[torch.Tensor]) -> torch.Tensor:
    """Σ|w| over the given weight tensors, as one tensor (no host sync)."""
    import torch

    return torch.stack([w.abs().sum() for w in weights]).sum()
