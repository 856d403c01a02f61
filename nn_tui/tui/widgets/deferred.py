"""A widget mounted only once the app's first frame is on the terminal.

Textual's `Lazy` mounts its widget "after the first refresh". At start-up that refresh is not painted
(the app holds screen updates until its own mount is done), so the Lazy widgets of the hidden tabs were
mounted, styled and laid out before anything appeared: about 0.2 s of the first frame. `Deferred` waits
for the app's `Ready` event instead (see NNTuiApp.after_first_frame); in any other app, or once the app
is up, it behaves as `Lazy`.
"""

from __future__ import annotations

from textual.lazy import Lazy
from textual.message import Message
from textual.widget import Widget


class Deferred(Lazy):
    class Mounted(Message):
        """Posted by the deferred widget once it is mounted in place (bubbles up to its screen)."""

    async def mount_composed_widgets(self, widgets: list[Widget]) -> None:
        parent = self.parent
        if parent is None:
            return
        assert isinstance(parent, Widget)

        async def mount() -> None:
            if self.parent is None:  # removed meanwhile (e.g. its screen was closed)
                return
            await parent.mount(self._replace_widget, after=self)
            await self.remove()
            self._replace_widget.post_message(self.Mounted())

        after_first_frame = getattr(self.app, "after_first_frame", None)
        if after_first_frame is not None:
            after_first_frame(mount)
        else:
            self.call_after_refresh(mount)
