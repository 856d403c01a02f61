"""The Inside tab's "Landscape" view: the loss around the current weights with the optimizer's path, redrawn
live as snapshots arrive. Measured in a thread worker on the snapshot's private copy of the model, only while
shown, one measurement at a time, and at most every few times the last one's cost (a big network's slice
takes a while)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from nn_tui.core.inspection.insight import InsightSnapshot
from nn_tui.tui.widgets.insight_colors import hex_of
from nn_tui.tui.widgets.landscape_map import LandscapeMap, draw_landscape, loss_levels

STEPS = 31  # grid points per axis
MIN_INTERVAL = 0.5  # seconds between measurements, at least
BUDGET = 4  # ... and at least this many times the last measurement's cost


@dataclass
class LandscapeComputed(Message):
    snapshot: InsightSnapshot
    landscape: Any
    strips: Any  # (strips, key) drawn for the map's size then
    seconds: float
    error: str | None = None


class LandscapePane(Vertical):
    DEFAULT_CSS = """
    LandscapePane { height: 1fr; }
    LandscapePane LandscapeMap { height: 1fr; }
    LandscapePane #landscape-title { height: 1; padding: 0 1; color: $text-muted; }
    LandscapePane #landscape-legend { height: 2; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snapshot: InsightSnapshot | None = None
        self.landscape = None
        self.measured: InsightSnapshot | None = None  # the snapshot shown
        self.computations = 0
        self._busy = False
        self._shown = False
        self._last = 0.0
        self._cost = 0.0
        self._timer = None

    def compose(self) -> ComposeResult:
        yield Static("", id="landscape-title", markup=False)
        yield LandscapeMap(id="landscape-map")
        yield Static("", id="landscape-legend")

    def feed(self, snapshot: InsightSnapshot | None) -> None:
        self.snapshot = snapshot
        if snapshot is None:
            self.landscape = self.measured = None
            self.query_one(LandscapeMap).show(None, "no run yet")
            self.query_one("#landscape-legend", Static).update("")
            self.query_one("#landscape-title", Static).update("")
            return
        self._maybe_measure()

    def on_show(self) -> None:
        self._shown = True
        self._maybe_measure()

    def on_hide(self) -> None:
        self._shown = False

    def on_resize(self) -> None:
        if self.landscape is not None:
            self.measured = None  # redraw at the new size
            self._maybe_measure()

    def _maybe_measure(self) -> None:
        s = self.snapshot
        if s is None or not self._shown or s is self.measured or self._busy:
            return  # a measurement in flight takes the newest snapshot when it ends
        wait = self._last + max(MIN_INTERVAL, BUDGET * self._cost) - time.monotonic()
        if wait > 0 and not s.final:
            if self._timer is None:
                self._timer = self.set_timer(wait, self._timer_fired)
            return
        board = self.query_one(LandscapeMap)
        self._busy = True
        self._measure(s, tuple(board.size), board.colors())

    def _timer_fired(self) -> None:
        self._timer = None
        self._maybe_measure()

    @work(thread=True, exclusive=True, group="landscape", exit_on_error=False)
    def _measure(self, snapshot: InsightSnapshot, size: tuple[int, int], colors) -> None:
        from nn_tui.core.inspection.landscape import loss_landscape

        t0 = time.perf_counter()
        d = snapshot.data
        try:
            scape = loss_landscape(snapshot.model, d.points_X, d.points_y, d.loss, path=snapshot.path, steps=STEPS)
            w, h = size
            strips = (draw_landscape(scape, w, h, colors), (w, h, colors)) if w >= 4 and h >= 2 else None
            error = None
        except Exception as exc:  # noqa: BLE001 - said in the view instead of crashing
            scape, strips, error = None, None, f"{type(exc).__name__}: {exc}"
        self.post_message(LandscapeComputed(snapshot, scape, strips, time.perf_counter() - t0, error))

    @on(LandscapeComputed)
    def _computed(self, event: LandscapeComputed) -> None:
        event.stop()
        self._busy = False
        self._last = time.monotonic()
        self._cost = event.seconds
        self.computations += 1
        if self.snapshot is None:  # cleared meanwhile
            return
        self.measured = event.snapshot
        board = self.query_one(LandscapeMap)
        legend = self.query_one("#landscape-legend", Static)
        if event.error:
            board.show(None, "could not measure the landscape")
            legend.update(f"[$text-error]{event.error}[/]")
        else:
            self.landscape = scape = event.landscape
            if event.strips is not None:
                board.show_strips(scape, *event.strips)
            else:
                board.show(scape)
            legend.update(self._legend(scape, board))
            self.query_one("#landscape-title", Static).update(
                "loss over the (w, b) plane of y = w·x + b" if scape.kind == "weights" else
                "loss on a 2-D slice through the weights: random filter-normalised directions α, β (Li et al. 2018)")
        if self.snapshot is not event.snapshot:
            self._maybe_measure()

    def _legend(self, scape, board: LandscapeMap) -> str:
        c = board.colors()
        low, high, now, best = (hex_of(c.positive), hex_of(c.negative), hex_of(c.class_color(1)),
                                hex_of(c.class_color(2)))
        _, edges = loss_levels(scape)
        mx, my, lowest = scape.minimum
        x, y = scape.x_label, scape.y_label
        return (f"[{low}]■ low[/] → [{high}]■ high[/] loss {edges[0]:.2g}…{edges[-1]:.2g} (log bands) · "
                f"[{now}]■ now[/] · [{best}]■ lowest {lowest:.3g} at {x}={mx:.3g} {y}={my:.3g}[/] · "
                f"path {len(scape.path)} pts · {x} {scape.xs[0]:.2g}…{scape.xs[-1]:.2g} → {y} {scape.ys[0]:.2g}…{scape.ys[-1]:.2g} ↑")
