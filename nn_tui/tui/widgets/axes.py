"""Y axes that stay narrow. plotext writes its tick labels out in full: a diverged run's loss of 1.7e25 became a
28-character label (on its log axis too), which pushed the plot off an 80-column screen. These helpers give the
charts short labels instead (1.75e+25, or 1e-3 … 1e25 on a log axis)."""

from __future__ import annotations

import math
from typing import Any


def finite(values: list[float]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def log10_values(ys: list[float]) -> list[float]:
    """log10 of each value (NaN where it has none), for a log axis drawn as a linear one with log_ticks."""
    return [math.log10(y) if y is not None and y > 0 and math.isfinite(y) else math.nan for y in ys]


def log_ticks(logs: list[float]) -> tuple[list[float], list[str]] | None:
    """Ticks for values already in log10: whole powers of ten (at most about five, 1e-3 … 1e25) over a wide
    range, 1-2-5 steps (0.1, 0.2, 0.5) over a narrow one."""
    seen = finite(logs)
    if not seen:
        return None
    lo, hi = min(seen), max(seen)
    if hi - lo >= 2:
        first, last = math.floor(lo), math.ceil(hi)
        every = max(1, math.ceil((last - first) / 4))
        ticks = list(range(first, last + 1, every))
        return [float(t) for t in ticks], [f"1e{t}" for t in ticks]
    ticks = [math.log10(m) + e for e in range(math.floor(lo) - 1, math.ceil(hi) + 1) for m in (1, 2, 5)]
    ticks = [t for t in ticks if lo - 1e-9 <= t <= hi + 1e-9] or [lo, hi]
    return ticks, [f"{10 ** t:.3g}" for t in ticks]


def short_ticks(values: list[float], count: int = 5) -> tuple[list[float], list[str]] | None:
    """Evenly spaced ticks with short labels where plotext's own would be wide: values of 1e5 and more, or a range
    ten thousand times narrower than the values. None where plotext's labels are fine."""
    seen = finite(values)
    if not seen:
        return None
    lo, hi = min(seen), max(seen)
    big = max(abs(lo), abs(hi))
    span = hi - lo
    if big < 1e5 and (span == 0 or big / span <= 1e4):
        return None
    if span == 0:
        return [lo], [f"{lo:.3g}"]
    digits = min(8, max(3, 2 + math.ceil(math.log10(big / span)))) if big else 3
    ticks = [lo + span * k / (count - 1) for k in range(count)]
    return ticks, [f"{t:.{digits}g}" for t in ticks]


def narrow_y_axis(plt: Any, values: list[float]) -> None:
    """Set short y tick labels on a plotext figure when its own would be wide (see short_ticks)."""
    ticks = short_ticks(values)
    if ticks is not None:
        plt.yticks(*ticks)
