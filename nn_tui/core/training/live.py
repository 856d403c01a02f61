"""Settings that can change while a run trains (learning rate, momentum, weight decay, L1), without resetting
the weights: which ones, their allowed values, and putting a change into the optimizer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nn_tui.core.errors import UserError
from nn_tui.core.preset import MOMENTUM_OPTIMIZERS, TRAINING_FIELDS, TrainingSpec
from nn_tui.core.training.events import Event, SettingChanged, TrainerControl

if TYPE_CHECKING:
    from nn_tui.core.training.state import TrainState

LIVE_KEYS = ("lr", "momentum", "weight_decay", "l1")
_FIELDS = {f.name: f for f in TRAINING_FIELDS}


def live_keys(training: TrainingSpec) -> tuple[str, ...]:
    """The settings this run's optimizer lets change (momentum only for sgd, momentum and rmsprop)."""
    return tuple(k for k in LIVE_KEYS if k != "momentum" or training.optimizer in MOMENTUM_OPTIMIZERS)


def check_live_change(training: TrainingSpec, key: str, value: Any, *, source: str | None = None) -> float:
    """The value as a float, or a UserError naming the key and what is allowed."""
    keys = live_keys(training)
    if key not in keys:
        why = f" ({training.optimizer} has no momentum)" if key == "momentum" else ""
        raise UserError(f"cannot change {key!r} while training{why}; allowed: {', '.join(keys)}", source=source,
                        key=f"training.{key}")
    return float(_FIELDS[key].check(value, source=source, key=f"training.{key}"))


def current_value(state: TrainState, key: str) -> float | None:
    """The setting as training uses it right now (None: this optimizer has no such setting)."""
    if key == "l1":
        return float(state.l1)
    group = state.optimizer.param_groups[0]
    return float(group[key]) if key in group else None


def set_value(state: TrainState, key: str, value: float) -> None:
    if key == "l1":
        state.l1 = value
        return
    for group in state.optimizer.param_groups:
        group[key] = value


def apply_due_changes(state: TrainState, control: TrainerControl, emit: Callable[[Event], None], epoch: int,
                      step: int) -> None:
    """Put the changes asked for (TrainerControl.request_change) in place before step `step` of `epoch`, and
    report each one that changed something as a SettingChanged."""
    for key, new in control.due_changes(state.global_step):
        old = current_value(state, key)
        if old is None or old == new:  # a setting this optimizer lacks, or no change: nothing happened
            continue
        set_value(state, key, new)
        emit(SettingChanged(epoch, step, state.global_step, key, old, new))
