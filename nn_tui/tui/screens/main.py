"""The main screen: Data, Network and Train tabs around one Preset, the single source of truth for the setup."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, TabbedContent, TabPane

from nn_tui.core.datasets import DatasetInfo, all_datasets
from nn_tui.core.errors import UserError
from nn_tui.core.model.build import output_units
from nn_tui.core.preset.load import (
    MOMENTUM_OPTIMIZERS,
    DataSpec,
    LayerSpec,
    Preset,
    TrainingSpec,
    bundled_presets_dir,
    save_preset,
)
from nn_tui.tui.messages import DataProbed, TorchReady
from nn_tui.tui.palette.providers import NNTuiCommands
from nn_tui.tui.probe import needs_probe, probe
from nn_tui.tui.setup_specs import data_specs, effective_loss, known_shape, training_specs, valid_losses
from nn_tui.tui.widgets.dataset_panel import DatasetPanel
from nn_tui.tui.widgets.deferred import Deferred
from nn_tui.tui.widgets.field_form import FieldForm
from nn_tui.tui.widgets.insight_view import InsightView
from nn_tui.tui.widgets.layer_stack import LayerStack
from nn_tui.tui.widgets.layer_table import LayerTable
from nn_tui.tui.widgets.train_view import TrainView
from nn_tui.tui.training.controller import RunController

PROBE_DELAY = 0.15


def default_preset() -> Preset:
    """What the app opens with: a ring around a circle and one small ReLU layer (trains in seconds)."""
    return Preset(
        name="untitled",
        data=DataSpec("circles"),
        layers=[LayerSpec(8, "relu")],
        training=TrainingSpec(lr=0.03, epochs=50),
    )


class MainScreen(Screen):
    COMMANDS = Screen.COMMANDS | {NNTuiCommands}
    BINDINGS = [
        Binding("t", "train", "Train", id="run.train", tooltip="Train the current setup in a new run"),
        Binding("x", "stop", "Stop", id="run.stop"),
        Binding("space", "pause", "Pause", id="run.pause"),
        Binding("space", "resume", "Resume", id="run.resume"),
        Binding("n", "step", "Step", id="run.step", tooltip="Run exactly one more epoch"),
        Binding("r", "reset", "Reset", id="run.reset", tooltip="Clear the run, or restart it from fresh weights"),
        Binding("l", "log_scale", "Log", id="chart.log", tooltip="Loss chart: linear / log scale"),
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
        # Shape of the current dataset: from the registry at once, then exact once it is loaded.
        self.n_features: int | None = None
        self.n_classes: int | None = None
        self.data_task: str | None = None
        self._probe_key: tuple | None = None
        self._probe_timer: Timer | None = None
        self._options_memory: dict[str, dict] = {}
        self.saved_text: str | None = None  # what was last saved/opened, to tell unsaved changes
        self._split: tuple[int, int] | None = None
        self._when_mounted: list = []  # callbacks waiting for the deferred tabs (see when_mounted)
        self._offered: tuple | None = None  # the run keys the Footer offers (see run_state_changed)
        self._labels: list[str] | None = None
        self._set_shape_from_registry()

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
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
        yield Footer()

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
        from nn_tui.core.preset.load import dump_preset

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
        self._split = None
        self._labels = None
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

    def _set_shape_from_registry(self) -> None:
        info = self.dataset_info
        self.n_features, self.n_classes = known_shape(info, self.preset.data.options)
        self.data_task = info.task

    def _shape_changed(self) -> None:
        """Dataset shape or loss changed: update the layer table's input/output rows and the info text."""
        loss = effective_loss(self.preset, self.data_task, self.n_classes)
        n_out = None
        if self.data_task is not None and (self.data_task != "classification" or self.n_classes is not None or loss == "bce"):
            n_out = output_units(self.data_task, loss, self.n_classes)
        table = self.query_one_optional(LayerTable)
        if table is not None:
            table.set_io(self.n_features, n_out, loss)
            self.query_one(LayerStack).update_summary(loss, self.data_task is not None)
        self.query_one(DatasetPanel).show_info(
            self.dataset_info, self.n_features, self.n_classes, self._split, self._labels, self.data_task,
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

    # ------------------------------------------------------------ background dataset probe

    def _schedule_probe(self) -> None:
        if self._probe_timer is not None:
            self._probe_timer.stop()
        self._probe_timer = self.set_timer(PROBE_DELAY, self._start_probe)

    def _start_probe(self) -> None:
        d = self.preset.data
        key = (d.dataset, tuple(sorted(d.options.items())), self.preset.seed, d.test_fraction)
        if key == self._probe_key:
            return
        self._probe_key = key
        info = self.dataset_info
        features, classes = known_shape(info, d.options)
        panel = self.query_one(DatasetPanel)
        if not needs_probe(info, features, classes):
            self._split = None
            panel.show_preview(None, f"{features} features: no 2-D preview")
            return
        panel.show_preview(None, "loading preview…")
        self._probe(key, d.dataset, dict(d.options), self.preset.seed, d.test_fraction, self.preset.base_dir)

    @work(thread=True, exclusive=True, group="probe", exit_on_error=False)
    def _probe(self, key: tuple, name: str, options: dict, seed: int, test_fraction: float, base_dir: Path | None) -> None:
        r = probe(name, options, seed, test_fraction, base_dir)
        self.post_message(DataProbed(key, r.n_features, r.n_classes, r.task, r.label_names, r.split, r.points, r.error))

    @on(DataProbed)
    def _probed(self, event: DataProbed) -> None:
        if event.key != self._probe_key:
            return  # an older probe finishing late
        panel = self.query_one(DatasetPanel)
        if event.error:
            panel.show_preview(None, f"cannot load: {event.error}")
            return
        points, split = event.points, event.split
        self.n_features = event.n_features
        self.n_classes = event.n_classes
        self.data_task = event.task
        self._split = split
        self._labels = event.label_names
        self._refresh_loss_choices()
        self._shape_changed()
        if points is None:
            panel.show_preview(None, f"{event.n_features} features: no 2-D preview")
        else:
            panel.show_preview(points)

    # ------------------------------------------------------------ edits from the tabs

    @on(DatasetPanel.Chosen)
    async def _dataset_chosen(self, event: DatasetPanel.Chosen) -> None:
        d = self.preset.data
        if event.name == d.dataset or event.name not in self.datasets:
            return
        self._options_memory[d.dataset] = dict(d.options)
        self.preset.data = DataSpec(event.name, d.test_fraction, d.batch_size, self._options_memory.get(event.name, {}))
        self._split = None
        self._labels = None
        self._set_shape_from_registry()
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
            self._set_shape_from_registry()
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
        self.query_one(LayerStack).update_summary(effective_loss(self.preset, self.data_task, self.n_classes), self.data_task is not None)
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

    # ------------------------------------------------------------ which keys apply now

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        run = self.run
        state = run.state
        if action == "train":
            return not run.active
        if action == "stop":
            return run.active
        if action == "pause":  # also while starting: the run then starts paused
            return state in ("starting", "training")
        if action in ("resume", "step"):
            return state == "paused"
        if action == "reset":
            return run.history is not None
        if action == "log_scale":
            return self.query_one(TabbedContent).active == "tab-train"
        return True

    RUN_ACTIONS = ("train", "stop", "pause", "resume", "step", "reset", "log_scale")

    def _run_offers(self) -> tuple:
        return tuple(self.check_action(action, ()) for action in self.RUN_ACTIONS)

    def refresh_bindings(self) -> None:
        self._offered = self._run_offers()
        super().refresh_bindings()

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

    def action_train(self) -> None:
        if not self.all_mounted:
            self.when_mounted(self.action_train)
            return
        if self.run.active:
            return
        refused = self.refused_fields()
        if refused:
            self.notify("\n".join(refused), title="Fix these fields first", severity="warning")
            return
        # Show the Train tab first and start once it is drawn: laying it out while a small network trains
        # would come out of the training thread's time (the GIL), and the first frames look the same.
        self.action_show_tab("tab-train")
        preset = self.preset
        self.call_after_refresh(lambda: self.run.start(preset, io=self.setup_io()))

    def action_compare_runs(self) -> None:
        from nn_tui.tui.screens.runs import RunsScreen

        self.app.push_screen(RunsScreen(getattr(self.app, "runs_dir", "runs")))

    def resume_run(self, preset: Preset, path: Path) -> None:
        """Continue the run in folder `path` (its preset: `preset`) from its last checkpoint."""
        self.action_show_tab("tab-train")
        self.when_mounted(lambda: self.run.start(preset, resume_dir=str(path)))

    def action_stop(self) -> None:
        self.run.stop()

    def action_pause(self) -> None:
        self.run.pause()

    def action_resume(self) -> None:
        self.run.resume()

    def action_step(self) -> None:
        self.run.step()

    def action_log_scale(self) -> None:
        on_ = self.train_view.toggle_log_scale()
        self.notify(f"loss chart: {'log' if on_ else 'linear'} scale", timeout=1.5)

    @work(exclusive=True, group="reset")
    async def action_reset(self) -> None:
        run = self.run
        if not run.active:
            run.clear()
            return
        from nn_tui.tui.screens.confirm import ConfirmModal

        if await self.app.push_screen_wait(
            ConfirmModal("Stop this run and start again from fresh weights with the current setup?", yes="Restart")
        ):
            await run.stop_and_wait()
            run.start(self.preset, io=self.setup_io())

    # ------------------------------------------------------------ presets on disk

    def _saveable_path(self) -> Path | None:
        path = self.preset_path
        if path is None:
            return None
        try:
            if path.resolve().is_relative_to(bundled_presets_dir().resolve()):
                return None  # never write into the bundled presets
        except OSError:
            return None
        return path

    def action_save(self) -> None:
        path = self._saveable_path()
        if path is None:
            self.action_save_as()
        else:
            self.save_to(path)

    @work(exclusive=True, group="file")
    async def action_save_as(self) -> None:
        from nn_tui.tui.screens.confirm import ConfirmModal
        from nn_tui.tui.screens.preset_file import PresetFileModal

        name = self.preset.name if self.preset.name != "untitled" else "my-network"
        suggestion = self.preset_path.name if self._saveable_path() else f"{name}.toml"
        path = await self.app.push_screen_wait(PresetFileModal("save", suggestion))
        if not isinstance(path, Path):
            return
        if path.exists() and not await self.app.push_screen_wait(ConfirmModal(f"{path} exists. Replace it?", yes="Replace")):
            return
        if self.preset.name in ("untitled", "") or self.preset_path is None:
            self.preset.name = path.stem
        self.save_to(path)

    def save_to(self, path: Path) -> bool:
        from nn_tui.core.preset.load import dump_preset

        try:
            save_preset(self.preset, path)
        except (OSError, ValueError, TypeError) as exc:
            self.notify(f"could not save {path}: {exc}", title="Not saved", severity="error")
            return False
        self.preset_path = path
        self.saved_text = dump_preset(self.preset)
        self._update_title()
        self.notify(f"saved {path}\nrun it headless: nn-tui run {path}", title="Preset saved", timeout=4)
        return True

    @work(exclusive=True, group="file")
    async def action_open(self) -> None:
        from nn_tui.tui.screens.preset_file import PresetFileModal

        result = await self.app.push_screen_wait(PresetFileModal("open"))
        if isinstance(result, tuple):
            preset, path = result
            await self.open_preset(preset, path)

    async def open_preset(self, preset: Preset, path: Path | None) -> None:
        try:
            await self.apply_preset(preset, path)
        except UserError as exc:
            self.notify(str(exc), title="Cannot open", severity="error")
            return
        self.notify(f"opened {path}" if path else f"opened {preset.name}", timeout=2)
        self._setup_changed()

    async def choose_dataset(self, name: str) -> None:
        """From the command palette: switch dataset as if picked in the list."""
        self.query_one(DatasetPanel).select(name)
        await self._dataset_chosen(DatasetPanel.Chosen(name))
        self.action_show_tab("tab-data")
