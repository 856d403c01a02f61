"""The Data tab: every registered dataset, what it is, its options, and a scatter preview of 2-D sets."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from nn_tui.core.datasets import CLASSIFICATION, DatasetInfo
from nn_tui.tui.widgets.data_preview import DataPreview
from nn_tui.tui.widgets.field_form import FieldForm, FieldSpec

TASK_TAGS = {"classification": "clf", "regression": "reg", None: "any"}


class DatasetList(OptionList):
    """Moving the highlight chooses the dataset, so the preview follows the cursor."""


class DatasetPanel(Horizontal):
    @dataclass
    class Chosen(Message):
        name: str

    def __init__(self, datasets: dict[str, DatasetInfo], selected: str, specs: list[FieldSpec], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.datasets = datasets
        self._current: str | None = selected
        self._specs = specs

    def compose(self) -> ComposeResult:
        options = []
        for name, info in self.datasets.items():
            tag = TASK_TAGS.get(info.task, info.task or "")
            options.append(Option(f"{escape(name)} [$text-muted]{tag}[/]", id=name))
        dataset_list = DatasetList(*options, id="dataset-list")
        dataset_list.border_title = "dataset"
        yield dataset_list
        with VerticalScroll(id="dataset-detail") as detail:
            detail.border_title = "about · options"
            yield Static("", id="dataset-info")
            yield FieldForm(self._specs, id="data-form")
        preview = DataPreview(id="preview")
        preview.border_title = "preview"
        yield preview

    def on_mount(self) -> None:
        if self._current is not None:
            self.select(self._current)

    def select(self, name: str) -> None:
        """Highlight a dataset without announcing it (it came from a preset)."""
        self._current = name
        dataset_list = self.query_one(DatasetList)
        with dataset_list.prevent(OptionList.OptionHighlighted):
            try:
                dataset_list.highlighted = dataset_list.get_option_index(name)
            except Exception:  # noqa: BLE001 - a dataset missing from the registry: leave the list as is
                pass

    async def show_options(self, specs: list[FieldSpec]) -> None:
        await self.query_one("#data-form", FieldForm).set_fields(specs)

    def show_info(self, info: DatasetInfo, features: int | None, classes: int | None, split: tuple[int, int] | None,
                  label_names: list[str] | None = None, task: str | None = None, samples: int | None = None) -> None:
        task = task or info.task
        lines = [f"[b]{escape(info.name)}[/] [$text-muted]· {escape(task or 'task set by options')} · {escape(info.source)}[/]"]
        lines.append(escape(info.description))
        facts = []
        samples = samples or info.samples
        if samples:
            facts.append(f"{samples:,} samples")
        facts.append(f"{features if features is not None else '?'} feature{'s' if features != 1 else ''}")
        if task == CLASSIFICATION:
            facts.append(f"{classes if classes is not None else '?'} classes")
        lines.append("[$text-muted]" + " · ".join(facts) + "[/]")
        if split is not None:
            lines.append(f"[$text-muted]train {split[0]:,} rows · validation {split[1]:,} rows[/]")
        if label_names and len(label_names) <= 12 and task == CLASSIFICATION:
            lines.append("[$text-muted]classes: " + escape(", ".join(label_names)) + "[/]")
        self.query_one("#dataset-info", Static).update("\n".join(lines))

    def show_preview(self, points: object, message: str = "") -> None:
        self.query_one(DataPreview).show(points, message)

    @on(OptionList.OptionHighlighted, "#dataset-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if not event.option_list.has_focus:
            return  # the list's own start-up highlight, not a choice
        name = event.option.id
        if name and name != self._current:
            self._current = name
            self.post_message(self.Chosen(name))

    @on(OptionList.OptionSelected, "#dataset-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        # Enter on a dataset moves on to its options.
        form = self.query_one("#data-form", FieldForm)
        inputs = form.query("Input, Select")
        if inputs:
            inputs.first().focus()
