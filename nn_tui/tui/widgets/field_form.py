"""A compact form of preset fields: one line per field (label and input or choice), a short message under a refused one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from nn_tui.core.schema import Field
from nn_tui.tui.fields import InputRefused, format_value, parse_field_text


@dataclass
class FieldSpec:
    """One row of a FieldForm. `choices` makes it a drop-down of (label, value) pairs."""

    key: str
    field: Field
    value: Any
    label: str | None = None
    choices: list[tuple[str, Any]] | None = None
    disabled: bool = False
    tooltip: str | None = None
    zero_means: str | None = None  # what 0 means, e.g. "the default (1)" for CPU threads: listed under the form


class FieldRow(Horizontal):
    """A label and an input or a drop-down; while the typed text is refused, a message line follows the row."""

    BINDINGS = [Binding("escape", "revert", "Undo typing", id="field.revert", show=False)]

    DEFAULT_CSS = """
    FieldRow { height: 1; }
    FieldRow .field-label { width: 15; color: $text-muted; }
    FieldRow Input, FieldRow Select { width: 1fr; }
    FieldRow.-invalid .field-label { color: $text-error; }
    FieldForm .refused { color: $text-error; padding-left: 15; height: auto; }
    """

    def __init__(self, spec: FieldSpec) -> None:
        super().__init__(classes="field-row")
        self.spec = spec
        self.value = spec.value

    def compose(self) -> ComposeResult:
        spec = self.spec
        label = Label(spec.label or spec.key.replace("_", " "), classes="field-label")
        label.tooltip = spec.tooltip or spec.field.help or None
        yield label
        if spec.choices is not None:
            values = [v for _, v in spec.choices]
            yield Select(
                spec.choices,
                value=spec.value if spec.value in values else values[0],
                allow_blank=False,
                compact=True,
                disabled=spec.disabled,
                id=f"field-{spec.key}",
            )
        else:
            placeholder = "default" if spec.field.default is None and spec.key != "units" else ""
            yield Input(
                format_value(spec.value),
                placeholder=placeholder,
                compact=True,
                disabled=spec.disabled,
                id=f"field-{spec.key}",
                select_on_focus=True,
            )

    @property
    def refused(self) -> str | None:
        return self._refused

    _refused: str | None = None
    _note: Static | None = None  # the message line, created the first time it is needed

    def show_refused(self, message: str | None) -> None:
        """Show why the typed text is not used (None hides it). The message line is created on first use."""
        if message == self._refused:
            return
        self._refused = message
        self.set_class(message is not None, "-invalid")
        if self._note is None:
            if message is None or self.parent is None:
                return
            self._note = Static("", classes="refused", markup=False)
            self.parent.mount(self._note, after=self)
        self._note.update(message or "")
        self._note.display = message is not None

    def action_revert(self) -> None:
        """Escape: put back the value the setup is using."""
        if self.spec.choices is None:
            inp = self.query_one(Input)
            with inp.prevent(Input.Changed):
                inp.value = format_value(self.value)
        self.show_refused(None)


class FieldForm(Vertical):
    """Rows of FieldSpecs. Posts FieldForm.Changed(key, value) for every accepted edit."""

    DEFAULT_CSS = """
    FieldForm { height: auto; }
    FieldForm .zero-means { color: $text-muted; height: auto; margin-top: 1; }
    """

    @dataclass
    class Changed(Message):
        form: FieldForm
        key: str
        value: Any

        @property
        def control(self) -> FieldForm:
            return self.form

    def __init__(self, specs: list[FieldSpec] | None = None, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._specs = list(specs or [])

    def compose(self) -> ComposeResult:
        for spec in self._specs:
            yield FieldRow(spec)
        if notes := self._zero_notes():
            yield notes

    def _zero_notes(self) -> Static | None:
        """One line per field where 0 is not a count: "CPU threads 0 = the default (1)"."""
        lines = [f"{spec.label or spec.key} 0 = {spec.zero_means}" for spec in self._specs if spec.zero_means]
        return Static("\n".join(lines), classes="zero-means", markup=False) if lines else None

    async def set_fields(self, specs: list[FieldSpec]) -> None:
        """Replace every row (e.g. another dataset with other options)."""
        self._specs = list(specs)
        await self.remove_children()  # rows and their message lines
        await self.mount_all([FieldRow(spec) for spec in specs])
        if notes := self._zero_notes():
            await self.mount(notes)

    def row(self, key: str) -> FieldRow | None:
        for row in self.query(FieldRow):
            if row.spec.key == key:
                return row
        return None

    @property
    def refused(self) -> dict[str, str]:
        """Fields whose typed text is not accepted, with their messages."""
        return {row.spec.key: row.refused or "" for row in self.query(FieldRow) if row.has_class("-invalid")}

    def set_value(self, key: str, value: Any, *, choices: list[tuple[str, Any]] | None = None, disabled: bool | None = None) -> None:
        """Show a value set from elsewhere (a loaded preset, a dependent field) without posting Changed."""
        row = self.row(key)
        if row is None:
            return
        row.value = value
        row.show_refused(None)
        if row.spec.choices is not None:
            select = row.query_one(Select)
            with select.prevent(Select.Changed):
                if choices is not None:
                    row.spec.choices = choices
                    select.set_options(choices)
                values = [v for _, v in row.spec.choices]
                select.value = value if value in values else values[0]
            if disabled is not None:
                select.disabled = disabled
        else:
            inp = row.query_one(Input)
            with inp.prevent(Input.Changed):
                inp.value = format_value(value)
            if disabled is not None:
                inp.disabled = disabled

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        row = next((a for a in event.input.ancestors if isinstance(a, FieldRow)), None)
        if row is None:
            return
        try:
            value = parse_field_text(row.spec.field, event.value)
        except InputRefused as exc:
            row.show_refused(str(exc))
            return
        row.show_refused(None)
        if value != row.value:
            row.value = value
            self.post_message(self.Changed(self, row.spec.key, value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        row = next((a for a in event.input.ancestors if isinstance(a, FieldRow)), None)
        if row is not None and not row.has_class("-invalid"):
            # Show the value as it was understood (e.g. "1e-3" -> "0.001").
            with event.input.prevent(Input.Changed):
                event.input.value = format_value(row.value)

    @on(Input.Blurred)
    def _blurred(self, event: Input.Blurred) -> None:
        self._submitted(event)  # type: ignore[arg-type]

    @on(Select.Changed)
    def _chosen(self, event: Select.Changed) -> None:
        event.stop()
        row = next((a for a in event.select.ancestors if isinstance(a, FieldRow)), None)
        if row is None or event.value == row.value or event.value is Select.BLANK:
            return
        row.value = event.value
        self.post_message(self.Changed(self, row.spec.key, event.value))
