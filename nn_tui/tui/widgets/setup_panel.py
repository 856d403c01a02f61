"""What the current run is training, in a few lines: data, network, loss and optimizer."""

from __future__ import annotations

from textual.markup import escape

from nn_tui.core.preset import Preset
from nn_tui.tui.widgets.metrics_panel import Readout, rows_markup


def network_line(preset: Preset, n_in: int | None, n_out: int | None) -> str:
    parts = [str(n_in) if n_in is not None else "?"]
    for layer in preset.layers:
        extra = "+BN" if layer.batch_norm else ""
        extra += f" d{layer.dropout:g}" if layer.dropout else ""
        parts.append(f"{layer.units} {layer.activation}{extra}")
    parts.append(str(n_out) if n_out is not None else "?")
    return " → ".join(parts)


class SetupPanel(Readout):
    def show(self, preset: Preset | None, *, n_in: int | None = None, n_out: int | None = None, parameters: int | None = None,
             running: bool = False) -> None:
        if preset is None:
            self.show_markup("")
            return
        t = preset.training
        data = preset.data
        loss = t.loss or "auto"
        optimizer = f"{t.optimizer} · lr {t.lr:g}"
        if t.momentum is not None:
            optimizer += f" · momentum {t.momentum:g}"
        if t.weight_decay:
            optimizer += f" · wd {t.weight_decay:g}"
        if t.l1:
            optimizer += f" · L1 {t.l1:g}"
        rows = [
            ("preset", escape(preset.name)),
            ("data", escape(data.dataset) + f" · batch {data.batch_size or 'all'}"),
            ("network", escape(network_line(preset, n_in, n_out))),
            ("loss", escape(loss) + (f" · {parameters:,} params" if parameters else "")),
            ("optimizer", escape(optimizer)),
            ("schedule", escape(t.scheduler) + (f" · clip {t.grad_clip:g}" if t.grad_clip else "")
             + (f" · stop after {t.early_stopping}" if t.early_stopping else "")),
            ("seed", str(preset.seed)),
        ]
        title = "this run" if running else "setup"
        if self.border_title != title:
            self.border_title = title
        self.show_markup(rows_markup(rows, 9), wraps=True)
