"""The Experiments view's leaderboard: a table of trials whose column titles go on two lines ("val" over
"accuracy") when one-line titles would not fit its width, so that the last column is not pushed under the
scrollbar; `fits` says whether every column is in view."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable


def column_title(key: str) -> str:
    """A varied setting's column title: the key's last part, or "layer 1 units" for a layer's field."""
    parts = key.split(".")
    if len(parts) == 4 and parts[1] == "layers" and parts[2].isdigit():
        return f"layer {int(parts[2]) + 1} {parts[3]}"
    return parts[-1]


def two_lines(title: str) -> str:
    """The title split at the space, underscore or dot nearest its middle; a single word stays whole."""
    cuts = [i for i, ch in enumerate(title) if ch in " _."]
    if not cuts:
        return title
    cut = min(cuts, key=lambda i: abs(i - len(title) / 2))
    return f"{title[:cut]}\n{title[cut + 1:]}"


def text_width(value) -> int:
    text = value.plain if isinstance(value, Text) else str(value)
    return max((cell_len(line) for line in text.split("\n")), default=0)


class Leaderboard(DataTable):
    """`show(titles, rows)`: one-line column titles, and rows of (key, cells). Keeps the cursor's place. Posts
    `Leaderboard.Refitted` when a new size changes whether the columns fit."""

    class Refitted(Message):
        pass

    DEFAULT_CSS = """
    Leaderboard { scrollbar-size-vertical: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.titles: list[str] = []
        self.rows_shown: list[tuple[str, list]] = []
        self.fits = True

    def show(self, titles: list[str], rows: list[tuple[str, list]]) -> None:
        self.titles, self.rows_shown = list(titles), list(rows)
        self._fill()

    def on_resize(self) -> None:
        if self.titles:
            fitted = self.fits
            self._fill()
            if self.fits != fitted:
                self.post_message(self.Refitted())

    def _needed(self, titles: list[str]) -> int:
        widths = [text_width(t) for t in titles]
        for _, cells in self.rows_shown:
            widths = [max(w, text_width(c)) for w, c in zip(widths, cells)]
        return sum(widths) + 2 * self.cell_padding * len(widths)

    def _fill(self) -> None:
        # The room beside a vertical scrollbar, whether or not it shows now: a table filling up must not shift.
        room = self.size.width - self.styles.scrollbar_size_vertical
        titles = self.titles
        if self._needed(titles) > room:
            titles = [two_lines(t) for t in titles]
        self.fits = self._needed(titles) <= room or not self.size.width  # not laid out yet: nothing to say
        height = 2 if any("\n" in t for t in titles) else 1
        if [str(c.label) for c in self.columns.values()] != titles or self.header_height != height:
            self.clear(columns=True)
            self.header_height = height
            for key, title in zip(self.titles, titles):
                self.add_column(Text(title), key=key)
        row, scroll = self.cursor_row, self.scroll_y  # the place, not the trial: ranks move while trials run
        self.clear()
        for key, cells in self.rows_shown:
            self.add_row(*cells, key=key)
        if self.row_count:
            self.move_cursor(row=min(max(row, 0), self.row_count - 1), animate=False, scroll=False)
            self.scroll_to(y=scroll, animate=False, immediate=True)
