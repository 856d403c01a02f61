"""One forward pass, written out: the sample, each neuron's weighted sum and activation layer by layer,
then the prediction and the loss — the steps of a tutorial's "forward pass" section."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from nn_tui.core.inspection.forward import ForwardTrace
from nn_tui.tui.widgets.insight_colors import hex_of, sign_rgb
from nn_tui.tui.widgets.chart import theme_rgb

MAX_NEURONS = 16  # per layer; the rest are counted


class ForwardPassView(Static):
    DEFAULT_CSS = """
    ForwardPassView { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.trace: ForwardTrace | None = None

    def show(self, trace: ForwardTrace | None, source: str = "", feature_names: list[str] | None = None) -> None:
        self.trace = trace
        if trace is None:
            self.update(Text(source or "no forward pass yet", style="dim"))
            return
        plus, minus = hex_of(sign_rgb(self, True)), hex_of(sign_rgb(self, False))
        muted = hex_of(theme_rgb(self, "foreground-muted", "grey50"))
        good, bad = hex_of(theme_rgb(self, "success", "green")), hex_of(theme_rgb(self, "error", "red"))

        def signed(v: float) -> Text:
            return Text(f"{v:+.3f}", style=plus if v >= 0 else minus)

        names = list(feature_names or [f"x{i + 1}" for i in range(len(trace.inputs))])
        parts: list = []
        if source:
            parts.append(Text(source, style=muted))
        shown = list(zip(names, trace.inputs))[:MAX_NEURONS]
        parts.append(Text("input  ") + Text("  ").join(Text(f"{n}=") + signed(v) for n, v in shown)
                     + Text(f"  … {len(trace.inputs) - len(shown)} more" if len(trace.inputs) > len(shown) else ""))
        for layer in trace.layers:
            table = Table(box=None, pad_edge=False, show_header=True, header_style=muted, expand=False)
            # The one column that may wrap: its title goes on two lines ("output" over "(sigmoid)") when the pane
            # is narrow, so that no header is cut.
            table.add_column(f"{layer.name} ({layer.activation})")
            table.add_column("z = w·x + b", justify="right", no_wrap=True)
            head = "a = f(z)"
            if layer.name == "output":
                head = {"sigmoid": "P(class 1)", "softmax": "P(class)"}.get(layer.activation, "output")
            table.add_column(head, justify="right", no_wrap=True)
            for i, (z, a) in enumerate(zip(layer.weighted_sum, layer.output)):
                if i >= MAX_NEURONS:
                    table.add_row(Text(f"… {len(layer.weighted_sum) - MAX_NEURONS} more", style=muted), "", "")
                    break
                table.add_row(f"neuron {i + 1}", signed(z), signed(a) if layer.name != "output" else Text(f"{a:.3f}"))
            parts += [Text(""), table]
        verdict = Text(f"prediction {trace.prediction_label}", style="bold")
        if trace.probabilities is not None:
            verdict.append(f"  (P = {max(trace.probabilities):.3f})")
        if trace.target_label is not None:
            verdict.append(f"   target {trace.target_label}")
        if trace.correct is not None:
            verdict.append("  ✓" if trace.correct else "  ✗", style=good if trace.correct else bad)
        if trace.loss is not None:
            verdict.append(f"   loss {trace.loss:.4g}")
        parts += [Text(""), verdict]
        self.update(Group(*parts))
