"""The layer stack as a table: input row, one row per hidden layer, output row; keys edit the layer under the cursor.

The table is also the live model summary: each row shows the layer's output width and parameter count.
A plain list[LayerSpec] is the source of truth; every edit re-renders the rows from it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from nn_tui.core.model.build import LayerSummary, summarize
from nn_tui.core.preset import ACTIVATIONS, MAX_LAYERS, MAX_UNITS, LayerSpec

COLUMNS = ("layer", "out", "activation", "drop", "BN", "params")


class LayerTable(DataTable):
    """Keyboard-first layer editing. Posts Changed with the new layer list after every edit."""

    BINDINGS = [
        Binding("a", "add_layer", "Add", id="layer.add", tooltip="Add a hidden layer after the cursor"),
        Binding("i", "insert_layer", "Insert", id="layer.insert", show=False, tooltip="Insert a hidden layer before the cursor"),
        Binding("d,delete", "delete_layer", "Delete", id="layer.delete"),
        Binding("enter,u", "edit_units", "Units", id="layer.units", tooltip="Type the number of units"),
        Binding("plus,equals_sign", "units(1)", "+1", id="layer.units_up", show=False),
        Binding("minus,underscore", "units(-1)", "−1", id="layer.units_down", show=False),
        Binding("asterisk", "scale_units(2)", "×2", id="layer.units_double", show=False),
        Binding("slash", "scale_units(0.5)", "÷2", id="layer.units_half", show=False),
        Binding("c", "cycle_activation(1)", "Activation", id="layer.activation", tooltip="Next activation (C: previous)"),
        Binding("C", "cycle_activation(-1)", "Activation back", id="layer.activation_back", show=False),
        Binding("o", "edit_dropout", "Dropout", id="layer.dropout", show=False),
        Binding("b", "toggle_batch_norm", "Batch norm", id="layer.batch_norm", show=False),
        Binding("shift+up,K", "move(-1)", "Move up", id="layer.move_up", show=False),
        Binding("shift+down,J", "move(1)", "Move down", id="layer.move_down", show=False),
    ]

    @dataclass
    class Changed(Message):
        table: LayerTable
        layers: list[LayerSpec]

        @property
        def control(self) -> LayerTable:
            return self.table

    @dataclass
    class EditRequested(Message):
        """Ask the surrounding stack to open a typed edit: what is "units" or "dropout"."""

        table: LayerTable
        what: str
        index: int

    @dataclass
    class Refused(Message):
        table: LayerTable
        message: str

    def __init__(self, layers: list[LayerSpec] | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.specs: list[LayerSpec] = [replace(layer) for layer in layers or []]
        self.n_in: int | None = None
        self.n_out: int | None = None
        self.loss: str = "mse"
        self.summary: list[LayerSummary] = []
        self._columns_ready = False

    class Ready(Message):
        """Mounted and showing its rows (the Network tab is composed after the first frame)."""

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name)
        self._columns_ready = True
        self.render_rows(cursor=1 if self.specs else 0)
        self.post_message(self.Ready())

    # ------------------------------------------------------------ state in, rows out

    def set_layers(self, layers: list[LayerSpec], *, cursor: int | None = None) -> None:
        self.specs = [replace(layer) for layer in layers]
        self.render_rows(cursor)

    def set_io(self, n_in: int | None, n_out: int | None, loss: str) -> None:
        if (n_in, n_out, loss) != (self.n_in, self.n_out, loss):
            self.n_in, self.n_out, self.loss = n_in, n_out, loss
            self.render_rows()

    @property
    def total_parameters(self) -> int | None:
        return sum(r.parameters for r in self.summary) if self.n_in is not None else None

    def render_rows(self, cursor: int | None = None) -> None:
        if not self._columns_ready:
            return
        row = self.cursor_row if cursor is None else cursor
        self.summary = summarize(self.n_in or 1, self.specs, self.n_out or 1, self.loss)
        known = self.n_in is not None
        self.clear()
        for i, s in enumerate(self.summary):
            self.add_row(*self._cells(i, s, known), key=str(i))
        self.move_cursor(row=max(0, min(row, len(self.summary) - 1)), animate=False)

    def _cells(self, i: int, s: LayerSummary, known: bool) -> list[Text]:
        dim = "dim"
        params = Text(f"{s.parameters:,}" if known else "?", justify="right")
        if s.kind == "input":
            return [Text("input", style=dim), Text(str(s.units) if known else "?", justify="right"), Text("features", style=dim),
                    Text(""), Text(""), Text("", justify="right")]
        if s.kind == "output":
            units = Text(str(s.units) if self.n_out is not None else "?", justify="right")
            return [Text("output", style=dim), units, Text(s.activation, style="italic"), Text(""), Text(""), params]
        layer = self.specs[i - 1]
        return [
            Text(str(i), justify="center"),
            Text(str(layer.units), justify="right", style="bold"),
            Text(layer.activation),
            Text(f"{layer.dropout:g}" if layer.dropout else "·", justify="right"),
            Text("✓" if layer.batch_norm else "·", justify="center"),
            params,
        ]

    # ------------------------------------------------------------ helpers

    @property
    def hidden_index(self) -> int | None:
        """Index into `layers` of the hidden layer under the cursor, or None on the input/output rows."""
        i = self.cursor_row - 1
        return i if 0 <= i < len(self.specs) else None

    def _changed(self, cursor: int | None = None) -> None:
        self.render_rows(cursor)
        self.post_message(self.Changed(self, [replace(layer) for layer in self.specs]))

    def _refuse(self, message: str) -> None:
        self.app.bell()
        self.post_message(self.Refused(self, message))

    def _need_hidden(self) -> int | None:
        i = self.hidden_index
        if i is None:
            what = "input layer comes from the dataset" if self.cursor_row == 0 else "output layer follows the loss"
            self._refuse(f"the {what}; move the cursor to a hidden layer (or press a to add one)")
        return i

    def _template(self) -> LayerSpec:
        i = self.hidden_index
        if i is not None:
            return LayerSpec(self.specs[i].units, self.specs[i].activation)
        if self.specs:
            return LayerSpec(self.specs[-1].units, self.specs[-1].activation)
        return LayerSpec(8, "relu")

    # ------------------------------------------------------------ actions

    def _insert_at(self, index: int) -> None:
        if len(self.specs) >= MAX_LAYERS:
            self._refuse(f"at most {MAX_LAYERS} hidden layers")
            return
        self.specs.insert(index, self._template())
        self._changed(cursor=index + 1)

    def action_add_layer(self) -> None:
        row = self.cursor_row
        self._insert_at(min(row, len(self.specs)))

    def action_insert_layer(self) -> None:
        row = self.cursor_row
        self._insert_at(len(self.specs) if row > len(self.specs) else max(row - 1, 0))

    def action_delete_layer(self) -> None:
        i = self._need_hidden()
        if i is not None:
            del self.specs[i]
            self._changed(cursor=min(i + 1, len(self.specs)) if self.specs else 0)

    def action_move(self, delta: int) -> None:
        i = self._need_hidden()
        if i is None:
            return
        j = i + delta
        if not 0 <= j < len(self.specs):
            self._refuse("already at the " + ("top" if delta < 0 else "bottom"))
            return
        self.specs[i], self.specs[j] = self.specs[j], self.specs[i]
        self._changed(cursor=j + 1)

    def set_units(self, index: int, units: int) -> None:
        self.specs[index].units = units
        self._changed()

    def set_dropout(self, index: int, dropout: float) -> None:
        self.specs[index].dropout = dropout
        self._changed()

    def action_units(self, delta: int) -> None:
        i = self._need_hidden()
        if i is not None:
            units = self.specs[i].units + delta
            if not 1 <= units <= MAX_UNITS:
                self._refuse(f"units must be from 1 to {MAX_UNITS}")
                return
            self.set_units(i, units)

    def action_scale_units(self, factor: float) -> None:
        i = self._need_hidden()
        if i is not None:
            self.set_units(i, max(1, min(MAX_UNITS, int(round(self.specs[i].units * factor)))))

    def action_cycle_activation(self, step: int) -> None:
        i = self._need_hidden()
        if i is not None:
            current = ACTIVATIONS.index(self.specs[i].activation)
            self.specs[i].activation = ACTIVATIONS[(current + step) % len(ACTIVATIONS)]
            self._changed()

    def action_toggle_batch_norm(self) -> None:
        i = self._need_hidden()
        if i is not None:
            self.specs[i].batch_norm = not self.specs[i].batch_norm
            self._changed()

    def action_edit_units(self) -> None:
        i = self._need_hidden()
        if i is not None:
            self.post_message(self.EditRequested(self, "units", i))

    def action_edit_dropout(self) -> None:
        i = self._need_hidden()
        if i is not None:
            self.post_message(self.EditRequested(self, "dropout", i))

    async def _on_click(self, event: events.Click) -> None:
        """A click on the layer already under the cursor acts on the clicked cell (DataTable only does so
        when the same cell is clicked twice)."""
        meta = event.style.meta
        row_before, column_before = self.cursor_coordinate
        await super()._on_click(event)
        event.prevent_default()  # DataTable's own handler has run (above); do not let Textual run it again
        row, column = meta.get("row"), meta.get("column")
        if row is None or column is None or row < 0 or column < 0:
            return
        if row == row_before and column != column_before:
            self._act_on_column(column)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter is bound to typing the units; a second click on the same cell acts on it."""
        event.stop()
        self._act_on_column(self.cursor_coordinate.column)

    def _act_on_column(self, index: int) -> None:
        column = COLUMNS[index] if index < len(COLUMNS) else "out"
        if column == "activation":
            self.action_cycle_activation(1)
        elif column == "dropout":
            self.action_edit_dropout()
        elif column == "BN":
            self.action_toggle_batch_norm()
        else:
            self.action_edit_units()
