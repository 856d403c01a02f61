"""Training health per layer: gradient and weight norms, update-to-weight ratio, dead and saturated units, verdicts."""

from __future__ import annotations

import math

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from nn_tui.core.inspection.health import HealthReport
from nn_tui.tui.widgets.insight_colors import hex_of
from nn_tui.tui.widgets.chart import theme_rgb


def _num(v: float | None) -> str:
    if v is None:
        return "–"
    if not math.isfinite(v):
        return "NaN" if math.isnan(v) else "∞"
    return f"{v:.2e}" if v != 0 and (abs(v) < 1e-2 or abs(v) >= 1e3) else f"{v:.3f}"


def _share(v: float | None) -> str:
    return "–" if v is None else f"{v:.0%}"


class HealthPanel(Static):
    """`show(report)`: one row per layer, input side first; problem cells and verdicts in warning colours."""

    DEFAULT_CSS = """
    HealthPanel { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.report: HealthReport | None = None

    def show(self, report: HealthReport | None, note: str = "") -> None:
        self.report = report
        if report is None:
            self.update(Text(note or "no health measured yet", style="dim"))
            return
        warn = hex_of(theme_rgb(self, "warning", "yellow"))
        good = hex_of(theme_rgb(self, "success", "green"))
        muted = hex_of(theme_rgb(self, "foreground-muted", "grey50"))
        table = Table(box=None, pad_edge=False, header_style="bold", expand=False)
        for name, justify in (("layer", "left"), ("act", "left"), ("units", "right"), ("‖∇W‖", "right"),
                              ("‖W‖", "right"), ("step Δ/W", "right"), ("dead", "right"), ("saturated", "right")):
            table.add_column(name, justify=justify, no_wrap=True)
        for lh in report.layers:
            flags = set(report.flags(lh.name))

            def cell(text: str, *kinds: str) -> Text:
                return Text(text, style=warn if flags & set(kinds) else "")

            table.add_row(
                cell(lh.name, "vanishing", "exploding"),
                lh.activation if lh.name != "output" else "logits",
                str(lh.units),
                cell(_num(lh.grad_norm), "vanishing", "exploding"),
                _num(lh.weight_norm),
                cell(_num(lh.update_ratio), "large_updates"),
                cell(_share(lh.dead_fraction), "dead"),
                cell(_share(lh.saturated_fraction), "saturated"),
            )
        lines = [table, Text("")]
        for v in report.verdicts:
            style = good if v.level == "ok" else warn
            lines.append(Text(("✓ " if v.level == "ok" else "! ") + v.text, style=style))
        lines.append(Text(
            "‖∇W‖ gradient norm of the layer's weights · ‖W‖ their norm · step Δ/W how much one optimizer step "
            "changes them (around 1e-3 is typical) · dead: ReLU units that never fire · saturated: sigmoid/tanh "
            "units stuck at their flat ends",
            style=muted,
        ))
        lines.append(Text(
            f"measured on a fixed sample of training rows at epoch {report.epoch}, step {report.global_step}"
            + (f" · {note}" if note else ""),
            style=muted,
        ))
        self.update(Group(*lines))
