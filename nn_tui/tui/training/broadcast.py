"""What a controller (a run's, a sweep's) shares with the widgets that show it: the listeners it tells, each sent
its own copy of a message (none bubbles: a screen would get it twice), and a state whose changes it announces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.message import Message
from textual.message_pump import MessagePump


class Broadcaster:
    StateChanged: type[Message]  # each controller declares its own, taking the controller

    def __init__(self) -> None:
        self.listeners: list[MessagePump] = []
        self.state = "idle"

    def listen(self, listener: MessagePump) -> None:
        if listener not in self.listeners:
            self.listeners.append(listener)

    def _post(self, make: Callable[[], Any]) -> None:
        for listener in self.listeners:
            listener.post_message(make())

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._post(lambda: self.StateChanged(self))
