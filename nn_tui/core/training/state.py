"""Where training is: the model, optimizer, scheduler and generators being trained, and the counters.

A `TrainState` is what a callback is given with every event and what a checkpoint saves and restores whole
(`state_dict()` / `load_state_dict()`). The trainer builds the objects in it and updates the counters; nothing
else writes to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nn_tui.core.datasets import Dataset
    from nn_tui.core.preset import Preset

# Scheduler keys that follow the preset rather than a saved state, so `--epochs` can extend a schedule.
SCHEDULER_HORIZON_KEYS = ("T_max", "step_size", "patience")


@dataclass(eq=False)
class TrainState:
    preset: Preset | None = None
    data: Dataset | None = None
    # Built by the trainer (None until then, e.g. for a run that failed to start).
    device: Any = None  # torch.device
    model: Any = None  # torch.nn.Module
    loss_fn: Any = None
    optimizer: Any = None
    scheduler: Any = None
    generator: Any = None  # the batch-shuffling generator
    # Where this run's dropout masks come from when it is not torch's global generator (a run trained in a
    # group draws from its own): saved as the global generator's state, which a run alone would draw from.
    dropout_generator: Any = None
    X_train: Any = None  # training rows as tensors on the device
    y_train: Any = None
    # Counters.
    epoch: int = 0  # epochs completed
    global_step: int = 0
    final: dict[str, Any] = field(default_factory=dict)  # the last epoch's metrics row
    best: dict[str, Any] = field(default_factory=dict)  # the row of the epoch with the lowest validation loss
    best_val_loss: float = math.inf
    epochs_without_improvement: int = 0
    # Where in an epoch training stopped ({"epoch", "step", "seen", "loss_sum", "shuffle_state"}): set by a
    # stop in the middle of an epoch, and by loading a checkpoint written then; the trainer continues there.
    within_epoch: dict[str, Any] | None = None
    # The L1 penalty now (the preset's, unless changed while training). The other settings that can change
    # while training (lr, momentum, weight decay) live in the optimizer's param_groups, saved with it.
    l1: float = 0.0

    @property
    def built(self) -> bool:
        return self.model is not None

    def record_block(self, block: Any) -> None:
        """Finished epochs delivered at once (an EpochBlock): the same bookkeeping as record_epoch on each."""
        best_val, stale, best_k = self.best_val_loss, self.epochs_without_improvement, None
        for k, v in enumerate(block.val_loss):
            if v < best_val:
                best_val, stale, best_k = v, 0, k
            else:
                stale += 1
        last = len(block.val_loss) - 1
        self.epoch = block.first + last
        self.final = block.row(last)
        if best_k is not None:
            self.best_val_loss = best_val
            self.best = dict(self.final) if best_k == last else block.row(best_k)
        self.epochs_without_improvement = stale
        self.global_step = block.global_step

    def record_epoch(self, row: dict[str, Any], val_loss: float) -> None:
        """A finished epoch: its row becomes `final`, and `best` if its validation loss is the lowest yet."""
        self.epoch = row["epoch"]
        self.final = row
        if val_loss < self.best_val_loss:
            self.best_val_loss = val_loss
            self.best = dict(row)
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1

    # ------------------------------------------------------------ saving and restoring

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: tensors stay tensors (on their device), the rest is plain data."""
        import torch

        within = self.within_epoch
        shuffle = within["shuffle_state"] if within is not None else self.generator.get_state()
        rng = {"torch": torch.get_rng_state(), "shuffle": shuffle}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        if self.dropout_generator is not None:
            rng["cuda" if self.device.type == "cuda" else "torch"] = self.dropout_generator.get_state()
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "rng": rng,
            "epoch": self.epoch,
            "global_step": self.global_step,
            "final": self.final,
            "best": self.best,
            "best_val_loss": self.best_val_loss,
            "epochs_without_improvement": self.epochs_without_improvement,
            "l1": self.l1,
            "within_epoch": (
                None if within is None else {k: within[k] for k in ("epoch", "step", "seen", "loss_sum")}
            ),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put a saved state into a freshly built state for the same preset (shapes checked beforehand)."""
        import torch

        self.model.load_state_dict(state["model"])
        opt = state["optimizer"]
        current = self.optimizer.state_dict()["param_groups"]
        groups = [dict(g) for g in opt["param_groups"]]
        for g, cur in zip(groups, current):
            for k, v in cur.items():  # keep types torch expects (tuples) and anything newer torch added
                if isinstance(v, tuple) and isinstance(g.get(k), list):
                    g[k] = tuple(g[k])
                g.setdefault(k, v)
        self.optimizer.load_state_dict({"state": opt["state"], "param_groups": groups})
        if self.scheduler is not None and state.get("scheduler") is not None:
            sched = dict(state["scheduler"])
            now = self.scheduler.state_dict()
            for k in SCHEDULER_HORIZON_KEYS:
                if k in now:
                    sched[k] = now[k]
            self.scheduler.load_state_dict(sched)
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        if self.device.type == "cuda" and "cuda" in rng:
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        try:
            self.generator.set_state(rng["shuffle"])
        except RuntimeError:  # a generator of another device type (resumed on a different device)
            pass
        self.epoch = int(state["epoch"])
        self.global_step = int(state["global_step"])
        self.final = dict(state["final"])
        self.best = dict(state["best"])
        self.best_val_loss = float(state["best_val_loss"])
        self.epochs_without_improvement = int(state["epochs_without_improvement"])
        if state.get("l1") is not None:  # checkpoints from before L1 existed have none
            self.l1 = float(state["l1"])
        part = state.get("within_epoch")
        self.within_epoch = None
        if part is not None:
            self.within_epoch = {
                "epoch": int(part["epoch"]),
                "step": int(part["step"]),
                "seen": int(part["seen"]),
                "loss_sum": part["loss_sum"].to(self.device),
            }
