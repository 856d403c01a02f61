"""The learning-rate finder: a short training of a copy of the model with an exponentially growing learning rate.

The loss is smoothed with a bias-corrected exponential moving average, the sweep stops once it blows up (more
than 4x the best), and the suggestion is the learning rate where the smoothed loss falls fastest against
log(lr) before that — the method of Lightning's and fastai's finders. The setup's own model, optimizer, run
folders and the global random state are left as they were.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

    from nn_tui.core.datasets import Dataset
    from nn_tui.core.preset import Preset

START_LR, END_LR, STEPS = 1e-6, 10.0, 100
BETA = 0.98  # smoothing of the loss (Lightning's and fastai's value)
BLOW_UP = 4.0  # stop once the smoothed loss is this many times the best so far
SKIP_BEGIN, SKIP_END = 10, 1  # points left out of the suggestion: the average is still settling / the blow-up


@dataclass(frozen=True)
class LrCurve:
    """One sweep: the learning rate of each step, the loss it gave (raw and smoothed), and the suggestion."""

    lrs: tuple[float, ...]
    losses: tuple[float, ...]  # smoothed
    raw_losses: tuple[float, ...]
    suggested_lr: float | None  # None when the sweep was too short to tell
    suggested_index: int | None
    blew_up: bool  # stopped before the last step because the loss ran away

    def to_json(self) -> dict:
        return {
            "suggested_lr": self.suggested_lr,
            "blew_up": self.blew_up,
            "steps": len(self.lrs),
            "lr": list(self.lrs),
            "loss": list(self.losses),
            "raw_loss": list(self.raw_losses),
        }


def lr_schedule(start: float, end: float, steps: int) -> list[float]:
    """Exponentially spaced learning rates from start to end (both included)."""
    if steps < 2:
        return [start]
    ratio = end / start
    return [start * ratio ** (i / (steps - 1)) for i in range(steps)]


def suggest(lrs: list[float], losses: list[float]) -> int | None:
    """Index of the steepest fall of the smoothed loss against log10(lr), skipping the settling start and the end."""
    import numpy as np

    lo, hi = SKIP_BEGIN, len(losses) - SKIP_END
    if hi - lo < 3:  # too few points: use what there is, if anything
        lo, hi = 0, len(losses)
    if hi - lo < 3:
        return None
    y = np.asarray(losses[lo:hi], dtype=float)
    x = np.log10(np.asarray(lrs[lo:hi], dtype=float))
    if not np.all(np.isfinite(y)):
        return None
    grad = np.gradient(y, x)
    return lo + int(np.argmin(grad))


def find_lr(
    preset: Preset,
    data: Dataset,
    n_out: int,
    *,
    device: str = "cpu",
    model: nn.Module | None = None,
    start_lr: float = START_LR,
    end_lr: float = END_LR,
    steps: int = STEPS,
    should_stop: Callable[[], bool] | None = None,
) -> LrCurve:
    """Sweep the learning rate on a copy of `model` (default: the preset's freshly initialised network).

    `preset` is resolved (its loss set: nn_tui.core.run.runner.prepare_run does it; n_out and device come from
    there too). Uses the preset's optimizer, batch size and seed; one batch per step, reshuffled each pass over
    the data. `should_stop` is checked every step (a UI worker's cancellation)."""
    import copy

    import torch

    from nn_tui.core.model.build import build_model, loss_function, make_optimizer

    loss_name = preset.training.loss
    assert loss_name is not None, "prepare_run resolves the loss"
    dev = torch.device(device)
    schedule = lr_schedule(start_lr, end_lr, steps)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(preset.seed)
        if model is None:
            net = build_model(data.n_features, preset.layers, n_out)
        else:
            net = copy.deepcopy(model)
        net = net.to(dev).train()
        loss_fn = loss_function(loss_name)
        optimizer = make_optimizer(net.parameters(), preset.training, dev.type)
        X = torch.from_numpy(data.X_train).to(dev)
        y = torch.from_numpy(data.y_train).to(dev)
        if loss_name == "bce":
            y = y.to(torch.float32).unsqueeze(1)
        n = len(X)
        bs = n if preset.data.batch_size == 0 else min(preset.data.batch_size, n)
        if bs == 1 and any(isinstance(m, torch.nn.BatchNorm1d) for m in net.modules()):
            bs = min(2, n)
        generator = torch.Generator(device=dev)
        generator.manual_seed(preset.seed)
        order, pos = torch.randperm(n, device=dev, generator=generator), 0

        lrs: list[float] = []
        raw: list[float] = []
        smooth: list[float] = []
        avg, best, blew_up = 0.0, math.inf, False
        for i, lr in enumerate(schedule):
            if should_stop is not None and should_stop():
                break
            if pos + bs > n:
                order, pos = torch.randperm(n, device=dev, generator=generator), 0
            idx = order[pos:pos + bs]
            pos += bs
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(X[idx]), y[idx])
            value = float(loss.detach())
            if not math.isfinite(value):
                blew_up = True
                break
            loss.backward()
            optimizer.step()
            avg = BETA * avg + (1 - BETA) * value
            smoothed = avg / (1 - BETA ** (i + 1))
            lrs.append(lr)
            raw.append(value)
            smooth.append(smoothed)
            best = min(best, smoothed)
            if smoothed > BLOW_UP * best:
                blew_up = True
                break
    k = suggest(lrs, smooth)
    return LrCurve(
        lrs=tuple(lrs),
        losses=tuple(smooth),
        raw_losses=tuple(raw),
        suggested_lr=lrs[k] if k is not None else None,
        suggested_index=k,
        blew_up=blew_up,
    )


def curve_table(curve: LrCurve, rows: int = 12) -> list[str]:
    """The curve as a few text rows (lr, smoothed loss), the suggested row marked."""
    n = len(curve.lrs)
    if n == 0:
        return ["no steps were taken"]
    picks = sorted({round(i * (n - 1) / max(rows - 1, 1)) for i in range(rows)} | (
        {curve.suggested_index} if curve.suggested_index is not None else set()))
    out = [f"{'lr':>10}  {'loss':>10}"]
    for i in picks:
        mark = "  <- suggested" if i == curve.suggested_index else ""
        out.append(f"{curve.lrs[i]:>10.3g}  {curve.losses[i]:>10.4g}{mark}")
    return out


def decade_ticks(lrs) -> tuple[list[float], list[str]]:
    """Ticks at the powers of ten the sweep covers (at most about six), labelled 1e-6 … 1e1."""
    lo, hi = math.floor(math.log10(min(lrs))), math.ceil(math.log10(max(lrs)))
    step = max(1, (hi - lo + 5) // 6)
    powers = range(lo, hi + 1, step)
    return [10.0 ** k for k in powers], [f"1e{k}" for k in powers]
