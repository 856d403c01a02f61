"""Training: the loop (`Trainer`), where it is (`TrainState`), what watches it (`Callback`), what it reports
(the events) and what steers it (`TrainerControl`). Importing this package does not import torch."""

from nn_tui.core.training.callbacks import Callback, EventCallback, Throttle
from nn_tui.core.training.events import (
    EpochBlock,
    EpochEnd,
    Event,
    RunError,
    RunFinished,
    RunStarted,
    SettingChanged,
    StepProgress,
    TrainerControl,
)
from nn_tui.core.training.state import TrainState

__all__ = [
    "Callback",
    "EpochBlock",
    "EpochEnd",
    "Event",
    "EventCallback",
    "RunError",
    "RunFinished",
    "RunStarted",
    "SettingChanged",
    "StepProgress",
    "Throttle",
    "TrainState",
    "TrainerControl",
]
