"""The training loop: data as tensors on the device, randperm batches, no per-step host sync.

The trainer knows nothing about files or screens. It reports through a callback of events
(nn_tui.core.training.events) and obeys a TrainerControl (stop / pause / step one epoch), checked every step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nn_tui.core.datasets import CLASSIFICATION, Dataset
from nn_tui.core.training.events import EpochEnd, Event, RunFinished, RunStarted, StepProgress, TrainerControl
from nn_tui.core.training.fastpath import mode_matters, optimizer_step, plain_forward, plain_loss
from nn_tui.core.model.build import build_model, loss_function, make_optimizer, make_scheduler
from nn_tui.core.preset.load import Preset

if TYPE_CHECKING:
    import torch

EVAL_CHUNK = 65536


class Trainer:
    """Trains one model for one preset. `run()` blocks until done, stopped or diverged."""

    def __init__(
        self,
        preset: Preset,
        data: Dataset,
        *,
        device: str = "cpu",
        n_out: int,
        on_event: Callable[[Event], None] | None = None,
        control: TrainerControl | None = None,
        progress_interval: float = 0.25,
        run_dir: str | None = None,
    ) -> None:
        import torch

        self.preset = preset
        self.data = data
        self.device = torch.device(device)
        self.loss_name = preset.training.loss
        assert self.loss_name is not None, "resolve the loss before training (nn_tui.core.run.runner.prepare_run)"
        self.on_event = on_event or (lambda e: None)
        self.control = control or TrainerControl()
        self.progress_interval = progress_interval
        self.run_dir = run_dir
        self.metric = "val_accuracy" if data.task == CLASSIFICATION else "val_r2"

        torch.manual_seed(preset.seed)
        self.model = build_model(data.n_features, preset.layers, n_out).to(self.device)
        self.loss_fn = loss_function(self.loss_name)
        self.optimizer = make_optimizer(self.model.parameters(), preset.training, self.device.type)
        self.scheduler = make_scheduler(self.optimizer, preset.training)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(preset.seed)

        self.X_train, self.y_train = self._tensors(data.X_train, data.y_train)
        if len(data.X_test) == 0 or data.validation_on_train:  # the same rows: one copy, and see run()
            self.X_val, self.y_val = self.X_train, self.y_train
        else:
            self.X_val, self.y_val = self._tensors(data.X_test, data.y_test)

        self.epoch = 0  # epochs completed
        self.global_step = 0
        self.best: dict[str, Any] = {}
        self.final: dict[str, Any] = {}
        self.best_val_loss = math.inf
        self.epochs_without_improvement = 0
        self._live_state = list(self.model.state_dict().values())
        self._good_state = [t.detach().clone() for t in self._live_state]
        # The hot path (nn_tui.core.training.fastpath): the same kernels as model(x), loss_fn and optimizer.step(),
        # without their per-call Python overhead.
        self._forward = plain_forward(self.model)
        self._loss = plain_loss(self.loss_name, self.loss_fn)
        self._mode_matters = mode_matters(self.model)
        # Stopping and resuming in the middle of an epoch (nn_tui.core.run.checkpoint): where a stop left off,
        # and where a resumed run picks up.
        self.stopped_within_epoch: dict[str, Any] | None = None
        self.resume_within_epoch: dict[str, Any] | None = None

    def _tensors(self, X, y) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        Xt = torch.from_numpy(X).to(self.device)
        yt = torch.from_numpy(y).to(self.device)
        if self.loss_name == "bce":
            yt = yt.to(torch.float32).unsqueeze(1)
        return Xt, yt

    @property
    def state_tensors(self) -> list[torch.Tensor]:
        """The model's state_dict() values (live views, in state_dict order), without rebuilding the dict."""
        return self._live_state

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def current_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    # ------------------------------------------------------------ evaluation

    def evaluate(self, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        """(mean loss, accuracy or R²) on the given tensors, in eval mode, in chunks."""
        values = self._evaluate_tensors(X, y).tolist()
        return float(values[0]), float(values[1])

    def _evaluate_tensors(self, X: torch.Tensor, y: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """[mean loss, accuracy or R²] (then `extra`, if given) as one tensor, so the caller syncs once."""
        import torch

        switch = self._mode_matters and self.model.training  # eval() == train() without dropout / batch norm
        if switch:
            self.model.eval()
        forward, loss_fn = self._forward, self._loss
        n = len(X)
        with torch.inference_mode():
            if n <= EVAL_CHUNK:  # one chunk: the same arithmetic as the loop below, without the accumulators
                out = forward(X)
                loss_mean, metric = self._scores(out, y, loss_fn(out, y))
            else:
                loss_sum = torch.zeros((), device=self.device)
                hits = torch.zeros((), device=self.device)
                if self.metric == "val_r2":
                    sse = torch.zeros(y.shape[1], device=self.device)
                for start in range(0, n, EVAL_CHUNK):
                    xb, yb = X[start : start + EVAL_CHUNK], y[start : start + EVAL_CHUNK]
                    out = forward(xb)
                    loss_sum += loss_fn(out, yb) * len(xb)
                    if self.metric == "val_accuracy":
                        pred = (out[:, 0] > 0).long() if self.loss_name == "bce" else out.argmax(1)
                        target = yb[:, 0].long() if self.loss_name == "bce" else yb
                        hits += (pred == target).sum()
                    else:
                        sse += ((out - yb) ** 2).sum(0)
                if self.metric == "val_accuracy":
                    metric = hits / n
                else:
                    sst = ((y - y.mean(0)) ** 2).sum(0).clamp_min(1e-12)
                    metric = (1 - sse / sst).mean()
                loss_mean = loss_sum / n
            values = torch.stack([loss_mean, metric] if extra is None else [loss_mean, metric, extra])
        if switch:
            self.model.train()
        return values

    def _metric_target(self, y: torch.Tensor) -> torch.Tensor:
        """What predictions are compared with: class indices (BCE targets are 0.0/1.0 in a column)."""
        return y[:, 0].long() if self.metric == "val_accuracy" and self.loss_name == "bce" else y

    def _scores(
        self, out: torch.Tensor, y: torch.Tensor, loss: torch.Tensor, target: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean loss, metric) of one whole-set output; `* n / n` keeps the chunked loop's arithmetic."""
        n = len(out)
        loss_mean = loss * n / n
        if self.metric == "val_accuracy":
            if target is None:
                target = self._metric_target(y)
            if self.loss_name == "bce":
                return loss_mean, ((out[:, 0] > 0) == target).sum() / n  # bool == 0/1: the same count
            return loss_mean, (out.argmax(1) == target).sum() / n
        sst = ((y - y.mean(0)) ** 2).sum(0).clamp_min(1e-12)
        return loss_mean, (1 - ((out - y) ** 2).sum(0) / sst).mean()

    # ------------------------------------------------------------ training

    def run(self) -> RunFinished:
        import torch

        t = self.preset.training
        n = len(self.X_train)
        bs = n if self.preset.data.batch_size == 0 else min(self.preset.data.batch_size, n)
        steps = math.ceil(n / bs)
        # Batch norm cannot train on a batch of one row: fold a lone last row into the batch before it.
        if steps > 1 and n % bs == 1 and any(isinstance(m, torch.nn.BatchNorm1d) for m in self.model.modules()):
            steps -= 1
        start_epoch = self.epoch + 1
        self.on_event(
            RunStarted(
                run_dir=self.run_dir,
                device=str(self.device),
                epochs=t.epochs,
                start_epoch=start_epoch,
                steps_per_epoch=steps,
                batch_size=bs,
                train_samples=n,
                val_samples=len(self.X_val),
                parameters=self.parameters,
                task=self.data.task,
                metric=self.metric,
            )
        )
        model, opt, control = self.model, self.optimizer, self.control
        # Built here, not in __init__, so a restored optimizer state (resume) is the one stepped.
        forward, loss_fn, opt_step = self._forward, self._loss, optimizer_step(opt)
        X, y = self.X_train, self.y_train
        clip = t.grad_clip
        params = [p for p in model.parameters()]
        interval = self.progress_interval
        t_start = time.perf_counter()
        seconds_before = self.final.get("seconds", 0.0)  # continues the clock when resumed
        status, message = "completed", ""
        model.train()
        # Full batch with validation on the training rows (the AND/OR/XOR truth tables): the validation
        # forward pass after epoch e is exactly the training forward pass of epoch e + 1, so it is done once,
        # with autograd, and kept for that step ("pending") unless the weights changed in between.
        reuse_forward = (
            steps == 1 and self.X_val is X and self.y_val is y and not self._mode_matters and n <= EVAL_CHUNK
        )
        pending: tuple[torch.Tensor, list[int]] | None = None
        target = self._metric_target(y) if reuse_forward else None

        for epoch in range(start_epoch, t.epochs + 1):
            # Replays this epoch's order if stopped and resumed; a full-batch epoch draws nothing, so its
            # state is only read if it stops (a 5 KB copy per epoch is a real cost for a 4-row network).
            shuffle_state = self.generator.get_state() if steps > 1 else None
            loss_sum = torch.zeros((), device=self.device)
            perm = torch.randperm(n, device=self.device, generator=self.generator) if steps > 1 else None
            epoch_t0 = time.perf_counter()
            paused_s = 0.0
            next_report = epoch_t0 + interval
            seen = first_step = 0
            if (resume := self.resume_within_epoch) is not None and resume["epoch"] == epoch:
                first_step, seen = resume["step"], resume["seen"]
                loss_sum.copy_(resume["loss_sum"])
            self.resume_within_epoch = None
            for step in range(first_step, steps):
                if control.stop_requested:
                    break
                if control.paused:
                    p0 = time.perf_counter()
                    control.wait_if_paused()
                    paused_s += time.perf_counter() - p0
                    if control.stop_requested:
                        break
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
                loss.backward()
                if clip > 0:
                    torch.nn.utils.clip_grad_norm_(params, clip)
                opt_step()
                loss_sum.add_(loss.detach(), alpha=len(xb))
                seen += len(xb)
                self.global_step += 1
                if interval and (now := time.perf_counter()) >= next_report:
                    next_report = now + interval
                    running = loss_sum.item() / seen  # the only mid-epoch sync, a few times a second
                    if not math.isfinite(running):
                        break
                    active = now - epoch_t0 - paused_s
                    self.on_event(
                        StepProgress(epoch, step + 1, steps, self.global_step, running, seen / max(active, 1e-9))
                    )
            if control.stop_requested:
                self.stopped_within_epoch = {
                    "epoch": epoch, "step": -(-seen // bs), "seen": seen, "loss_sum": loss_sum,
                    "shuffle_state": shuffle_state if shuffle_state is not None else self.generator.get_state(),
                }
                status, message = "stopped", f"stopped by request during epoch {epoch}"
                break
            # One host sync per epoch: validation loss, metric and the summed training loss together.
            if reuse_forward:
                out = forward(X)
                next_loss = loss_fn(out, y)
                pending = (next_loss, [p._version for p in params])
                # Detached inputs: no graph is built, so no grad-mode switch is needed.
                val_loss, metric, loss_total = torch.stack(
                    [*self._scores(out.detach(), y, next_loss.detach(), target), loss_sum]
                ).tolist()
            else:
                val_loss, metric, loss_total = self._evaluate_tensors(self.X_val, self.y_val, loss_sum).tolist()
            train_loss = loss_total / max(seen, 1)
            if not math.isfinite(train_loss) or not math.isfinite(val_loss):
                status, message = self._diverged(epoch)
                break
            torch._foreach_copy_(self._good_state, self._live_state)
            lr = self.current_lr()
            active = time.perf_counter() - epoch_t0 - paused_s
            self.epoch = epoch
            event = EpochEnd(
                epoch=epoch,
                epochs=t.epochs,
                train_loss=train_loss,
                val_loss=val_loss,
                metric=self.metric,
                metric_value=metric,
                lr=lr,
                samples_per_sec=seen / max(active, 1e-9),
                seconds=seconds_before + time.perf_counter() - t_start,
                global_step=self.global_step,
            )
            self.final = event.row()
            improved = val_loss < self.best_val_loss
            if improved:
                self.best_val_loss = val_loss
                self.best = dict(self.final)
                self.epochs_without_improvement = 0
            else:
                self.epochs_without_improvement += 1
            if self.scheduler is not None:
                if t.scheduler == "plateau":
                    self.scheduler.step(val_loss)
                else:
                    self.scheduler.step()
            self.on_event(event)
            control.epoch_done()
            if t.early_stopping and self.epochs_without_improvement >= t.early_stopping:
                status = "early_stopped"
                message = (
                    f"validation loss did not improve for {t.early_stopping} epochs; "
                    f"best was {self.best_val_loss:.4g} at epoch {self.best.get('epoch')}"
                )
                break

        finished = RunFinished(
            status=status,
            message=message or f"trained {self.epoch} epochs",
            epochs_run=self.epoch,
            seconds=seconds_before + time.perf_counter() - t_start,
            final=dict(self.final),
            best=dict(self.best),
            run_dir=self.run_dir,
        )
        return finished

    def _diverged(self, epoch: int) -> tuple[str, str]:
        """Put back the last weights that gave a finite loss and explain what happened."""
        for good, live in zip(self._good_state, self._live_state):
            live.copy_(good)
        lr = self.current_lr()
        return "diverged", (
            f"the loss became NaN or infinite in epoch {epoch}: the learning rate ({lr:g}) is probably too high; "
            f"try {lr / 10:g}. The weights from the last finite epoch ({self.epoch}) were kept."
        )

    def state_dict_cpu(self) -> dict[str, torch.Tensor]:
        """Model weights as contiguous CPU tensors, ready for safetensors."""
        return {k: v.detach().to("cpu").contiguous() for k, v in self.model.state_dict().items()}
