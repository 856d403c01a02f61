"""The network as tutorials draw it: neurons as nodes in columns, weights as links coloured by sign and shaded
by magnitude (braille lines); nodes light up with their activations during a forward pass. Networks too big
to draw (more than 16 units in a layer or 8 hidden layers) are summarised layer by layer."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from nn_tui.tui.cells import Colors, strips_from_cells
from nn_tui.tui.widgets.picture import PictureWidget
from nn_tui.tui.widgets.insight_colors import blend, hex_of, sign_rgb

if TYPE_CHECKING:
    import numpy as np

    from nn_tui.core.inspection.forward import ForwardTrace
    from nn_tui.core.model.build import LayerSummary

MAX_DRAWN_UNITS = 16
MAX_DRAWN_HIDDEN = 8
NODE = "●"
# Braille dot bits by (x, y) inside a cell of 2 x 4 dots.
BRAILLE_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


@dataclass(frozen=True)
class NetworkPicture:
    """What the diagram draws: layer sizes and titles, and the weight matrix between each pair of columns."""

    sizes: tuple[int, ...]  # inputs, hidden layers..., outputs
    titles: tuple[str, ...]
    weights: tuple[Any, ...] | None  # numpy (out, in) per link layer; None: not trained yet, links drawn alike
    input_names: tuple[str, ...] | None = None  # written left of the input nodes when given (x1, x2, x1^2 ...)

    @property
    def drawable(self) -> bool:
        return max(self.sizes) <= MAX_DRAWN_UNITS and len(self.sizes) - 2 <= MAX_DRAWN_HIDDEN


def picture_of(model: Any, loss: str) -> NetworkPicture:
    """Read the weights of a (CPU, eval-mode) model copy."""
    from nn_tui.core.model.network import layers_of

    layers = layers_of(model)
    sizes = [layers[0].inputs] + [layer.units for layer in layers]
    head = {"bce": "sigmoid", "cross_entropy": "softmax"}.get(loss, "linear")
    titles = ["input"] + [
        (f"out {layer.units} {head}" if layer.is_output else f"h{layer.index + 1} {layer.units} {layer.activation}")
        for layer in layers
    ]
    titles[0] = f"in {sizes[0]}"
    weights = tuple(layer.linear.weight.detach().cpu().numpy().copy() for layer in layers)
    return NetworkPicture(tuple(sizes), tuple(titles), weights)


def architecture_picture(rows: list[LayerSummary], input_names: list[str] | None = None) -> NetworkPicture:
    """The network being built (the Network tab's layer rows), before it has any weights."""
    sizes = tuple(row.units for row in rows)
    titles = [f"in {sizes[0]}"] + [
        f"out {row.units} {row.activation}" if row.kind == "output" else f"h{i} {row.units} {row.activation}"
        for i, row in enumerate(rows[1:], start=1)
    ]
    names = tuple(input_names) if input_names is not None and len(input_names) == sizes[0] else None
    return NetworkPicture(sizes, tuple(titles), None, names)


def draw_network(pic: NetworkPicture, trace: ForwardTrace | None, width: int, height: int, colors: Colors) -> list[Strip]:
    """The diagram as strips: neuron by neuron when it fits, else one line per layer."""
    if pic.drawable and width >= 6 * len(pic.sizes) and height >= 6:
        return _draw_graph(pic, _node_values(trace), width, height, colors)
    return _draw_summary(pic, _node_values(trace), width, height, colors)


def _node_values(trace: ForwardTrace | None) -> list[list[float]] | None:
    if trace is None:
        return None
    return [list(trace.inputs)] + [list(layer.output) for layer in trace.layers]


def _draw_graph(pic: NetworkPicture, values, width: int, height: int, colors: Colors) -> list[Strip]:
    import numpy as np

    n_cols = len(pic.sizes)
    margin = 3
    names = pic.input_names or ()
    left = min(max((len(n) for n in names), default=0) + 2, width // 5) if names else margin
    left = max(left, margin)
    xs = [round(left + i * (width - 1 - left - margin) / (n_cols - 1)) for i in range(n_cols)]
    top, bottom = 2, height - 1  # row 0: layer titles
    avail = bottom - top
    node_y = [[top + int((i + 0.5) * avail / n) for i in range(n)] for n in pic.sizes]
    bits = np.zeros(height * width, dtype=np.int64)
    pos = np.zeros(height * width)
    neg = np.zeros(height * width)
    braille = np.array(BRAILLE_BITS)
    for gap in range(n_cols - 1):
        W = _link_weights(pic, gap)
        scale = float(np.abs(W).max()) or 1.0
        ya = np.array(node_y[gap], dtype=np.float64)
        yb = np.array(node_y[gap + 1], dtype=np.float64)
        out_idx, in_idx = np.meshgrid(np.arange(W.shape[0]), np.arange(W.shape[1]), indexing="ij")
        w = W.ravel()
        sx0, sx1 = 2 * xs[gap] + 2, 2 * xs[gap + 1] - 1  # from right of the source node to left of the target
        sy0 = 4 * ya[in_idx.ravel()] + 2
        sy1 = 4 * yb[out_idx.ravel()] + 2
        t = np.linspace(0.0, 1.0, max(int(abs(sx1 - sx0)), 1) + 1)
        px = np.broadcast_to(np.rint(sx0 + (sx1 - sx0) * t).astype(int), (len(w), len(t)))
        py = np.rint(sy0[:, None] + (sy1 - sy0)[:, None] * t[None, :]).astype(int)
        cx, cy = px // 2, py // 4
        ok = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
        flat = (cy * width + cx)[ok]
        np.bitwise_or.at(bits, flat, braille[px % 2, py % 4][ok])
        strength = np.broadcast_to((np.abs(w) / scale)[:, None], px.shape)[ok]
        positive = np.broadcast_to((w > 0)[:, None], px.shape)[ok]
        np.maximum.at(pos, flat[positive], strength[positive])
        np.maximum.at(neg, flat[~positive], strength[~positive])

    surface = np.array(colors.surface, dtype=np.float64)
    plus, minus = np.array(colors.positive, dtype=np.float64), np.array(colors.negative, dtype=np.float64)
    if pic.weights is None:  # no weights yet: every link in the same quiet colour
        plus = minus = np.array(colors.muted, dtype=np.float64)
    is_pos = pos >= neg
    s = np.where(is_pos, pos, neg)
    tone = np.where(is_pos[:, None], plus, minus)
    fg = surface + (tone - surface) * (0.2 + 0.8 * s)[:, None]
    codes = np.where(bits > 0, 0x2800 + bits, 32)
    fg = fg.reshape(height, width, 3)
    codes = codes.reshape(height, width)
    for col, (x, column_y) in enumerate(zip(xs, node_y)):
        layer_values = values[col] if values is not None and col < len(values) else None
        biggest = (max((abs(v) for v in layer_values), default=0.0) if layer_values else 0.0) or 1.0
        for i, y in enumerate(column_y):
            codes[y, x] = ord(NODE)
            if layer_values is not None and i < len(layer_values):
                v = layer_values[i]
                fg[y, x] = blend(colors.muted, colors.positive if v >= 0 else colors.negative, 0.25 + 0.75 * abs(v) / biggest)
            else:
                fg[y, x] = colors.text
    for name, y in zip(names, node_y[0]):  # right-aligned, one space before the input node
        label = name[: xs[0] - 1]
        for k, ch in enumerate(label):
            codes[y, xs[0] - 1 - len(label) + k] = ord(ch)
            fg[y, xs[0] - 1 - len(label) + k] = colors.muted
    for col, (x, title) in enumerate(zip(xs, pic.titles)):
        # A column's title stays inside its own slot, which ends one cell before the middle between it and
        # its neighbour: neighbouring titles never touch. Too long for it: on two lines (rows 0 and 1).
        lo = 0 if col == 0 else (xs[col - 1] + x) // 2 + 1
        hi = width - 1 if col == n_cols - 1 else (x + xs[col + 1]) // 2
        for row, label in enumerate(title_lines(title, hi - lo)):
            start = min(max(lo, x - len(label) // 2), hi - len(label))
            for k, ch in enumerate(label):
                codes[row, start + k] = ord(ch)
                fg[row, start + k] = colors.text
    chars = ["".join(map(chr, row)) for row in codes.tolist()]
    bg = np.broadcast_to(np.array(colors.surface, dtype=np.uint8), (height, width, 3))
    return strips_from_cells(chars, fg.round().astype(np.uint8), bg)


def title_lines(title: str, room: int) -> list[str]:
    """A column title in at most two lines of `room` cells: whole words where they fit ("out 1" over "sigmoid"),
    cut with an ellipsis only when a single word is wider than the room."""
    if room <= 0:
        return []
    if len(title) <= room:
        return [title]
    words = title.split()
    first = words[0]
    rest = words[1:]
    while rest and len(first) + 1 + len(rest[0]) <= room:
        first += " " + rest.pop(0)
    lines = [first, " ".join(rest)] if rest else [first]
    return [line if len(line) <= room else line[: room - 1] + "…" for line in lines]


def _link_weights(pic: NetworkPicture, gap: int):
    import numpy as np

    if pic.weights is None:
        return np.ones((pic.sizes[gap + 1], pic.sizes[gap]))
    return np.asarray(pic.weights[gap], dtype=np.float64)


def _draw_summary(pic: NetworkPicture, values, width: int, height: int, colors: Colors) -> list[Strip]:
    import numpy as np

    surface = RichColor.from_rgb(*colors.surface)

    def style(rgb) -> Style:
        return Style(color=RichColor.from_rgb(*rgb), bgcolor=surface)

    text, muted = style(colors.text), style(colors.muted)
    why = (f"too big to draw neuron by neuron ({max(pic.sizes)} units, {len(pic.sizes) - 2} hidden layers)"
           if not pic.drawable else "no room to draw it neuron by neuron")
    lines: list[list[tuple[str, Style]]] = [[(part, muted)] for part in
                                            textwrap.wrap(f"{why}; one line per layer:", max(width, 10))]
    for i, title in enumerate(pic.titles):
        row = [(title, text)]
        if values is not None and 0 < i < len(values) - 1 and values[i]:  # hidden layers
            v = np.asarray(values[i])
            row.append((f"   mean {v.mean():+.3f}  active {np.mean(v > 0):.0%}", muted))
        lines.append(row)
        if i < len(pic.sizes) - 1 and pic.weights is None:
            lines.append([(f"  │ {pic.sizes[i]}×{pic.sizes[i + 1]} weights", muted)])
        elif i < len(pic.sizes) - 1:
            W = np.asarray(pic.weights[i])
            share = float((W > 0).mean())
            bar = 12
            n_pos = round(bar * share)
            lines.append([
                (f"  │ W {W.shape[1]}×{W.shape[0]}  mean |w| {np.abs(W).mean():.3g}  ", muted),
                ("█" * n_pos, style(colors.positive)),
                ("█" * (bar - n_pos), style(colors.negative)),
                (f" {share:.0%} positive", muted),
            ])
    blank = Style(bgcolor=surface)
    strips = []
    for y in range(height):
        segs = [Segment(t, st) for t, st in lines[y]] if y < len(lines) else []
        strips.append(Strip(segs).crop(0, width).extend_cell_length(width, blank))
    return strips


class NetworkDiagram(PictureWidget):
    """`show(picture, trace)` draws when rendered; `show_strips(...)` takes a picture drawn off the UI thread."""

    MIN_SIZE = (10, 4)
    DEFAULT_CSS = """
    NetworkDiagram { width: 1fr; height: 1fr; background: $surface; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("no network yet", id=id)
        self.picture: NetworkPicture | None = None
        self.trace: ForwardTrace | None = None

    def show(self, picture: NetworkPicture | None, trace: ForwardTrace | None = None, message: str = "") -> None:
        self.picture = picture
        self.trace = trace
        self.message = message or self.message
        self._invalidate()

    def show_strips(self, picture: NetworkPicture, trace: ForwardTrace | None, strips: list[Strip], key: tuple) -> None:
        self.picture, self.trace = picture, trace
        self._set_strips(strips, key)

    def has_picture(self) -> bool:
        return self.picture is not None

    def draw(self, width: int, height: int, colors: Colors) -> list[Strip]:
        return draw_network(self.picture, self.trace, width, height, colors)


def legend_markup(widget: Widget, *, gradients: bool = False) -> str:
    plus, minus = hex_of(sign_rgb(widget, True)), hex_of(sign_rgb(widget, False))
    if gradients:
        return (f"[{plus}]━ +∂L/∂w[/] [{minus}]━ −∂L/∂w[/] of this sample · brighter = larger · g: weights")
    return (f"[{plus}]━ positive weight[/]  [{minus}]━ negative weight[/]  "
            "brighter = larger |w| (relative to the largest between the same two layers)")
