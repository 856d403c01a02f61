"""One backward pass, written out beside the forward pass: ∂L/∂z of each neuron from the output back, ∂L/∂w of
each weight, and one weight's chain rule in numbers — the steps of a tutorial's "backpropagation" section."""

from __future__ import annotations

import math

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from nn_tui.core.inspection.backward import BackwardTrace
from nn_tui.tui.widgets.chart import theme_rgb
from nn_tui.tui.widgets.insight_colors import hex_of, sign_rgb

MAX_NEURONS = 16  # rows per layer; the rest are counted
MAX_INPUTS = 3  # ∂L/∂w columns per layer (what fits in the side panel); the rest are counted


def number(v: float) -> str:
    """Gradients span many orders of magnitude: 3 decimals where they say something, else powers of ten."""
    if v == 0:
        return "0"
    return f"{v:+.3f}" if 0.01 <= abs(v) < 1000 else f"{v:+.2e}"


class BackwardPassView(Static):
    DEFAULT_CSS = """
    BackwardPassView { height: auto; padding: 0 1; margin-top: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.trace: BackwardTrace | None = None

    def show(self, trace: BackwardTrace | None, why: str = "", feature_names: list[str] | None = None) -> None:
        self.trace = trace
        muted = hex_of(theme_rgb(self, "foreground-muted", "grey50"))
        title = Text("backward pass", style="bold")
        if trace is None:
            self.update(Group(title, Text(why or "no backward pass yet", style=muted)))
            return
        plus, minus = hex_of(sign_rgb(self, True)), hex_of(sign_rgb(self, False))

        def signed(v: float) -> Text:
            if not math.isfinite(v):
                return Text("·", style=muted)
            return Text(number(v), style=plus if v >= 0 else minus)

        names = list(feature_names or [f"x{i + 1}" for i in range(len(trace.layers[0].inputs))])
        parts: list = [title + Text(f"  (output → input) loss {trace.loss:.4g}", style=muted)]
        for index in range(len(trace.layers) - 1, -1, -1):
            g = trace.layers[index]
            table = Table(box=None, pad_edge=False, show_header=True, header_style=muted, expand=False)
            table.add_column("", no_wrap=True)
            output = g.name == "output"
            if not output:
                table.add_column("∂L/∂a", justify="right", no_wrap=True)
                table.add_column("f′(z)", justify="right", no_wrap=True)
            table.add_column("∂L/∂z", justify="right", no_wrap=True)
            for i in range(len(g.dL_dz)):
                if i >= MAX_NEURONS:
                    table.add_row(Text(f"… {len(g.dL_dz) - MAX_NEURONS} more", style=muted), *[""] * (len(table.columns) - 1))
                    break
                cells = [] if output else [signed(g.dL_da[i]), Text(f"{g.f_prime[i]:.3f}")]
                table.add_row(f"neuron {i + 1}", *cells, signed(g.dL_dz[i]))
            parts += [Text(""), Text(f"{g.name} ({g.activation})", style="bold"), table,
                      self._weights(g, index, names, signed, muted)]
        if trace.chain is not None:
            parts += [Text(""), *self._chain(trace, names, signed, muted)]
        self.update(Group(*parts))

    def _weights(self, g, index: int, names: list[str], signed, muted: str) -> Table:
        """∂L/∂w of the weights into this layer: one row per neuron, one column per input."""
        sources = names if index == 0 else [f"a{k + 1}" for k in range(len(g.inputs))]
        table = Table(box=None, pad_edge=False, show_header=True, header_style=muted, expand=False)
        table.add_column("∂L/∂w", no_wrap=True, style=muted)
        for name in sources[:MAX_INPUTS]:
            table.add_column(name[:7], justify="right", no_wrap=True)
        more = len(sources) - MAX_INPUTS
        if more > 0:
            table.add_column(f"+{more}", no_wrap=True, style=muted)
        for i, row in enumerate(g.dL_dw):
            if i >= MAX_NEURONS:
                break
            cells = [signed(v) for v in row[:MAX_INPUTS]]
            table.add_row(f"n{i + 1}", *cells, *(["…"] if more > 0 else []))
        return table

    def _chain(self, trace: BackwardTrace, names: list[str], signed, muted: str) -> list[Text]:
        c = trace.chain
        first = trace.layers[c.layer_index]
        if c.layer_index == 0:
            source = names[c.input] if c.input < len(names) else f"x{c.input + 1}"
        else:
            source = f"a{c.input + 1}"  # the previous layer's neuron's output
        head = Text(f"chain rule for the weight {source} → {c.layer} neuron {c.neuron + 1}", style="bold")
        head.append(f" (largest |∂L/∂w| in {first.name})", style=muted)
        if c.dL_da is None:
            rule = Text(f"∂L/∂w = ∂L/∂z · {source}")
            numbers = Text("      = ") + signed(c.dL_dz) + Text(f" · {c.x:.3f}")
        else:
            s = " · s" if c.bn_scale is not None else ""
            rule = Text(f"∂L/∂w = ∂L/∂a · f′(z){s} · {source}")
            numbers = Text("      = ") + signed(c.dL_da) + Text(f" · {c.f_prime:.3f}")
            if c.bn_scale is not None:
                numbers += Text(f" · {c.bn_scale:.3f}")
            numbers += Text(f" · {c.x:.3f}")
        result = Text("      = ") + signed(c.dL_dw)
        lines = [head, rule, numbers, result]
        if c.dL_da is not None and len(trace.layers) > 1:
            lines.append(Text("∂L/∂a = Σ w·∂L/∂z over the next layer's neurons", style=muted))
        return lines
