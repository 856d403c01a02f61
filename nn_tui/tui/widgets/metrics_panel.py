"""The numbers of the current run: epoch, losses, accuracy or R², learning rate, speed, elapsed, ETA, status."""

from __future__ import annotations

from textual.markup import escape
from textual.widgets import Static

from nn_tui.tui.training.history import FINISHED_WORDS, RunHistory, format_number, format_seconds

STATUS_STYLES = {
    "idle": "$text-muted",
    "starting": "$text-accent",
    "training": "$text-success",
    "paused": "$text-warning",
    "stepping": "$text-warning",
    "stopping": "$text-warning",
    "completed": "$text-success",
    "stopped": "$text-warning",
    "stopped early": "$text-success",
    "diverged": "$text-error",
    "failed": "$text-error",
}


def rows_markup(rows: list[tuple[str, str]], width: int = 10) -> str:
    """Label / value lines as Textual markup (theme variables work here, unlike in Rich tables)."""
    # The separating space inside the label's span: some SVG renderers drop a space that starts a span.
    return "\n".join(f"[$text-muted]{escape(k.ljust(width))} [/]{v}" for k, v in rows)


def run_status(history: RunHistory | None, state: str) -> str:
    if history is not None and history.finished is not None:
        return FINISHED_WORDS.get(history.finished.status, history.finished.status)
    if history is not None and history.error and state not in ("training", "paused"):
        return "failed"
    return state


class Readout(Static):
    """A Static refreshed often: it asks for a (whole-screen) layout only when its line count changes."""

    _lines = -1
    _markup: str | None = None

    def show_markup(self, markup: str, *, wraps: bool = False) -> None:
        """wraps: the text may wrap, so its height is counted at the current width."""
        if markup == self._markup:
            return
        if wraps:
            width = self.content_size.width
            if width <= 0:
                lines = -1  # not laid out yet: ask for a layout
            else:
                from textual.content import Content

                plain = Content.from_markup(markup).plain
                lines = sum(max(1, -(-len(line) // width)) for line in plain.split("\n"))
        else:
            lines = markup.count("\n") + 1
        self.update(markup, layout=lines < 0 or lines != self._lines)
        self._lines, self._markup = lines, markup


class MetricsPanel(Readout):
    """Re-rendered by the training view a few times a second; cheap (a dozen short lines)."""

    def show(self, history: RunHistory | None, state: str) -> None:
        h = history
        status = run_status(h, state)
        rows = [("status", f"[b {STATUS_STYLES.get(status, '')}]{escape(status)}[/]")]
        if h is None:
            rows.append(("", "[$text-muted]press t to train[/]"))
            self.show_markup(rows_markup(rows))
            return
        total = h.epochs_total
        epoch = f"{h.epoch} / {total}" if total else "–"
        s = h.last_step
        if s and h.finished is None and s.epoch > h.epoch:
            epoch += f" [$text-muted]({100 * s.step // max(s.steps_per_epoch, 1)}% of {s.epoch})[/]"
        e = h.last_epoch
        rows.append(("epoch", epoch))
        running = s.running_loss if (s and h.finished is None and s.epoch > h.epoch) else None
        train = format_number(e.train_loss if e else None)
        if running is not None:
            train += f" [$text-muted](now {format_number(running)})[/]"
        rows.append(("train loss", train))
        rows.append(("val loss", format_number(e.val_loss if e else None)))
        if h.metric == "val_accuracy":
            value = f"{100 * e.metric_value:.1f}%" if e else "–"
            rows.append(("val acc", value))
            rows.append(("best acc", f"{100 * h.best_metric:.1f}%" if h.best_metric is not None else "–"))
        else:
            value = format_number(e.metric_value if e else None, 3)
            rows.append(("val R²", value))
            rows.append(("best R²", format_number(h.best_metric, 3)))
        rows.append(("lr", format_number(e.lr if e else None, 3)))
        speed = e.samples_per_sec if e else (s.samples_per_sec if s else None)
        rows.append(("samples/s", f"{speed:,.0f}" if speed else "–"))
        rows.append(("elapsed", format_seconds(h.elapsed())))
        rows.append(("ETA", format_seconds(h.eta()) if status in ("training", "stepping", "paused") else "–"))
        self.show_markup(rows_markup(rows))
