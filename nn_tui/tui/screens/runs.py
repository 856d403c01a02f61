"""Compare runs: the runs folder as a table (preset, status, best metric, time, and a column for each setting that
differs between the selected runs), and the loss curves of the selected runs overlaid in one chart, each in its
colour with a label that tells it apart."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from nn_tui.core.run.runs_folder import RunRecord, list_runs, loss_curves
from nn_tui.tui.palette.export import export_in_background
from nn_tui.tui.palette.providers import RunsCommands
from nn_tui.tui.run_settings import column_label, differing, run_settings, value_text
from nn_tui.tui.training.history import format_seconds
from nn_tui.tui.series import thin
from nn_tui.tui.widgets.axes import log10_values, log_ticks, narrow_y_axis
from nn_tui.tui.widgets.chart import PlotWidget
from nn_tui.tui.widgets.key_footer import KeyFooter

MARK = "●"
CURVE_COLORS = ("primary", "accent", "success", "error", "secondary", "warning")


class LossOverlay(PlotWidget):
    """Loss curves of several runs in one chart: validation loss by default, training loss on `t`."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.curves: list[tuple[str, list[tuple[float, float]]]] = []
        self.which = "val_loss"
        self.log_scale = False

    def show(self, curves: list[tuple[str, list[tuple[float, float]]]]) -> None:
        self.curves = curves
        try:
            self.changed(now=True)
        except TypeError:  # an older PlotWidget without throttling
            self.changed()

    def placeholder(self) -> str | None:
        if not self.curves:
            return "select runs with space to overlay their loss curves"
        if not any(points for _, points in self.curves):
            return "no epochs recorded in these runs yet"
        return None

    def snapshot(self, width: int, height: int) -> Any:
        """UI thread: the curves thinned to about two points per column, with their colours."""
        out = []
        for i, (label, points) in enumerate(self.curves):
            if self.log_scale:
                points = [(x, y) for x, y in points if y > 0]
            if points:
                xs, ys = thin([p[0] for p in points], [p[1] for p in points], max(8, 2 * width))
                out.append((label, xs, ys, self.color(CURVE_COLORS[i % len(CURVE_COLORS)], "white")))
        return out, self.log_scale

    def draw(self, plt: Any, *args: Any) -> None:
        """Worker thread: plot the snapshot. (Also accepts the older draw(plt, width, height) call.)"""
        curves, log_scale = args[0] if len(args) == 1 else self.snapshot(*args)
        if log_scale:  # log10 on a linear axis, labelled by decade (widgets/axes.py: plotext's labels are wide)
            curves = [(label, xs, log10_values(ys), color) for label, xs, ys, color in curves]
        for label, xs, ys, color in curves:
            if len(xs) == 1:
                plt.scatter(xs, ys, label=label, color=color, marker="braille")
            else:
                plt.plot(xs, ys, label=label, color=color, marker="braille")
        values = [y for c in curves for y in c[2]]
        if log_scale:
            ticks = log_ticks(values)
            if ticks is not None:
                plt.yticks(*ticks)
        else:
            narrow_y_axis(plt, values)
        plt.xlabel("epoch")


