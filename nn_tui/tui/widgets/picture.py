"""A widget showing a picture drawn as text strips: drawn once per size and theme (or handed over ready-made
from a worker thread), with a message in its place while there is nothing to draw."""

from __future__ import annotations

from textual.strip import Strip
from textual.widget import Widget

from nn_tui.tui.cells import Colors, message_strips
from nn_tui.tui.widgets.insight_colors import theme_colors


class PictureWidget(Widget):
    """Subclasses say whether there is a picture (`has_picture`), the smallest size worth drawing (`MIN_SIZE`),
    and how to draw it (`draw`)."""

    MIN_SIZE = (2, 1)

    def __init__(self, message: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.message = message
        self._strips: list[Strip] | None = None
        self._built_for: tuple | None = None
        self._colors: Colors | None = None
        self.builds = 0  # pictures drawn on the UI thread

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._invalidate(theme=True))

    def colors(self) -> Colors:
        if self._colors is None:
            self._colors = theme_colors(self)
        return self._colors

    def has_picture(self) -> bool:
        raise NotImplementedError

    def draw(self, width: int, height: int, colors: Colors) -> list[Strip]:
        raise NotImplementedError

    def _set_strips(self, strips: list[Strip], key: tuple) -> None:
        """A picture drawn elsewhere for `key` = (width, height, colors); used if the widget still has that size."""
        self._strips, self._built_for = strips, key
        self.refresh()

    def _invalidate(self, theme: bool = False) -> None:
        if theme:
            self._colors = None
        self._strips = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        shown = self.has_picture()
        key: tuple = (width, height, self.colors()) if shown else (width, height, None, self.message)
        if self._strips is None or key != self._built_for:
            if not shown or width < self.MIN_SIZE[0] or height < self.MIN_SIZE[1]:
                self._strips = message_strips(self.message, width, height)
            else:
                self.builds += 1
                self._strips = self.draw(width, height, key[2])
            self._built_for = key
        return self._strips[y] if y < len(self._strips) else Strip.blank(width)
