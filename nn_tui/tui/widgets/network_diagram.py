"""The network as tutorials draw it: neurons as nodes in columns, weights as links coloured by sign and shaded
by magnitude (braille lines); nodes light up with their activations during a forward pass. Networks too big
to draw (more than 16 units in a layer or 8 hidden layers) are summarised layer by layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from nn_tui.tui.insight_colors import blend, hex_of, sign_rgb, surface_rgb, text_rgb
from nn_tui.tui.widgets.chart import theme_rgb

if TYPE_CHECKING:
    import numpy as np

    from nn_tui.core.forward import ForwardTrace

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
    weights: tuple[Any, ...]  # numpy (out, in) per link layer

    @property
    def drawable(self) -> bool:
        return max(self.sizes) <= MAX_DRAWN_UNITS and len(self.sizes) - 2 <= MAX_DRAWN_HIDDEN


def picture_of(model: Any, loss: str) -> NetworkPicture:
    """Read the weights of a (CPU, eval-mode) model copy."""
    from nn_tui.core.network import layers_of

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


class NetworkDiagram(Widget):
    DEFAULT_CSS = """
    NetworkDiagram { width: 1fr; height: 1fr; background: $surface; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.picture: NetworkPicture | None = None
        self.trace: ForwardTrace | None = None
        self.message = "no network yet"
        self._strips: list[Strip] | None = None
        self._built_for: tuple | None = None
        self.builds = 0

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._invalidate())

    def show(self, picture: NetworkPicture | None, trace: ForwardTrace | None = None, message: str = "") -> None:
        self.picture = picture
        self.trace = trace
        self.message = message or self.message
        self._invalidate()

    def show_trace(self, trace: ForwardTrace | None) -> None:
        self.trace = trace
        self._invalidate()

    def _invalidate(self) -> None:
        self._strips = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        key = (width, height, self.app.theme)
        if self._strips is None or key != self._built_for:
            self._strips = self._build(width, height)
            self._built_for = key
        return self._strips[y] if y < len(self._strips) else Strip.blank(width)

    # ------------------------------------------------------------ drawing

    def _build(self, width: int, height: int) -> list[Strip]:
        pic = self.picture
        if pic is None or width < 10 or height < 4:
            lines = [Strip.blank(width, self.rich_style) for _ in range(height)]
            if height:
                lines[height // 2] = Strip([Segment(self.message[:width].center(width), Style(color="grey50"))], width)
            return lines
        self.builds += 1
        if pic.drawable and width >= 6 * len(pic.sizes) and height >= 6:
            return self._draw_graph(pic, width, height)
        return self._draw_summary(pic, width, height)

    def _node_values(self) -> list[list[float]] | None:
        t = self.trace
        if t is None:
            return None
        return [list(t.inputs)] + [list(layer.output) for layer in t.layers]

    def _draw_graph(self, pic: NetworkPicture, width: int, height: int) -> list[Strip]:
        import numpy as np

        n_cols = len(pic.sizes)
        margin = 3
        xs = [round(margin + i * (width - 1 - 2 * margin) / (n_cols - 1)) for i in range(n_cols)]
        top, bottom = 2, height - 1  # row 0: titles, row 1: spacing
        avail = bottom - top

        def ys(n: int) -> list[int]:
            return [top + int((i + 0.5) * avail / n) for i in range(n)]

        node_y = [ys(n) for n in pic.sizes]
        bits = np.zeros((height, width), dtype=np.int64)
        pos = np.zeros((height, width))
        neg = np.zeros((height, width))
        for gap, W in enumerate(pic.weights):
            W = np.asarray(W, dtype=np.float64)
            scale = float(np.abs(W).max()) or 1.0
            x0, x1 = xs[gap], xs[gap + 1]
            ya = np.array(node_y[gap], dtype=np.float64)  # inputs of this link layer
            yb = np.array(node_y[gap + 1], dtype=np.float64)
            out_idx, in_idx = np.meshgrid(np.arange(W.shape[0]), np.arange(W.shape[1]), indexing="ij")
            w = W[out_idx, in_idx].ravel()
            sx0, sx1 = 2 * x0 + 2, 2 * x1 - 1  # start right of the source node, stop left of the target
            sy0 = (4 * ya[in_idx.ravel()] + 2)
            sy1 = (4 * yb[out_idx.ravel()] + 2)
            steps = max(int(abs(sx1 - sx0)), 1)
            t = np.linspace(0.0, 1.0, steps + 1)
            px = np.rint(sx0 + (sx1 - sx0) * t).astype(int)[None, :].repeat(len(w), 0)
            py = np.rint(sy0[:, None] + (sy1 - sy0)[:, None] * t[None, :]).astype(int)
            cx, cy = px // 2, py // 4
            ok = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
            bit = np.array(BRAILLE_BITS)[px % 2, py % 4]
            flat = (cy * width + cx)[ok]
            np.bitwise_or.at(bits.reshape(-1), flat, bit[ok])
            strength = np.broadcast_to((np.abs(w) / scale)[:, None], px.shape)[ok]
            positive = np.broadcast_to((w > 0)[:, None], px.shape)[ok]
            np.maximum.at(pos.reshape(-1), flat[positive], strength[positive])
            np.maximum.at(neg.reshape(-1), flat[~positive], strength[~positive])

        surface = surface_rgb(self)
        plus, minus = sign_rgb(self, True), sign_rgb(self, False)
        text = text_rgb(self)
        muted = theme_rgb(self, "foreground-muted", "grey50")
        chars = [[" "] * width for _ in range(height)]
        colors: list[list[tuple | None]] = [[None] * width for _ in range(height)]
        for y, x in zip(*np.nonzero(bits)):
            chars[y][x] = chr(0x2800 + int(bits[y, x]))
            p, n = pos[y, x], neg[y, x]
            tone, s = (plus, p) if p >= n else (minus, n)
            colors[y][x] = blend(surface, tone, 0.2 + 0.8 * s)
        values = self._node_values()
        for col, (x, column_y) in enumerate(zip(xs, node_y)):
            layer_values = values[col] if values is not None and col < len(values) else None
            biggest = (max((abs(v) for v in layer_values), default=0.0) if layer_values else 0.0) or 1.0
            for i, y in enumerate(column_y):
                chars[y][x] = NODE
                if layer_values is not None and i < len(layer_values):
                    v = layer_values[i]
                    colors[y][x] = blend(muted, plus if v >= 0 else minus, 0.25 + 0.75 * abs(v) / biggest)
                else:
                    colors[y][x] = text
        spacing = max(4, (width - 2 * margin) // max(n_cols - 1, 1))
        for x, title in zip(xs, pic.titles):
            label = title[: spacing - 1]
            start = min(max(0, x - len(label) // 2), width - len(label))
            for k, ch in enumerate(label):
                chars[0][start + k] = ch
                colors[0][start + k] = text
        return self._strips_from(chars, colors, width)

    def _draw_summary(self, pic: NetworkPicture, width: int, height: int) -> list[Strip]:
        import numpy as np

        text = text_rgb(self)
        muted = theme_rgb(self, "foreground-muted", "grey50")
        plus, minus = sign_rgb(self, True), sign_rgb(self, False)
        lines: list[list[tuple[str, tuple | None]]] = []
        values = self._node_values()
        lines.append([(f"too big to draw neuron by neuron ({max(pic.sizes)} units); one line per layer:", muted)])
        for i, title in enumerate(pic.titles):
            row = [(title, text)]
            if values is not None and 0 < i < len(values) - 1 and values[i]:  # hidden layers
                v = np.asarray(values[i])
                row.append((f"   mean {v.mean():+.3f}  active {np.mean(v > 0):.0%}", muted))
            lines.append(row)
            if i < len(pic.weights):
                W = np.asarray(pic.weights[i])
                share = float((W > 0).mean())
                bar_len = 12
                pos_len = round(bar_len * share)
                lines.append([
                    (f"  │ W {W.shape[1]}×{W.shape[0]}  mean |w| {np.abs(W).mean():.3g}  ", muted),
                    ("█" * pos_len, plus),
                    ("█" * (bar_len - pos_len), minus),
                    (f" {share:.0%} positive", muted),
                ])
        strips = []
        for y in range(height):
            if y < len(lines):
                segs = [Segment(t, Style(color=RichColor.from_rgb(*c)) if c else None) for t, c in lines[y]]
                strips.append(Strip(segs).crop(0, width).extend_cell_length(width))
            else:
                strips.append(Strip.blank(width))
        return strips

    @staticmethod
    def _strips_from(chars: list[list[str]], colors: list[list[tuple | None]], width: int) -> list[Strip]:
        cache: dict[tuple | None, Style | None] = {None: None}
        strips = []
        for row_chars, row_colors in zip(chars, colors):
            segments: list[Segment] = []
            run: list[str] = []
            run_color: tuple | None = row_colors[0] if row_colors else None
            for ch, color in zip(row_chars, row_colors):
                if color != run_color and run:
                    segments.append(Segment("".join(run), NetworkDiagram._style(cache, run_color)))
                    run = []
                run_color = color
                run.append(ch)
            if run:
                segments.append(Segment("".join(run), NetworkDiagram._style(cache, run_color)))
            strips.append(Strip(segments, width))
        return strips

    @staticmethod
    def _style(cache: dict, color: tuple | None) -> Style | None:
        if color not in cache:
            cache[color] = Style(color=RichColor.from_rgb(*color))
        return cache[color]


def legend_markup(widget: Widget) -> str:
    plus, minus = hex_of(sign_rgb(widget, True)), hex_of(sign_rgb(widget, False))
    return (f"[{plus}]━ positive weight[/]  [{minus}]━ negative weight[/]  "
            "brighter = larger |w| (relative to the largest between the same two layers)")
