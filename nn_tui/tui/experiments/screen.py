"""The Experiments view: vary settings of the current setup (a list or a range typed into a field), run them as a
sweep, watch every trial live (overlaid curves, a leaderboard, the metric against a setting), open a trial, use
the best. The sweep runs in the app's SweepController; this screen only shows it."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Label, Static

from nn_tui.core.errors import UserError
from nn_tui.core.preset import Preset
from nn_tui.core.run.rundir import WEIGHTS_FILE
from nn_tui.core.sweep.spec import Sweep, apply_params
from nn_tui.tui.experiments.board import Board, TrialLine
from nn_tui.tui.experiments.charts import AgainstChart, OverlayChart, color
from nn_tui.tui.experiments.leaderboard import Leaderboard, column_title
from nn_tui.tui.palette.providers import ExperimentsCommands
from nn_tui.tui.experiments.vary import build_sweep, current_value, field_text, vary_fields
from nn_tui.tui.training.sweep_controller import SweepController
from nn_tui.tui.widgets.key_footer import KeyFooter

SWATCH = "●"
SHORT_STATUS = {"completed": "done", "early_stopped": "early"}  # the leaderboard's narrowest column


def shown_path(path) -> str:
    """A folder relative to the current one when it is inside it (shorter, and the same on every machine)."""
    import os

    text = os.path.relpath(path)
    return str(path) if text.startswith("..") else text


class ExperimentsScreen(Screen):
    """Many runs of the setup side by side. ctrl+r runs the typed values, ctrl+x stops, ctrl+e resumes."""

    COMMANDS = {ExperimentsCommands}
    BINDINGS = [
        Binding("escape", "back", "Back", id="experiments.back"),
        Binding("ctrl+r", "run_sweep", "Run", id="experiments.run", priority=True),
        Binding("ctrl+x", "stop_sweep", "Stop", id="experiments.stop", priority=True),
        Binding("ctrl+e", "resume_sweep", "Resume", id="experiments.resume", priority=True),
        Binding("enter", "open_trial", "Open trial", id="experiments.open", show=False,
                tooltip="Open the trial: its curves and saved weights in the Train and Inside tabs"),
        Binding("b", "use_best", "Use best", id="experiments.best"),
        Binding("v", "next_setting", "Setting", id="experiments.setting"),
        Binding("f", "toggle_setup", "Fields", id="experiments.fields"),
    ]
    DEFAULT_CSS = """
    ExperimentsScreen #exp-body { height: 1fr; }
    ExperimentsScreen #exp-setup { width: 38; height: 1fr; border: round $border-blurred; padding: 0 1; }
    ExperimentsScreen #exp-setup:focus-within { border: round $border; }
    ExperimentsScreen.-narrow #exp-setup { width: 30; }
    ExperimentsScreen #exp-setup.-hidden { display: none; }
    ExperimentsScreen .vary-row { height: 1; }
    ExperimentsScreen .vary-row Label { width: 14; color: $text-muted; }
    ExperimentsScreen .vary-row Input { width: 1fr; height: 1; border: none; padding: 0; }
    ExperimentsScreen #exp-hint { color: $text-muted; height: auto; margin-bottom: 1; }
    ExperimentsScreen #exp-results { width: 1fr; height: 1fr; }
    ExperimentsScreen #exp-charts { height: 1fr; }
    ExperimentsScreen #exp-overlay { width: 2fr; height: 1fr; border: round $border-blurred; }
    ExperimentsScreen #exp-against { width: 1fr; height: 1fr; border: round $border-blurred; }
    ExperimentsScreen.-narrow #exp-against { display: none; }
    ExperimentsScreen #exp-table { height: 1fr; border: round $border-blurred; }
    ExperimentsScreen #exp-table:focus { border: round $border; }
    ExperimentsScreen #exp-line { height: 1; padding: 0 1; color: $text-muted; }
    """
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    def __init__(self, controller: SweepController, sweep: Sweep | None = None) -> None:
        super().__init__()
        self.controller = controller
        self.loaded = sweep  # a sweep file opened here: its preset is the base, its params fill the fields
        self.board: Board | None = None
        self.against_index = 0
        controller.listen(self)

    # ------------------------------------------------------------ layout

    @property
    def base(self) -> Preset:
        if self.loaded is not None:
            return self.loaded.preset
        main = getattr(self.app, "main_screen", None)
        return main.preset if main is not None else Preset("setup")

    def compose(self) -> ComposeResult:
        base = self.base
        extra = tuple(self.loaded.spec.params) if self.loaded else ()
        self.fields = vary_fields(base, extra)
        yield Header()
        with Horizontal(id="exp-body"):
            with VerticalScroll(id="exp-setup") as setup:
                setup.border_title = "vary"
                yield Static("a list: 0.01, 0.1\na range: 1e-4..1e-1 log\n* : every choice", id="exp-hint")
                for i, f in enumerate(self.fields):
                    with Horizontal(classes="vary-row"):
                        yield Label(f.label)
                        yield Input(placeholder=self._placeholder(f, base), id=f"vary-{i}")
                for ident, label, value in (("seeds", "seeds", "1"), ("workers", "parallel", "1"),
                                            ("trials", "trials (range)", "8")):
                    with Horizontal(classes="vary-row"):
                        yield Label(label)
                        yield Input(value, id=f"exp-{ident}", type="integer")
            with Vertical(id="exp-results"):
                with Horizontal(id="exp-charts"):
                    overlay = OverlayChart(id="exp-overlay")
                    overlay.border_title = "trials"
                    yield overlay
                    against = AgainstChart(id="exp-against")
                    against.border_title = "metric by setting"
                    yield against
                table = Leaderboard(id="exp-table")
                table.border_title = "leaderboard"
                yield table
        yield Static("", id="exp-line")
        yield KeyFooter()

    def _placeholder(self, f, base: Preset) -> str:
        now = current_value(base, f.key)
        now_text = field_text([now]) if now is not None else "-"
        return f"{now_text} (" + ("|".join(f.choices) if f.choices else "a, b or lo..hi") + ")"

    def on_mount(self) -> None:
        if self.loaded is not None:
            self.fill_from(self.loaded)
        if self.board is not None:
            self._redraw()
            self.query_one(DataTable).focus()
            return
        self._show_line()
        self.query_one("#vary-0", Input).focus()

    def show_folder(self, folder) -> None:
        """A past sweep folder (nn_tui.core.sweep.folder.SweepFolder): its finished trials on the board; ctrl+e
        runs the missing ones in the same folder."""
        from nn_tui.tui.experiments.past import board_of

        self.board = board_of(folder)
        self.against_index = 0
        ctl = self.controller
        ctl.sweep_dir, ctl.status, ctl.plan = folder.sweep_dir, folder.status, None
        if self.is_mounted:
            self._redraw()  # else on_mount draws it

    def fill_from(self, sweep: Sweep) -> None:
        """Put a sweep's varied values, seeds and workers into the fields."""
        from nn_tui.core.sweep.spec import toml_value  # noqa: F401 - field_text uses the same notation

        self._loaded_params = {}
        for i, f in enumerate(self.fields):
            param = sweep.spec.params.get(f.key)
            if param is None:
                continue
            value = ({"low": param.low, "high": param.high, "log": param.log} if param.is_range
                     else list(param.values or ()))
            self._loaded_params[f.key] = (field_text(value), value)
            self.query_one(f"#vary-{i}", Input).value = field_text(value)
        self.query_one("#exp-seeds", Input).value = str(sweep.spec.seeds)
        self.query_one("#exp-workers", Input).value = str(max(1, sweep.spec.workers))
        if sweep.spec.trials:
            self.query_one("#exp-trials", Input).value = str(sweep.spec.trials)

    # ------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        ctl = self.controller
        if action == "run_sweep":
            return not ctl.active
        if action == "stop_sweep":
            return ctl.active
        if action == "resume_sweep":
            return ctl.resumable
        if action == "open_trial":
            return self.board is not None and bool(self.board.trials)
        if action == "use_best":
            return self.board is not None and self.board.best() is not None
        return True

    def texts(self) -> dict[str, str]:
        """Each field's text; `*` in a field with choices means every choice."""
        out = {}
        for i, f in enumerate(self.fields):
            text = self.query_one(f"#vary-{i}", Input).value
            out[f.key] = ", ".join(f.choices) if text.strip() == "*" and f.choices else text
        return out

    def fixed_params(self, texts: dict[str, str]) -> dict:
        """A loaded sweep's values for the fields that still show them as loaded."""
        loaded = getattr(self, "_loaded_params", {})
        return {key: value for key, (text, value) in loaded.items() if texts.get(key) == text}

    def _number(self, ident: str, default: int) -> int:
        text = self.query_one(f"#exp-{ident}", Input).value.strip()
        return int(text) if text.isdigit() and int(text) > 0 else default

    def action_run_sweep(self) -> None:
        if self.controller.active:
            return
        texts = self.texts()
        try:
            sweep = build_sweep(self.base, texts, seeds=self._number("seeds", 1),
                                workers=self._number("workers", 1), trials=self._number("trials", 8),
                                like=self.loaded, fixed=self.fixed_params(texts))
        except UserError as exc:
            self.notify(str(exc), title="Cannot run these values", severity="error")
            return
        self.board = Board(sweep)
        self.against_index = 0
        self._redraw()
        self.controller.start(sweep)
        self.query_one(DataTable).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_run_sweep()

    def action_stop_sweep(self) -> None:
        self.controller.stop()

    def action_resume_sweep(self) -> None:
        if self.controller.resume():
            self.notify(f"resuming {self.controller.sweep_dir}", timeout=2)

    def action_back(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one(DataTable).focus()
            return
        self.app.pop_screen()

    def action_toggle_setup(self) -> None:
        setup = self.query_one("#exp-setup")
        setup.set_class(not setup.has_class("-hidden"), "-hidden")
        if not setup.has_class("-hidden"):
            self.query_one("#vary-0", Input).focus()

    def action_next_setting(self) -> None:
        if self.board is not None and self.board.keys:
            self.against_index = (self.against_index + 1) % len(self.board.keys)
            self._draw_against()

    @property
    def highlighted(self) -> TrialLine | None:
        table = self.query_one(DataTable)
        if self.board is None or table.row_count == 0 or table.cursor_row < 0:
            return None
        try:
            key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        except Exception:  # noqa: BLE001 - a table being refilled
            return None
        return self.board.trials.get(int(key)) if key is not None else None

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open_trial()

    @work(exclusive=True, group="experiments-open")
    async def action_open_trial(self) -> None:
        """Open the highlighted trial's run folder as a finished run: its setup, curves and final numbers in the
        Train tab, its saved weights in the Inside tab (t there trains the setup again)."""
        # b (use best) may still be rebuilding the setup: two rebuilds at once would fight over its widgets.
        for worker in [w for w in self.workers if w.node is self and w.group == "experiments-best"]:
            if not worker.is_finished:
                try:
                    await worker.wait()
                except Exception:  # noqa: BLE001 - it failed or was cancelled: it no longer touches the setup
                    pass
        trial = self.highlighted
        if trial is None or self.board is None:
            return
        main = self.app.main_screen
        if main is None:
            return
        if trial.status == "running":
            self.notify(f"trial {trial.number} is still training: open it when it has ended", severity="warning")
            return
        if not trial.run_dir or not (Path(trial.run_dir) / WEIGHTS_FILE).is_file():
            self.notify(f"trial {trial.number} saved no weights ({trial.status})", severity="warning")
            return
        if main.run.active:
            self.notify("a run is training in the Train tab: stop it first (x there)", severity="warning")
            return
        self.app.pop_screen()
        main.open_run(trial.run_dir)

    @work(exclusive=True, group="experiments-best")
    async def action_use_best(self) -> None:
        """Copy the best trial's varied settings into the setup (the rest of the setup stays as it is)."""
        best = self.board.best() if self.board is not None else None
        main = self.app.main_screen
        if best is None or main is None:
            return
        params = self.board.params_of(best)
        try:
            preset = apply_params(main.preset, params, main.preset.seed, source="Experiments")
            await main.apply_preset(preset, main.preset_path)
        except UserError as exc:
            self.notify(str(exc), title="Cannot use these settings", severity="error")
            return
        main._setup_changed()
        self.notify(self.board.config_label(best), title="Setup now uses the best trial's settings", timeout=3)

    # ------------------------------------------------------------ the sweep's messages

    @on(SweepController.Progressed)
    def _progressed(self, message: SweepController.Progressed) -> None:
        ctl = self.controller
        for kind, trial, data in message.events:
            if kind == "start" and ctl.plan is not None:
                board = self.board
                same = board is not None and board.sweep_dir == str(ctl.plan.sweep_dir)
                if not same:
                    self.board = Board(ctl.plan.sweep, ctl.plan.metric, ctl.plan.direction)
            if self.board is not None:
                self.board.apply(kind, trial, data)
        self._redraw()

    @on(SweepController.StateChanged)
    def _state_changed(self) -> None:
        self.refresh_bindings()
        self._show_line()

    @on(SweepController.Refused)
    def _refused(self, message: SweepController.Refused) -> None:
        self.notify(message.message, title="The sweep stopped", severity="error")

    # ------------------------------------------------------------ drawing

    def _redraw(self) -> None:
        board = self.board
        if board is None:
            return
        self._fill_table(board)
        ended = any(t.status != "running" for t in board.trials.values())
        self.query_one(DataTable).border_subtitle = "⏎ opens a trial" if ended else ""
        self.query_one(OverlayChart).show(board.bands(), board.metric)
        self.query_one(OverlayChart).border_title = f"{board.metric or 'metric'} per epoch · mean of seeds, min-max"
        self._draw_against()
        self._show_line()
        self.refresh_bindings()

    def _draw_against(self) -> None:
        board = self.board
        if board is None or not board.keys:
            return
        key = board.keys[self.against_index % len(board.keys)]
        points = board.against(key)
        colors = [board.color_of(t) for t in board.trials.values()
                  if t.status in ("completed", "early_stopped") and t.value is not None and key in t.params]
        chart = self.query_one(AgainstChart)
        chart.border_title = f"{board.metric} by {key.split('.')[-1]} (v: next)"
        chart.show(key, points, colors[: len(points[0])])

    def _fill_table(self, board: Board) -> None:
        table = self.query_one(Leaderboard)
        seeds = board.sweep.spec.seeds > 1
        titles = [" ", *[column_title(k) for k in board.keys], *(["seed"] if seeds else []),
                  board.metric or "metric", "status"]
        rows = []
        for t in board.ranked():
            value = "-" if t.value is None else f"{t.value:.4g}"
            if t.status == "running":
                value = f"{t.curve[-1][1]:.4g}" if t.curve else "-"
            status = (f"{int(t.curve[-1][0])}/{t.epochs}" if t.status == "running" and t.curve and t.epochs
                      else SHORT_STATUS.get(t.status, t.status))
            cells = [Text(SWATCH, style="#{:02x}{:02x}{:02x}".format(*color(board.color_of(t)))),
                     *[board.label(k, t.params.get(k)) for k in board.keys],
                     *([str(t.seed)] if seeds else []), value, status]
            rows.append((str(t.number), cells))
        table.show(titles, rows)
        self._fold_fields()

    @on(Leaderboard.Refitted)
    def _fold_fields(self) -> None:
        """A narrow screen where the leaderboard does not fit beside the fields: fold them, once per sweep shown."""
        board, table, setup = self.board, self.query_one(Leaderboard), self.query_one("#exp-setup")
        if not (board is None or table.fits or not self.has_class("-narrow") or setup.has_class("-hidden")
                or getattr(self, "_folded_for", None) is board or isinstance(self.focused, Input)):  # typing
            self._folded_for = board
            if setup.has_focus_within:
                table.focus()
            setup.add_class("-hidden")
            self.notify("the fields are folded away to give the leaderboard room: f shows them", timeout=3)

    def _show_line(self) -> None:
        ctl, board = self.controller, self.board
        if board is None:
            text = "type values (a list, or LOW..HIGH log) into fields, enter or ctrl+r runs them as a sweep"
        else:
            where = f" · {shown_path(ctl.sweep_dir)}" if ctl.sweep_dir else ""
            best = board.best()
            best_text = f" · best {best.value:.4g}" if best is not None else ""
            state = {"starting": "starting", "running": "running", "stopping": "stopping"}.get(ctl.state,
                                                                                             ctl.status or "ready")
            text = f"{state} {board.done}/{board.total}{best_text}{where}"
        self.query_one("#exp-line", Static).update(text)
