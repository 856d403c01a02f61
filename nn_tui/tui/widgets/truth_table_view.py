"""The truth table of a logic-gate dataset: inputs, target, the model's probability and answer, and the verdict."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from nn_tui.core.inspection.truth_table import TruthTable
from nn_tui.tui.widgets.insight_colors import hex_of
from nn_tui.tui.widgets.chart import theme_rgb


class TruthTableView(Static):
    DEFAULT_CSS = """
    TruthTableView { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.table: TruthTable | None = None

    def show(self, table: TruthTable | None, note: str = "") -> None:
        self.table = table
        if table is None:
            self.update(Text(note or "truth tables are for the and, or and xor datasets", style="dim"))
            return
        good = hex_of(theme_rgb(self, "success", "green"))
        bad = hex_of(theme_rgb(self, "error", "red"))
        t = Table(box=None, header_style="bold", pad_edge=False)
        for name in ("x1", "x2", "target", "output P(1)", "answer", ""):
            t.add_column(name, justify="right" if name else "left", no_wrap=True)
        for r in table.rows:
            t.add_row(str(r.x1), str(r.x2), str(r.target), f"{r.probability:.3f}", str(r.prediction),
                      Text("✓", style=good) if r.correct else Text("✗", style=bad))
        verdict = Text(table.verdict, style=f"bold {good if table.solved else bad}")
        parts = [Text(f"{table.gate.upper()} truth table", style="bold"), t, Text(""), verdict]
        if note:
            parts.append(Text(note, style="dim"))
        self.update(Group(*parts))
