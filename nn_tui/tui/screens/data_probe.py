"""The main screen's dataset probe: load the dataset being edited off the UI thread, a moment after the last
edit, to learn its exact shape and draw the Data tab's preview; and the network's inputs that shape gives
(the features, then the extra ones computed from them). Mixed into MainScreen."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual import work

from nn_tui.core.errors import UserError
from nn_tui.tui.messages import DataProbed
from nn_tui.tui.probe import needs_probe, probe
from nn_tui.tui.setup_specs import DataShape, known_shape
from nn_tui.tui.widgets.dataset_panel import DatasetPanel
from nn_tui.tui.widgets.field_form import FieldForm

PROBE_DELAY = 0.15  # seconds after the last edit


class DataProbe:
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
            self.shape = replace(self.shape, split=None)
            panel.show_preview(None, f"{features} features: no 2-D preview")
            return
        panel.show_preview(None, "loading preview…")
        self._probe(key, d.dataset, dict(d.options), self.preset.seed, d.test_fraction, self.preset.base_dir)

    @work(thread=True, exclusive=True, group="probe", exit_on_error=False)
    def _probe(self, key: tuple, name: str, options: dict, seed: int, test_fraction: float, base_dir: Path | None) -> None:
        r = probe(name, options, seed, test_fraction, base_dir)
        self.post_message(DataProbed(key, r.n_features, r.n_classes, r.task, r.label_names, r.split, r.points, r.error))

    def on_data_probed(self, event: DataProbed) -> None:
        if event.key != self._probe_key:
            return  # an older probe finishing late
        panel = self.query_one(DatasetPanel)
        if event.error:
            panel.show_preview(None, f"cannot load: {event.error}")
            return
        points = event.points
        self.shape = DataShape(event.n_features, event.n_classes, event.task, event.split, event.label_names)
        self._refresh_loss_choices()
        self._shape_changed()
        if points is None:
            panel.show_preview(None, f"{event.n_features} features: no 2-D preview")
        else:
            panel.show_preview(points)

    def input_names(self) -> list[str] | None:
        """The network's inputs by name: x1 ... xn, then the extra ones (x1^2 ...); None while n is unknown."""
        if self.shape.n_features is None:
            return None
        return [f"x{i}" for i in range(1, self.shape.n_features + 1)] + list(self.preset.data.extra_features)

    def _extra_features_fit(self, form: FieldForm | None, names: list[str]) -> bool:
        """Whether the extra inputs exist for this dataset's features; if not, say so beside the field."""
        from nn_tui.core.datasets.crosses import check_crosses

        try:
            check_crosses(names, self.shape.n_features)
        except UserError as exc:
            row = form.row("extra_features") if form is not None else None
            if row is not None:
                row.show_refused(exc.detail)
            return False
        return True
