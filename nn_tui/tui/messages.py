"""Messages posted from worker threads (and between widgets) to the screens that own the state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from nn_tui.core.model.device import DeviceReport


@dataclass
class DataProbed(Message):
    """A dataset was loaded in the background: its real shape, and a few points for the preview."""

    key: tuple
    n_features: int | None
    n_classes: int | None
    task: str | None
    label_names: list[str] | None
    split: tuple[int, int] | None = None  # (train rows, validation rows)
    points: Any = None  # (xs, ys, labels, names, kind) for the preview, or None
    error: str | None = None


@dataclass
class DeviceSampled(Message):
    report: DeviceReport


@dataclass
class TorchReady(Message):
    """torch finished importing in the background; these are the devices the user can choose."""

    devices: list[str]
