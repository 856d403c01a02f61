"""The confusion matrix of the validation split with the label names, and precision / recall per class."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from nn_tui.tui.widgets.insight_colors import blend, hex_of, surface_rgb
from nn_tui.tui.widgets.chart import theme_rgb

NAME_WIDTH = 12


def _short(name: str, width: int = NAME_WIDTH) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


class ConfusionMatrixView(Static):
    """`show(metrics)` with nn_tui.core.inspection.evaluate.classification_metrics output. Rows: true class; columns: predicted.
    Cells are shaded by their share of the row: a good model has a bright diagonal."""

    DEFAULT_CSS = """
    ConfusionMatrixView { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.metrics: dict[str, Any] | None = None

    def show(self, metrics: dict[str, Any] | None, note: str = "") -> None:
        self.metrics = metrics
        if metrics is None:
            self.update(Text(note or "the confusion matrix is for classification datasets", style="dim"))
            return
        labels = [str(x) for x in metrics["labels"]]
        matrix = metrics["confusion_matrix"]
        surface = surface_rgb(self)
        right = theme_rgb(self, "success", "green")
        wrong = theme_rgb(self, "error", "red")
        t = Table(box=None, header_style="bold", pad_edge=False, title_justify="left")
        t.add_column("true ╲ predicted", no_wrap=True)
        for name in labels:
            t.add_column(_short(name, 10), justify="right", no_wrap=True)
        t.add_column("recall", justify="right", no_wrap=True)
        per_class = metrics["per_class"]
        for i, (name, row) in enumerate(zip(labels, matrix)):
            total = sum(row) or 1
            cells: list[Text | str] = [_short(name)]
            for j, count in enumerate(row):
                share = count / total
                tone = right if i == j else wrong
                bg = blend(surface, tone, 0.7 * share) if count else surface
                cells.append(Text(f" {count} ", style=f"on {hex_of(bg)}"))
            cells.append(f"{per_class[i]['recall']:.2f}")
            t.add_row(*cells)
        t.add_row("precision", *[f"{c['precision']:.2f}" for c in per_class], "")
        head = Text(
            f"accuracy {metrics['accuracy']:.4f} on {sum(map(sum, matrix))} validation rows"
            + (f" · {note}" if note else ""),
            style="bold",
        )
        self.update(Group(head, Text(""), t))
