"""The learning-rate finder as a modal: sweeps a copy of the setup's network in a thread worker, draws the curve
with the suggestion marked, and offers to set training.lr to it (y) or leave it (n / escape)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import get_current_worker

from nn_tui.core.errors import UserError
from nn_tui.core.inspection.lr_find import LrCurve
from nn_tui.core.preset import Preset
from nn_tui.tui.widgets.lr_curve_chart import LrCurveChart


def rounded_lr(lr: float) -> float:
    """The suggestion as a learning rate one would type: three significant digits."""
    return float(f"{lr:.3g}")


class LrFinderScreen(ModalScreen["float | None"]):
    """Dismissed with the learning rate to use, or None."""

    DEFAULT_CSS = """
    LrFinderScreen { align: center middle; }
    LrFinderScreen > Vertical {
        width: 90%; max-width: 110; height: 90%; max-height: 34;
        border: thick $primary; background: $panel; padding: 0 1;
    }
    LrFinderScreen #lr-title { text-style: bold; height: auto; }
    LrFinderScreen LrCurveChart { height: 1fr; min-height: 8; }
    LrFinderScreen #lr-answer { height: auto; margin-top: 1; }
    """
    BINDINGS = [
        Binding("y", "use", "Use it", id="lr-find.use"),
        Binding("n,escape", "close", "Close", id="lr-find.close"),
    ]

    @dataclass
    class Swept(Message):
        curve: LrCurve | None
        error: str | None = None

    def __init__(self, preset: Preset) -> None:
        super().__init__()
        self.preset = preset.copy()
        self.curve: LrCurve | None = None

    def compose(self) -> ComposeResult:
        t = self.preset.training
        with Vertical():
            yield Static(f"Learning-rate finder · {self.preset.name} · {t.optimizer}, lr now {t.lr:g}",
                         id="lr-title", markup=False)
            yield LrCurveChart(id="lr-chart")
            yield Static("training a copy of the network with a growing learning rate…  (escape: close)",
                         id="lr-answer", markup=False)

    def on_mount(self) -> None:
        self._sweep(self.preset)

    @work(thread=True, exclusive=True, group="lr-find", exit_on_error=False)
    def _sweep(self, preset: Preset) -> None:
        """Off the UI thread: load the data, sweep a fresh copy of the network (never the run's)."""
        from nn_tui.core.inspection.lr_find import find_lr
        from nn_tui.core.run.runner import prepare_run

        worker = get_current_worker()
        try:
            prepared = prepare_run(preset)
            curve = find_lr(prepared.preset, prepared.data, prepared.n_out, device=prepared.device,
                            should_stop=lambda: worker.is_cancelled)
        except UserError as exc:
            self.post_message(self.Swept(None, str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - a failed sweep is said in the modal, not a crash
            self.post_message(self.Swept(None, f"{type(exc).__name__}: {exc}"))
            return
        if not worker.is_cancelled:
            self.post_message(self.Swept(curve))

    @on(Swept)
    def _swept(self, event: Swept) -> None:
        event.stop()
        answer = self.query_one("#lr-answer", Static)
        chart = self.query_one(LrCurveChart)
        if event.curve is None:
            chart.show(None, "the sweep could not run")
            answer.update(f"could not sweep: {event.error}  (escape: close)")
            return
        self.curve = c = event.curve
        chart.show(c, "the sweep stopped before two steps")
        chart.border_title = "smoothed loss vs learning rate"
        stop = " · stopped where the loss blew up" if c.blew_up else ""
        if c.suggested_lr is None:
            answer.update(f"{len(c.lrs)} steps{stop}: too few to suggest a learning rate  (escape: close)")
        else:
            answer.update(
                f"{len(c.lrs)} steps{stop} · steepest fall of the loss at lr {c.suggested_lr:.3g} (marked)\n"
                f"Set training.lr to {rounded_lr(c.suggested_lr):g} (now {self.preset.training.lr:g})?  y: yes · n: no"
            )
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "use":
            return self.curve is not None and self.curve.suggested_lr is not None
        return True

    def action_use(self) -> None:
        if self.curve is not None and self.curve.suggested_lr is not None:
            self.dismiss(rounded_lr(self.curve.suggested_lr))

    def action_close(self) -> None:
        self.workers.cancel_group(self, "lr-find")
        self.dismiss(None)