class RunsScreen(Screen):
    """Past runs, newest first. space: select, t: training / validation loss, l: log scale, e: export script."""

    COMMANDS = {RunsCommands}
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="runs.back"),
        Binding("space", "toggle", "Select", id="runs.select"),
        Binding("o", "open_run", "Open", id="runs.open", tooltip="Open the run: its setup, curves and weights"),
        Binding("t", "which", "Train/val", id="runs.which"),
        Binding("l", "log_scale", "Log", id="runs.log"),
        Binding("e", "export_script", "Export .py", id="runs.export"),
        Binding("f5", "reload", "Reload", id="runs.reload", show=False),
    ]
    DEFAULT_CSS = """
    RunsScreen #runs-body { height: 1fr; }
    RunsScreen #runs-table { width: 3fr; height: 1fr; border: round $border-blurred; }
    RunsScreen #runs-table:focus { border: round $border; }
    RunsScreen #runs-chart { width: 2fr; height: 1fr; border: round $border-blurred; }
    RunsScreen.-narrow #runs-body { layout: vertical; }
    RunsScreen.-narrow #runs-table, RunsScreen.-narrow #runs-chart { width: 1fr; }
    RunsScreen #runs-line { height: auto; padding: 0 1; color: $text-muted; }
    """
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    def __init__(self, runs_dir: str | Path = "runs") -> None:
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.records: list[RunRecord] = []
        self.selected: list[str] = []  # run ids, in the order chosen
        self._curves: dict[str, dict[str, list[tuple[float, float]]]] = {}
        self._settings: dict[str, dict[str, Any]] = {}
        self.diff_keys: list[str] = []  # settings that differ between the selected runs: one column each

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="runs-body"):
            table = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
            table.border_title = "runs"
            yield table
            chart = LossOverlay(id="runs-chart")
            chart.border_title = "validation loss"
            yield chart
        yield Static("", id="runs-line")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.border_title = f"runs in {self.runs_dir}"
        self._add_columns(table)
        self.action_reload()
        table.focus()

    # ------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="runs-load", exit_on_error=False)
    def action_reload(self) -> None:
        records = list_runs(self.runs_dir)
        self.app.call_from_thread(self._fill, records)

    def _add_columns(self, table: DataTable) -> None:
        for key, label in (("mark", " "), ("preset", "preset"), *((f"set:{k}", column_label(k, self.diff_keys))
                                                                  for k in self.diff_keys),
                           ("status", "status"), ("best", "best"), ("epochs", "epochs"), ("time", "time"),
                           ("started", "started")):
            table.add_column(label, key=key)

    def settings_of(self, record: RunRecord) -> dict[str, Any]:
        if record.run_id not in self._settings:
            self._settings[record.run_id] = run_settings(record.path)
        return self._settings[record.run_id]

    def _fill(self, records: list[RunRecord]) -> None:
        self.records = records
        known = {r.run_id for r in records}
        self.selected = [s for s in self.selected if s in known]
        self._fill_table()

    def _fill_table(self) -> None:
        """The rows, with a column for each setting that differs between the selected runs."""
        by_id = {r.run_id: r for r in self.records}
        self.diff_keys = differing([self.settings_of(by_id[s]) for s in self.selected if s in by_id])
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        self._add_columns(table)
        records = self.records
        for r in records:
            table.add_row(*self._cells(r), key=r.run_id)
        if records:
            table.move_cursor(row=min(max(row, 0), len(records) - 1), animate=False)
        line = self.query_one("#runs-line", Static)
        if not records:
            line.update(f"no runs in {self.runs_dir} yet: train one (t on the main screen, or nn-tui run PRESET)")
        else:
            line.update(f"{len(records)} runs in {self.runs_dir} · space selects · o opens · "
                        "t training/validation loss · l log scale · e exports a PyTorch script · f5 reloads · ctrl+p for more exports")
        self._update_chart()

    def _cells(self, r: RunRecord) -> list[str]:
        metric = "acc" if r.metric == "val_accuracy" else "R²"
        best = f"{metric} {r.best_metric:.4f}" if r.best_metric is not None and math.isfinite(r.best_metric) else "–"
        started = r.started_at.replace("T", " ")[:16] if r.started_at else r.run_id[:15]
        settings = self.settings_of(r) if self.diff_keys else {}
        return [self._mark(r), r.preset, *[value_text(settings.get(k)) for k in self.diff_keys], r.status, best,
                str(r.epochs_run), format_seconds(r.seconds), started]

    def _mark(self, r: RunRecord) -> Any:
        """The selected run's dot, in its curve's colour."""
        from rich.text import Text

        if r.run_id not in self.selected:
            return " "
        index = self.selected.index(r.run_id)
        rgb = self.query_one(LossOverlay).color(CURVE_COLORS[index % len(CURVE_COLORS)], "white")
        return Text(MARK, style=f"rgb{tuple(rgb)}")

    def label_of(self, r: RunRecord, chosen: list[RunRecord]) -> str:
        """A legend label that tells the run apart: its preset; for runs of the same preset, the settings that
        differ, and the start time when even those are the same."""
        label = r.preset
        namesakes = [c for c in chosen if c.preset == r.preset]
        if len(namesakes) > 1 and self.diff_keys:
            settings = self.settings_of(r)
            label += " " + " ".join(f"{column_label(k, self.diff_keys)}={value_text(settings.get(k))}"
                                    for k in self.diff_keys[:3])
        if [self.label_base(c) for c in namesakes].count(self.label_base(r)) > 1:
            label += " " + (r.started_at[11:19] if len(r.started_at) >= 19 else r.run_id[9:15])
        return label

    def label_base(self, r: RunRecord) -> str:
        settings = self.settings_of(r) if self.diff_keys else {}
        return r.preset + "|" + "|".join(repr(settings.get(k)) for k in self.diff_keys)

    # ------------------------------------------------------------ selection and chart

    @property
    def highlighted(self) -> RunRecord | None:
        table = self.query_one(DataTable)
        if not self.records or table.cursor_row < 0 or table.cursor_row >= len(self.records):
            return None
        return self.records[table.cursor_row]

    def action_toggle(self) -> None:
        record = self.highlighted
        if record is None:
            return
        if record.run_id in self.selected:
            self.selected.remove(record.run_id)
        else:
            self.selected.append(record.run_id)
        self._fill_table()
        self._update_chart()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_toggle()

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self) -> None:
        if not self.selected:
            self._update_chart()

    def _curves_of(self, record: RunRecord) -> dict[str, list[tuple[float, float]]]:
        if record.run_id not in self._curves or record.status == "running":
            self._curves[record.run_id] = loss_curves(record.path)
        return self._curves[record.run_id]

    def _update_chart(self) -> None:
        chart = self.query_one(LossOverlay)
        by_id = {r.run_id: r for r in self.records}
        chosen = [by_id[s] for s in self.selected if s in by_id]
        if not chosen and self.highlighted is not None:
            chosen = [self.highlighted]
        curves = [(self.label_of(r, chosen), self._curves_of(r)[chart.which]) for r in chosen]
        chart.border_title = ("validation" if chart.which == "val_loss" else "training") + " loss" + (
            " (log scale)" if chart.log_scale else "")
        chart.show(curves)

    def action_which(self) -> None:
        chart = self.query_one(LossOverlay)
        chart.which = "train_loss" if chart.which == "val_loss" else "val_loss"
        self._update_chart()

    def action_log_scale(self) -> None:
        chart = self.query_one(LossOverlay)
        chart.log_scale = not chart.log_scale
        self._update_chart()

    def action_export_script(self) -> None:
        record = self.highlighted
        if record is not None:
            export_in_background(self.app, record.path, "script")

    def action_open_run(self) -> None:
        """The highlighted run as a finished run on the main screen (Train and Inside tabs, its preset as setup)."""
        from nn_tui.core.run.rundir import WEIGHTS_FILE

        record = self.highlighted
        main = getattr(self.app, "main_screen", None)
        if record is None or main is None:
            return
        if record.status == "running":
            self.notify(f"{record.run_id} is still training (or was killed): open it when it has ended",
                        severity="warning")
            return
        if not (record.path / WEIGHTS_FILE).is_file():
            self.notify(f"{record.run_id} saved no weights ({record.status})", severity="warning")
            return
        if main.run.active:
            self.notify("a run is training in the Train tab: stop it first (x there)", severity="warning")
            return
        self.app.pop_screen()
        main.open_run(record.path)

    def action_close(self) -> None:
        self.app.pop_screen()
