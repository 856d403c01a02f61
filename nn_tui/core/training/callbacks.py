"""Callbacks: how anything watches or records a run (the shape of Lightning's and Keras' callbacks).

Each hook is given the `TrainState` and the event. Hooks run on the training thread between steps, so they
must be quick, or throttle themselves with a `Throttle`. A callback stops a run cleanly by calling `stop()` on
the run's `TrainerControl`. A callback with a `state_dict()` (plain JSON data) has it saved in every checkpoint
and given back through `load_state_dict()` when the run is resumed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from typing import Any

from nn_tui.core.training.events import EpochBlock, EpochEnd, Event, RunError, RunFinished, RunStarted, SettingChanged, StepProgress
from nn_tui.core.training.state import TrainState


class Callback:
    """Override the hooks you need; the others do nothing."""

    def on_run_start(self, state: TrainState, event: RunStarted) -> None:
        pass

    def on_progress(self, state: TrainState, event: StepProgress) -> None:
        pass

    def on_epoch_end(self, state: TrainState, event: EpochEnd) -> None:
        pass

    def on_epoch_block(self, state: TrainState, block: EpochBlock) -> None:
        """Several epochs at once, from a driver training many runs together (the state is that after the last
        one). By default, on_epoch_end for each of them in order; override it where one call can do the work."""
        for event in block.events():
            self.on_epoch_end(state, event)

    def block_ends(self) -> Collection[int]:
        """Epochs after which this callback must see the run as it then stands (to stop it exactly there, or
        read its weights): a driver delivering blocks ends a block at each of them."""
        return ()

    def on_setting_change(self, state: TrainState, event: SettingChanged) -> None:
        """A setting (learning rate, momentum, weight decay, L1) was changed while training."""

    def on_run_end(self, state: TrainState, event: RunFinished) -> None:
        pass

    def on_error(self, state: TrainState, event: RunError) -> None:
        """Training raised: `event` has the message and traceback (an on_run_end with status failed follows)."""

    @property
    def state_key(self) -> str:
        """The name this callback's state is saved under in a checkpoint."""
        return type(self).__name__


class EventCallback(Callback):
    """Every event to one plain function: `Run(..., on_event=print)` is `callbacks=[EventCallback(print)]`."""

    def __init__(self, fn: Callable[[Event], None]) -> None:
        self.fn = fn

    def on_run_start(self, state: TrainState, event: RunStarted) -> None:
        self.fn(event)

    def on_progress(self, state: TrainState, event: StepProgress) -> None:
        self.fn(event)

    def on_epoch_end(self, state: TrainState, event: EpochEnd) -> None:
        self.fn(event)

    def on_setting_change(self, state: TrainState, event: SettingChanged) -> None:
        self.fn(event)

    def on_run_end(self, state: TrainState, event: RunFinished) -> None:
        self.fn(event)

    def on_error(self, state: TrainState, event: RunError) -> None:
        self.fn(event)


_HOOKS = {RunStarted: "on_run_start", StepProgress: "on_progress", EpochEnd: "on_epoch_end",
          EpochBlock: "on_epoch_block", SettingChanged: "on_setting_change", RunFinished: "on_run_end", RunError: "on_error"}


class Callbacks:
    """The callbacks of one run, called in order. Bound methods are looked up once: `on_epoch_end` runs
    thousands of times a second for a tiny full-batch network."""

    def __init__(self, state: TrainState, callbacks: Iterable[Callback] = ()) -> None:
        self.state = state
        self.items = list(callbacks)
        self._bound = {
            kind: [getattr(cb, hook) for cb in self.items if _overrides(cb, hook)] for kind, hook in _HOOKS.items()
        }
        # A callback that only has on_epoch_end gets a block as its epochs, one by one (Callback.on_epoch_block).
        self._bound[EpochBlock] = [cb.on_epoch_block for cb in self.items
                                   if _overrides(cb, "on_epoch_block") or _overrides(cb, "on_epoch_end")]

    def emit(self, event: Event) -> None:
        state = self.state
        for hook in self._bound[type(event)]:
            hook(state, event)

    def hooks(self, kind: type) -> list[Callable[[TrainState, Any], None]]:
        return self._bound[kind]

    def block_ends(self) -> set[int]:
        """Every epoch some callback must see as it stands (Callback.block_ends)."""
        return {e for cb in self.items for e in cb.block_ends()}

    def state_dicts(self) -> dict[str, Any]:
        return {cb.state_key: cb.state_dict() for cb in self.items if callable(getattr(cb, "state_dict", None))}

    def load_state_dicts(self, saved: dict[str, Any]) -> None:
        for cb in self.items:
            if cb.state_key in saved and callable(getattr(cb, "load_state_dict", None)):
                cb.load_state_dict(saved[cb.state_key])


def _overrides(cb: Callback, hook: str) -> bool:
    method = getattr(type(cb), hook, None)
    return method is not None and method is not getattr(Callback, hook)


class Throttle:
    """When a sampler may run again: `interval` seconds after the last time, stretched so that sampling takes
    at most `budget` of the wall time (a 4 ms measurement at 1% waits 0.4 s), up to 10 intervals."""

    def __init__(self, interval: float, budget: float = 0.01) -> None:
        self.interval = interval
        self.budget = budget
        self.seconds = 0.0  # time spent sampling, in total
        self._next = 0.0

    def due(self) -> bool:
        return time.monotonic() >= self._next

    def spent(self, cost: float) -> None:
        """Record one sample's cost and set the next time one is due."""
        self.seconds += cost
        gap = self.interval if self.budget <= 0 else max(self.interval, min(cost / self.budget, 10 * self.interval))
        self._next = time.monotonic() + gap
