"""F1 / ?: every key of the app in one place, grouped the way the screens are."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b $text-accent]nn-tui[/]: build a neural network layer by layer, train it with PyTorch, watch it learn.

[b]Anywhere[/]
  [b]1[/] [b]2[/] [b]3[/] [b]4[/]      Data · Network · Train · Inside tabs (or click them)
  [b]t[/]            train the current setup (a new run, fresh weights)
  [b]x[/]            stop the run (it is saved as "stopped")
  [b]space[/]        pause / resume
  [b]n[/]            while paused: run exactly one more epoch
  [b]e[/]            while training: change lr, momentum, weight decay or L1 (weights kept)
  [b]r[/]            reset: clear the last run; while training, restart from fresh weights
  [b]l[/]            loss chart: linear / log scale
  [b]L[/]            learning-rate finder: loss against lr; [b]y[/] uses its suggestion
  [b]E[/]            experiments: vary settings (a list or a range), run them side by side
  [b]f2[/]           lessons; in one, [b]y[/] tries its change, [b]<[/] [b]>[/] go to the next / previous
  [b]ctrl+l[/]       in a lesson: hide or show its text
  [b]ctrl+s[/]       save the setup as a preset (.toml, runs with [i]nn-tui run FILE[/])
  [b]ctrl+o[/]       open a preset file or a bundled preset
  [b]ctrl+p[/]       command palette: open, save, bundled presets, datasets, train…
  [b]tab[/]          next field;  [b]f1[/] or [b]?[/] this help;  [b]ctrl+q[/] quit (stops a run first)

[b]Network tab: the layer table[/]
  [b]↑ ↓[/]          choose a layer
  [b]a[/] / [b]i[/]        add a hidden layer after / insert one before the cursor
  [b]d[/] or [b]delete[/]  delete the layer
  [b]shift+↑ ↓[/]    move the layer up / down (also [b]K[/] / [b]J[/])
  [b]enter[/] or [b]u[/]   type the number of units;  [b]+[/] [b]-[/] one more / fewer;  [b]*[/] [b]/[/] double / halve
  [b]c[/] / [b]C[/]        next / previous activation
  [b]o[/]            type the dropout rate (0 to 0.95)
  [b]b[/]            batch norm on / off
  mouse        click a row, then click its units, activation, dropout or BN cell

[b]Fields[/]
  Type a value: it is checked as you type, and a refused value is explained under the field.
  The setup only changes when the value is allowed. Blank means "default" where there is one.

[b]Train tab[/]
  Loss: [b]train[/] and [b]val[/] per epoch, and the [b]running[/] loss inside each epoch.
  The run folder (preset.toml, metrics.csv, model.safetensors, summary.json) is shown at the bottom.

[b]Inside tab: see inside the network[/] (updated twice a second while training; ← → switch views)
  Boundary     the predicted class over the input plane (2-feature classification), points on top;
               [b]v[/] shows the validation points too
  Health       per layer: gradient and weight norms, step size, dead / saturated units, and what to try
  Network      neurons and weights (blue +, orange −); a forward pass of one sample, neuron by neuron
               [b]\\[[/] [b]][/] previous / next sample;  [b]f[/] type your own input
               below it the backward pass: ∂L/∂z, ∂L/∂w and one chain rule;  [b]g[/] links by ∂L/∂w
  Landscape    the loss around the weights (the (w, b) plane for y = w·x + b, else a random slice)
               with the optimizer's path on it
  Truth table  and / or / xor: the four rows, the model's answers, and whether it is solved
  Confusion    true against predicted class on the validation rows

[b]Command palette[/] ([b]ctrl+p[/]): [i]Compare runs[/] (overlay loss curves of past runs) and
  [i]Export last run as[/] a PyTorch script, ONNX, TorchScript or safetensors (written to this folder).
"""


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $panel; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,q,f1,question_mark", "close", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "help · escape closes"
            yield Static(HELP)

    def action_close(self) -> None:
        self.dismiss()
