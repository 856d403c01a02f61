"""What `nn-tui run` prints: a progress bar and summary table, JSON lines, or one quiet line."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from nn_tui.core.datasets import metric_for
from nn_tui.core.training import (
    Callback,
    EpochEnd,
    RunError,
    RunFinished,
    RunStarted,
    SettingChanged,
    StepProgress,
    TrainState,
)
from nn_tui.core.run.runner import PreparedRun, Run

FILE_WIDTH = 10_000  # columns when stdout is not a terminal: lines are as long as they need to be


def _num(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


class Reporter(Callback):
    """A callback that prints the run as it goes, and `finish` prints the end."""

    def __init__(self, prepared: PreparedRun) -> None:
        self.prepared = prepared

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def on_error(self, state: TrainState, event: RunError) -> None:
        print(f"error: {event.message}", file=sys.stderr)

    def finish(self, finished: RunFinished, run: Run) -> None:
        pass


class JsonReporter(Reporter):
    """One JSON object per line on stdout: epoch events, then an end event. Nothing else on stdout."""

    def _emit(self, obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps({k: _num(v) for k, v in obj.items()}) + "\n")
        sys.stdout.flush()

    def on_epoch_end(self, state: TrainState, event: EpochEnd) -> None:
        self._emit({"event": "epoch", **event.row(), "samples_per_sec": event.samples_per_sec})

    def on_setting_change(self, state: TrainState, event: SettingChanged) -> None:
        """A change made while training (replayed from changes.csv when a run is resumed)."""
        self._emit({"event": "change", **event.row()})

    def finish(self, finished: RunFinished, run: Run) -> None:
        self._emit(
            {
                "event": "end",
                "status": finished.status,
                "message": finished.message,
                "run_dir": finished.run_dir,
                "epochs_run": finished.epochs_run,
                "seconds": finished.seconds,
                "final": {k: _num(v) for k, v in finished.final.items()},
                "best": {k: _num(v) for k, v in finished.best.items()},
                **self._expect(finished),
            }
        )

    def _expect(self, finished: RunFinished) -> dict[str, Any]:
        """The [expect] results, as in summary.json: a missed one makes the exit code 3."""
        from nn_tui.core.run.runner import expectations

        return {"expect": expectations(self.prepared.preset, finished.best)} if self.prepared.preset.expect else {}


class QuietReporter(Reporter):
    def finish(self, finished: RunFinished, run: Run) -> None:
        metric = metric_for(self.prepared.data.task)
        best = finished.best.get(metric)
        text = f"{finished.status}: {finished.epochs_run} epochs"
        if best is not None:
            text += f", best {metric} {best:.4f}"
        print(f"{text}, run dir {finished.run_dir}")


class HumanReporter(Reporter):
    """A rich progress bar while training, then a summary table."""

    def __init__(self, prepared: PreparedRun) -> None:
        super().__init__(prepared)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        # Not a terminal (a file, a pipe, CI logs): no width to fit, so full lines, never cut or wrapped at 80.
        width = None if sys.stdout.isatty() else FILE_WIDTH
        self.console = Console(stderr=False, highlight=False, width=width, soft_wrap=width is not None)
        self.progress = Progress(
            TextColumn("epoch"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self.task = None
        self.metric = metric_for(prepared.data.task)

    def __enter__(self) -> HumanReporter:
        from rich.markup import escape

        p = self.prepared
        self.console.print(
            f"[bold]{escape(printable(p.preset.name))}[/]: {p.preset.data.dataset} ({p.data.task}, {len(p.data.X_train)} train / "
            f"{len(p.data.X_test) or len(p.data.X_train)} val), {p.parameters:,} parameters, "
            f"loss {p.preset.training.loss}, {p.preset.training.optimizer} lr {p.preset.training.lr:g}, "
            f"device {p.device} ({p.threads} thread{'s' if p.threads != 1 else ''})"
        )
        self.console.print(model_table(p))
        self.progress.__enter__()
        self.task = self.progress.add_task("train", total=p.preset.training.epochs, status="starting")
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def on_run_start(self, state: TrainState, event: RunStarted) -> None:
        if event.run_dir:
            self.progress.console.print(f"run dir: {event.run_dir}")
            if event.start_epoch > 1:  # a resumed run
                self.progress.console.print(f"resuming after epoch {event.start_epoch - 1}")
                self.progress.update(self.task, completed=event.start_epoch - 1)

    def on_progress(self, state: TrainState, event: StepProgress) -> None:
        self.progress.update(
            self.task,
            status=f"step {event.step}/{event.steps_per_epoch}  loss {number(event.running_loss)}  "
            f"{event.samples_per_sec:,.0f} samples/s",
        )

    def on_epoch_end(self, state: TrainState, event: EpochEnd) -> None:
        short = "acc" if event.metric == "val_accuracy" else "R²"
        self.progress.update(
            self.task,
            completed=event.epoch,
            status=f"train {number(event.train_loss)}  val {number(event.val_loss)}  {short} {number(event.metric_value)}  "
            f"{event.samples_per_sec:,.0f} samples/s",
        )

    def on_error(self, state: TrainState, event: RunError) -> None:
        self.progress.console.print(f"[red]error:[/] {event.message}")

    def finish(self, finished: RunFinished, run: Run) -> None:
        from rich.table import Table

        style = "green" if finished.status in ("completed", "early_stopped") else "red"
        table = Table(title=f"[{style}]{finished.status}[/]: {finished.message}", title_justify="left")
        table.add_column("")
        keys = ["epoch", "train_loss", "val_loss", self.metric, "lr", "seconds"]
        for k in keys:
            table.add_column(k, justify="right")
        for label, row in (("final", finished.final), ("best", finished.best)):
            if row:
                table.add_row(label, *[_fmt(k, row.get(k)) for k in keys])
        self.console.print(table)
        expect = self.prepared.preset.expect
        if expect:
            from nn_tui.core.run.runner import expectations

            for key, res in expectations(self.prepared.preset, finished.best).items():
                mark = "[green]met[/]" if res["met"] else "[red]NOT met[/]"
                op = "<=" if key.endswith("loss") else ">="
                self.console.print(f"expected {key} {op} {res['target']}: {res['value']:.4f} {mark}")
        if finished.run_dir:
            self.console.print(f"run dir: {finished.run_dir}")


def model_table(prepared: PreparedRun):
    """Per-layer output shape and parameter count, with the total."""
    from rich.table import Table

    table = Table(title="model", title_justify="left", show_footer=True, box=None, padding=(0, 2))
    table.add_column("layer", footer="total")
    table.add_column("output", justify="right")
    table.add_column("activation")
    table.add_column("parameters", justify="right", footer=f"{prepared.parameters:,}")
    table.add_column("", style="dim")
    for i, row in enumerate(prepared.summary):
        name = row.kind if row.kind != "hidden" else f"hidden {i}"
        table.add_row(name, row.shape, row.activation or "-", f"{row.parameters:,}", row.detail)
    return table


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "epoch":
        return str(int(value))
    if key == "seconds":
        return f"{value:.2f}s"
    return number(value)


def number(value: float) -> str:
    """4 significant digits, scientific when large or small: at most 10 characters, so a table never cuts it
    (a diverged loss of 164117560227 is 1.641e+11)."""
    if not math.isfinite(value):
        return str(value)
    text = f"{value:#.4g}"
    return text[:-1] if text.endswith(".") else text


def printable(text: str) -> str:
    """Text from a preset (its name) with control characters (escape sequences, newlines) shown as escapes,
    so a preset cannot move the cursor or recolour the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def make_reporter(prepared: PreparedRun, *, json_out: bool, quiet: bool) -> Reporter:
    if json_out:
        return JsonReporter(prepared)
    if quiet:
        return QuietReporter(prepared)
    return HumanReporter(prepared)
