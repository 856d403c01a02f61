"""Bounded curves for live charts: memory and drawing cost stay flat however long a run is."""

from __future__ import annotations

import math


def thin(xs: list[float], ys: list[float], max_points: int) -> tuple[list[float], list[float]]:
    """At most about `max_points` points, keeping each bucket's lowest and highest value so spikes survive."""
    n = len(xs)
    if n <= max_points or max_points < 4:
        return list(xs), list(ys)
    buckets = max_points // 2
    out_x: list[float] = []
    out_y: list[float] = []
    for b in range(buckets):
        lo = b * n // buckets
        hi = max((b + 1) * n // buckets, lo + 1)
        seg = range(lo, hi)
        i_min = min(seg, key=ys.__getitem__)
        i_max = max(seg, key=ys.__getitem__)
        for i in sorted({i_min, i_max}):
            out_x.append(xs[i])
            out_y.append(ys[i])
    if out_x[-1] != xs[-1]:
        out_x.append(xs[-1])
        out_y.append(ys[-1])
    return out_x, out_y


class Series:
    """An append-only curve that halves its resolution when it grows past `capacity` points.

    Appending is amortised O(1), and a chart never sees more than `capacity` points, so a
    100,000-step run costs the UI what a 1,000-step run does.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = max(8, capacity)
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.count = 0  # points ever appended
        self.last: tuple[float, float] | None = None

    def __len__(self) -> int:
        return len(self.xs)

    def append(self, x: float, y: float) -> None:
        self.count += 1
        self.last = (x, y)
        if not math.isfinite(y):
            return  # a diverged value cannot be drawn; the status line says what happened
        self.xs.append(x)
        self.ys.append(y)
        if len(self.xs) > 2 * self.capacity:
            self.xs, self.ys = thin(self.xs, self.ys, self.capacity)

    def clear(self) -> None:
        self.xs.clear()
        self.ys.clear()
        self.count = 0
        self.last = None

    def points(self, max_points: int) -> tuple[list[float], list[float]]:
        return thin(self.xs, self.ys, max_points)
