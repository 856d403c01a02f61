"""The main screen: Data, Network, Train and Inside tabs around the setup being edited — one Preset, the single
source of truth, and what is known of its data's shape (a DataShape, replaced whole). Its run keys (run_keys),
preset files (preset_file) and dataset probe (data_probe) are mixed in; the Train and Inside tabs show its
RunController."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Header, TabbedContent, TabPane

from nn_tui.core.datasets import DatasetInfo, all_datasets
from nn_tui.core.errors import UserError
from nn_tui.core.model.build import output_units
from nn_tui.core.preset import (
    MOMENTUM_OPTIMIZERS,
    DataSpec,
    LayerSpec,
    Preset,
    TrainingSpec,
)
from nn_tui.tui.lessons.keys import LessonKeys
from nn_tui.tui.messages import TorchReady
from nn_tui.tui.palette.providers import NNTuiCommands
from nn_tui.tui.screens.data_probe import DataProbe
from nn_tui.tui.screens.preset_file import PresetFiles
from nn_tui.tui.screens.run_keys import RunKeys
from nn_tui.tui.setup_specs import DataShape, data_specs, effective_loss, training_specs, valid_losses
from nn_tui.tui.widgets.dataset_panel import DatasetPanel
from nn_tui.tui.widgets.deferred import Deferred
from nn_tui.tui.widgets.field_form import FieldForm
from nn_tui.tui.widgets.insight_view import InsightView
from nn_tui.tui.widgets.key_footer import KeyFooter
from nn_tui.tui.widgets.layer_stack import LayerStack
from nn_tui.tui.widgets.layer_table import LayerTable
from nn_tui.tui.widgets.train_view import TrainView
from nn_tui.tui.training.controller import RunController



def default_preset() -> Preset:
    """What the app opens with: a ring around a circle and one small ReLU layer (trains in seconds)."""
    return Preset(
        name="untitled",
        data=DataSpec("circles"),
        layers=[LayerSpec(8, "relu")],
        training=TrainingSpec(lr=0.03, epochs=50),
    )


class MainScreen(LessonKeys, RunKeys, PresetFiles, DataProbe, Screen):
    COMMANDS = Screen.COMMANDS | {NNTuiCommands}
    BINDINGS = [
        Binding("t", "train", "Train", id="run.train", tooltip="Train the current setup in a new run"),
        Binding("x", "stop", "Stop", id="run.stop"),
        Binding("space", "pause", "Pause", id="run.pause"),
        Binding("space", "resume", "Resume", id="run.resume"),
        Binding("n", "step", "Step", id="run.step", tooltip="Run exactly one more epoch"),
        Binding("e", "adjust", "Adjust", id="run.adjust",
                tooltip="Change the learning rate, momentum, weight decay or L1 while training (weights kept)"),
        Binding("r", "reset", "Reset", id="run.reset", tooltip="Clear the run, or restart it from fresh weights"),
        Binding("l", "log_scale", "Log", id="chart.log", tooltip="Loss chart: linear / log scale"),
        Binding("L", "find_lr", "Find lr", id="tools.lr-find", show=False, tooltip="Learning-rate finder"),
        Binding("f2", "lessons", "Lessons", id="lessons.open", show=False, tooltip="The lessons path: how networks learn and fail"),
        Binding("y", "lesson_try", "Try this", id="lessons.try", tooltip="Apply the lesson's one change and run again"),
        Binding("ctrl+l", "lesson_toggle", "Lesson", id="lessons.toggle", tooltip="Hide or show the lesson's text"),
        Binding("s", "lesson_compare", "Side by side", id="lessons.compare",
                tooltip="A lesson's whole comparison in the Experiments view"),
        Binding("greater_than_sign", "lesson_next", "Next lesson", id="lessons.next", show=False),
        Binding("less_than_sign", "lesson_prev", "Prev lesson", id="lessons.prev", show=False),
        Binding("E", "app.open_experiments", "Experiments", id="tools.experiments", show=False,
                tooltip="Vary settings of this setup and run them side by side"),
        Binding("f1,question_mark", "app.help", "Help", id="app.help"),
        Binding("ctrl+s", "save", "Save", id="preset.save"),
        Binding("ctrl+o", "open", "Open", id="preset.open"),
        Binding("1", "show_tab('tab-data')", "Data", id="tab.data", show=False),
        Binding("2", "show_tab('tab-network')", "Network", id="tab.network", show=False),
        Binding("3", "show_tab('tab-train')", "Train view", id="tab.train", show=False),
        Binding("4", "show_tab('tab-inside')", "Inside", id="tab.inside", show=False),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    def __init__(self, run: RunController, preset: Preset | None = None, preset_path: Path | None = None) -> None:
        super().__init__()
        self.run = run  # the run the Train and Inside tabs show
        self.preset = preset.copy() if preset is not None else default_preset()
        self.preset_path = preset_path
        self.datasets: dict[str, DatasetInfo] = all_datasets()
        self.devices: list[str] = ["auto", "cpu"]
        self.shape = DataShape.known(self.dataset_info, self.preset.data.options)
        self._probe_key: tuple | None = None
        self._probe_timer: Timer | None = None
        self._options_memory: dict[str, dict] = {}
        self.saved_text: str | None = None  # what was last saved/opened, to tell unsaved changes
        self._when_mounted: list = []  # callbacks waiting for the deferred tabs (see when_mounted)
        self._offered: tuple | None = None  # the run keys the Footer offers (see run_state_changed)

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        with Vertical(id="main-body"):  # between the header and the footer: the tabs, and a lesson's panel
            with TabbedContent(initial="tab-data", id="tabs"):
                with TabPane("1 Data", id="tab-data"):
                    yield DatasetPanel(
                        self.datasets, self.preset.data.dataset, data_specs(self.preset, self.dataset_info), id="dataset-panel"
                    )
                with TabPane("2 Network", id="tab-network"):
                    with Deferred(Horizontal(id="network")):
                        stack = self._layer_stack = LayerStack(self.preset.layers, id="layer-stack")
                        stack.border_title = "layers · model summary"
                        yield stack
                        with VerticalScroll(id="training-box") as box:
                            box.border_title = "training"
                            yield FieldForm(
                                training_specs(self.preset, self.data_task, self.n_classes, self.devices), id="training-form"
                            )
                with TabPane("3 Train", id="tab-train"):
                    # Mounted once the first frame is painted: charts and device polling are not needed to start.
                    yield Deferred(TrainView(self.run, device_source=self.app.device_source, id="train-view"))
                with TabPane("4 Inside", id="tab-inside"):
                    yield Deferred(InsightView(self.run, id="insight-view"))
        yield KeyFooter()

    def on_mount(self) -> None:
        self.run.listen(self)
        self.query_one("#dataset-list").focus()  # arrows browse datasets from the first key on
        self._after_preset(probe=False)
        # Loading the dataset (numpy) waits for the first frame, so the screen appears at once.
        self.call_after_refresh(self._schedule_probe)

    @on(LayerTable.Ready)
    def _network_mounted(self) -> None:
        """The Network tab mounts just after the first frame: bring it up to date."""
        self._refresh_loss_choices()
        self._torch_ready(TorchReady(self.devices))
        self._shape_changed()

    def _after_preset(self, probe: bool = True) -> None:
        from nn_tui.core.preset import dump_preset

        self._shape_changed()
        self._update_title()
        self.saved_text = dump_preset(self.preset)
        if probe:
            self._schedule_probe()

    @property
    def train_view(self) -> TrainView:
        return self.query_one(TrainView)

    @property
    def train_view_if_mounted(self) -> TrainView | None:
        """None in the moment after the first frame, before the Train tab has mounted."""
        return self.query_one_optional(TrainView)

    @property
    def all_mounted(self) -> bool:
        return not self.query(Deferred)

    def when_mounted(self, callback) -> None:
        """Run `callback` now if the Network, Train and Inside tabs are mounted, else once they are: they mount
        just after the first frame, and a key pressed before that must still do what it says."""
        if self.all_mounted:
            callback()
        else:
            self._when_mounted.append(callback)

    @on(Deferred.Mounted)
    def _deferred_mounted(self, event: Deferred.Mounted) -> None:
        event.stop()
        self._setup_changed()  # the Train tab shows the setup being edited until a run starts
        self.torch_state_changed()
        if self.all_mounted:
            waiting, self._when_mounted = self._when_mounted, []
            for callback in waiting:
                callback()

    @property
    def dataset_info(self) -> DatasetInfo:
        return self.datasets[self.preset.data.dataset]

    # The data's shape, as known so far (self.shape).
    # The network's inputs: the dataset's features and the extra ones computed from them (feature crosses).
    n_features = property(lambda self: None if self.shape.n_features is None
                          else self.shape.n_features + len(self.preset.data.extra_features))
    n_classes = property(lambda self: self.shape.n_classes)
    data_task = property(lambda self: self.shape.task)

    # ------------------------------------------------------------ the preset in, the widgets out

    async def apply_preset(self, preset: Preset, path: Path | None) -> None:
        """Show a whole preset (at start, or opened from a file)."""
        if preset.data.dataset not in self.datasets:
            raise UserError(f"unknown dataset {preset.data.dataset!r}")
        self.preset = preset.copy()
        self.preset_path = path
        self._options_memory = {}
        self._set_shape_from_registry()
        panel = self.query_one(DatasetPanel)
        panel.select(self.preset.data.dataset)
        await panel.show_options(data_specs(self.preset, self.dataset_info))
        table = self.query_one_optional(LayerTable)
        if table is not None:
            table.set_layers(self.preset.layers, cursor=1 if self.preset.layers else 0)
        else:  # the Network tab is not mounted yet: it will compose from self.preset
            self._layer_stack.initial = self.preset.layers
        form = self.query_one_optional("#training-form", FieldForm)
        if form is not None:
            await form.set_fields(training_specs(self.preset, self.data_task, self.n_classes, self.devices))
        self._probe_key = None
        self._after_preset()

    def _update_title(self) -> None:
        where = f" · {self.preset_path}" if self.preset_path else ""
        loading = " · loading PyTorch…" if getattr(self.app, "torch_state", "") == "loading" else ""
        self.app.sub_title = f"{self.preset.name}{where}{loading}"

    def torch_state_changed(self) -> None:
        self._update_title()
        tv = self.query_one_optional(TrainView)
        if tv is not None:
            tv.set_torch_loading(getattr(self.app, "torch_state", "") == "loading")

    def _set_shape_from_registry(self, *, keep_loaded: bool = False) -> None:
        """The shape the registry and options tell (the split and labels of the last load kept if asked)."""
        shape = DataShape.known(self.dataset_info, self.preset.data.options)
        if keep_loaded:
            shape = replace(shape, split=self.shape.split, labels=self.shape.labels)
        self.shape = shape

    def _shape_changed(self) -> None:
        """Dataset shape or loss changed: update the layer table's input/output rows and the info text."""
        loss = effective_loss(self.preset, self.data_task, self.n_classes)
        n_out = None
        if self.data_task is not None and (self.data_task != "classification" or self.n_classes is not None or loss == "bce"):
            n_out = output_units(self.data_task, loss, self.n_classes)
        table = self.query_one_optional(LayerTable)
        if table is not None:
            table.set_io(self.n_features, n_out, loss)
            self.query_one(LayerStack).update_summary(loss, self.data_task is not None, self.input_names())
        self.query_one(DatasetPanel).show_info(
            self.dataset_info, self.shape.n_features, self.n_classes, self.shape.split, self.shape.labels, self.data_task,
            samples=self.preset.data.options.get("samples"),
        )

    def setup_io(self) -> tuple[int | None, int | None]:
        """The network's input and output sizes as the layer table shows them (None while unknown)."""
        table = self.query_one_optional(LayerTable)
        return getattr(table, "n_in", None), getattr(table, "n_out", None)

    def _setup_changed(self) -> None:
        tv = self.query_one_optional(TrainView)
        if tv is None:
            return
        tv.show_setup(self.preset, self.setup_io())
        run = self.run
        if run.active and run.run_preset is not None and self.preset != run.run_preset:
            tv.note("the setup changed since this run started: r restarts with it")
        elif run.active:
            tv.note("")

    # ------------------------------------------------------------ edits from the tabs

    @on(DatasetPanel.Chosen)
    async def _dataset_chosen(self, event: DatasetPanel.Chosen) -> None:
        d = self.preset.data
        if event.name == d.dataset or event.name not in self.datasets:
            return
        self._options_memory[d.dataset] = dict(d.options)
        self.preset.data = DataSpec(event.name, d.test_fraction, d.batch_size, self._options_memory.get(event.name, {}),
                                    list(d.extra_features))
        self._set_shape_from_registry()
        if not self._extra_features_fit(None, d.extra_features):  # the new dataset has fewer features
            self.preset.data.extra_features = []
        if self.preset.training.loss is not None and self.preset.training.loss not in valid_losses(self.data_task, self.n_classes):
            self.preset.training.loss = None
        await self.query_one(DatasetPanel).show_options(data_specs(self.preset, self.dataset_info))
        self._refresh_loss_choices()
        self._shape_changed()
        self._schedule_probe()
        self._setup_changed()

    def _refresh_loss_choices(self) -> None:
        from nn_tui.tui.setup_specs import loss_choices

        if self.preset.training.loss is not None and self.preset.training.loss not in valid_losses(self.data_task, self.n_classes):
            self.preset.training.loss = None
        form = self.query_one_optional("#training-form", FieldForm)
        if form is not None:
            form.set_value("loss", self.preset.training.loss or "auto", choices=loss_choices(self.data_task, self.n_classes))

    @on(FieldForm.Changed, "#data-form")
    def _data_field(self, event: FieldForm.Changed) -> None:
        d = self.preset.data
        key, value = event.key, event.value
        if key == "seed":
            self.preset.seed = value
        elif key == "extra_features":
            value = value or []  # a blank field: none
            if not self._extra_features_fit(event.form, value):
                return
            d.extra_features = value
            self._shape_changed()
        elif key in ("test_fraction", "batch_size"):
            setattr(d, key, value)
        else:
            options = dict(d.options)
            if value is None:
                options.pop(key, None)
            else:
                options[key] = value
            full = {**self.dataset_info.option_defaults(), **options}
            try:
                self.dataset_info.check_options(full, source=None)
            except UserError as exc:
                row = event.form.row(key)
                if row is not None:
                    row.show_refused(exc.detail)
                return
            d.options = options
            self._set_shape_from_registry(keep_loaded=True)
            self._refresh_loss_choices()
            self._shape_changed()
        self._schedule_probe()
        self._setup_changed()

    @on(FieldForm.Changed, "#training-form")
    def _training_field(self, event: FieldForm.Changed) -> None:
        t = self.preset.training
        key, value = event.key, event.value
        if key == "loss":
            t.loss = None if value == "auto" else value
            self._shape_changed()
        elif key == "optimizer":
            t.optimizer = value
            allowed = value in MOMENTUM_OPTIMIZERS
            if not allowed:
                t.momentum = None
            event.form.set_value("momentum", t.momentum, disabled=not allowed)
        else:
            setattr(t, key, value)
        self._setup_changed()

    @on(LayerTable.Changed)
    def _layers_changed(self, event: LayerTable.Changed) -> None:
        self.preset.layers = event.layers
        self.query_one(LayerStack).update_summary(effective_loss(self.preset, self.data_task, self.n_classes),
                                                  self.data_task is not None, self.input_names())
        self._setup_changed()

    @on(TorchReady)
    def _torch_ready(self, event: TorchReady) -> None:
        self.devices = event.devices
        form = self.query_one_optional("#training-form", FieldForm)
        if form is None:
            return
        choices = [(d, d) for d in self.devices]
        if self.preset.training.device not in self.devices:
            choices.append((self.preset.training.device, self.preset.training.device))
        form.set_value("device", self.preset.training.device, choices=choices)

    @on(RunController.StateChanged)
    def run_state_changed(self) -> None:
        """The run's state changed: refresh the Footer only if the run keys it offers changed. A Footer
        refresh rebuilds every key (20-60 ms here), and a starting run would pay it in its first second."""
        if self._run_offers() != self._offered:
            self.refresh_bindings()

    @on(RunController.Finished)
    def _run_finished(self, event: RunController.Finished) -> None:
        finished = event.finished
        if finished.status in ("diverged", "failed"):
            self.notify(finished.message, title=f"Run {finished.status}", severity="error", timeout=10)
        elif finished.status == "completed":
            self.notify(f"saved in {finished.run_dir}", title="Training complete", timeout=4)

    @on(RunController.StartRefused)
    def _run_refused(self, event: RunController.StartRefused) -> None:
        self.notify(event.message, title="Could not start training", severity="error", timeout=8)

    @on(RunController.Crashed)
    def _run_crashed(self, event: RunController.Crashed) -> None:
        from nn_tui.tui.screens.error import ErrorModal

        self.app.push_screen(ErrorModal("Training failed", event.error))

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    # ------------------------------------------------------------ actions

    def action_show_tab(self, tab: str) -> None:
        self.set_focus(None)  # else hiding the focused widget would drop the focus set below
        self.query_one(TabbedContent).active = tab
        focus_target = {"tab-data": "#dataset-list", "tab-network": "#layers", "tab-train": None,
                        "tab-inside": "#insight-tabs Tabs"}[tab]
        if focus_target:
            def focus() -> None:
                if self.query_one(TabbedContent).active == tab:  # unless another tab was chosen meanwhile
                    self.call_after_refresh(self.query_one(focus_target).focus)  # focusable once shown

            self.when_mounted(focus)
        else:
            self.set_focus(None)

    def refused_fields(self) -> list[str]:
        out = []
        for form in self.query(FieldForm):
            for key, message in form.refused.items():
                out.append(f"{key.replace('_', ' ')}: {message}")
        return out

    async def choose_dataset(self, name: str) -> None:
        """From the command palette: switch dataset as if picked in the list."""
        self.query_one(DatasetPanel).select(name)
        await self._dataset_chosen(DatasetPanel.Chosen(name))
        self.action_show_tab("tab-data")
