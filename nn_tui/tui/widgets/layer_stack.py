"""The network editor: the layer table, a typed-edit line (units / dropout), mouse buttons, the summary line,
and a diagram of the network being built."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

from nn_tui.core.model.build import OUTPUT_HEADS
from nn_tui.core.preset import LAYER_FIELDS, LayerSpec
from nn_tui.tui.fields import InputRefused, format_value, parse_field_text
from nn_tui.tui.widgets.layer_table import LayerTable
from nn_tui.tui.widgets.network_diagram import NetworkDiagram, architecture_picture

_FIELDS = {f.name: f for f in LAYER_FIELDS}


class EditLine(Horizontal):
    """`units for hidden 2: [32]` under the table; enter applies, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="edit.cancel")]

    @dataclass
    class Done(Message):
        line: EditLine
        value: object | None  # None = cancelled

    def __init__(self) -> None:
        super().__init__(id="edit-line")
        self.what = "units"
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Label("", id="edit-label")
        yield Input(compact=True, id="edit-input", select_on_focus=True)

    def open(self, what: str, index: int, value: object) -> None:
        self.what, self.index = what, index
        self.query_one("#edit-label", Label).update(f"{what} for layer {index + 1}: ")
        self.display = True
        inp = self.query_one(Input)
        inp.value = format_value(value)
        inp.focus()

    def action_cancel(self) -> None:
        self.post_message(self.Done(self, None))

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            value = parse_field_text(_FIELDS[self.what], event.value)
        except InputRefused as exc:
            self.app.bell()
            self.screen.query_one("#layer-hint", Static).update(f"[$text-error]{exc}[/]")
            return
        self.post_message(self.Done(self, value))

    @on(Input.Blurred)
    def _blurred(self, event: Input.Blurred) -> None:
        if self.display:
            self.post_message(self.Done(self, None))

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        hint = self.screen.query_one("#layer-hint", Static)
        try:
            parse_field_text(_FIELDS[self.what], event.value)
        except InputRefused as exc:
            hint.update(f"[$text-error]{exc}[/]")
            return
        hint.update("[dim]enter to apply, escape to cancel[/]")


class LayerStack(Vertical):
    """Owns the layer table and its helpers; the screen listens for LayerTable.Changed."""

    DEFAULT_CSS = """
    LayerStack { height: 1fr; }
    LayerStack LayerTable { height: auto; max-height: 1fr; }
    LayerStack #edit-line { height: 1; display: none; }
    LayerStack #edit-line Label { width: auto; color: $text-accent; }
    LayerStack #layer-buttons { height: 1; margin-top: 1; }
    LayerStack #layer-buttons Button { margin-right: 1; min-width: 0; }
    LayerStack #layer-summary { height: auto; margin-top: 1; }
    LayerStack #layer-hint { height: auto; color: $text-muted; }
    LayerStack #build-caption { height: 1; color: $text-muted; }
    LayerStack #build-diagram { height: 1fr; }
    """

    def __init__(self, layers: list[LayerSpec], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.initial = layers

    def compose(self) -> ComposeResult:
        yield LayerTable(self.initial, id="layers")
        yield EditLine()
        with Horizontal(id="layer-buttons"):
            yield Button("+ add", id="btn-add", compact=True, tooltip="Add a layer after the cursor (a)")
            yield Button("insert", id="btn-insert", compact=True, tooltip="Insert a layer before the cursor (i)")
            yield Button("delete", id="btn-delete", compact=True, tooltip="Delete the layer (d)")
            yield Button("↑", id="btn-up", compact=True, tooltip="Move the layer up (shift+↑)")
            yield Button("↓", id="btn-down", compact=True, tooltip="Move the layer down (shift+↓)")
        yield Static("", id="layer-summary")
        yield Static("", id="layer-hint")
        yield Static("the network as built · each line is a weight (4 Inside: trained)", id="build-caption")
        yield NetworkDiagram(id="build-diagram")

    @property
    def table(self) -> LayerTable:
        return self.query_one(LayerTable)

    def update_summary(self, loss: str, task_known: bool, input_names: list[str] | None = None) -> None:
        table = self.table
        total = table.total_parameters
        hidden = len(table.specs)
        head, _ = OUTPUT_HEADS[loss]
        words = f"{hidden} hidden layer{'s' if hidden != 1 else ''} · "
        # The space inside the bold span: some SVG renderers drop a space that starts a span ("1,185trainable").
        words += f"[b]{total:,} [/b]trainable parameters" if total is not None else "parameters: loading dataset…"
        words += f"\noutput: {head}" if task_known else ""
        self.query_one("#layer-summary", Static).update(words)
        diagram = self.query_one("#build-diagram", NetworkDiagram)
        if total is None:
            diagram.show(None, message="the diagram appears once the dataset's shape is known")
        else:
            diagram.show(architecture_picture(table.summary, input_names))

    def hint(self, text: str) -> None:
        self.query_one("#layer-hint", Static).update(text)

    @on(LayerTable.EditRequested)
    def _edit(self, event: LayerTable.EditRequested) -> None:
        event.stop()
        layer = self.table.specs[event.index]
        self.query_one(EditLine).open(event.what, event.index, getattr(layer, event.what))
        self.hint("[dim]type a value; enter to apply, escape to cancel[/]")

    @on(EditLine.Done)
    def _edited(self, event: EditLine.Done) -> None:
        event.stop()
        line = event.line
        line.display = False
        table = self.table
        # call_later runs the edit on the table itself, so its Changed message bubbles past this stack
        # (Textual stops a message at the widget that caused it).
        if event.value is not None and line.index < len(table.specs):
            if line.what == "units":
                table.call_later(table.set_units, line.index, int(event.value))  # type: ignore[arg-type]
            else:
                table.call_later(table.set_dropout, line.index, float(event.value))  # type: ignore[arg-type]
        self.hint("")
        table.focus()

    @on(LayerTable.Refused)
    def _refused(self, event: LayerTable.Refused) -> None:
        event.stop()
        self.hint(f"[$text-warning]{event.message}[/]")

    @on(LayerTable.Changed)
    def _changed(self, event: LayerTable.Changed) -> None:
        self.hint("")  # the screen also handles this message (it bubbles on)

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        table = self.table
        action = {
            "btn-add": table.action_add_layer,
            "btn-insert": table.action_insert_layer,
            "btn-delete": table.action_delete_layer,
            "btn-up": lambda: table.action_move(-1),
            "btn-down": lambda: table.action_move(1),
        }.get(event.button.id or "")
        if action is not None:
            table.call_later(action)
        table.focus()
