"""The `nn-tui` command: open the app, or train headless with `nn-tui run`.

torch and textual are imported inside the commands that need them, so `nn-tui --help` stays instant.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Optional

import typer

from nn_tui.core.errors import UserError

app = typer.Typer(
    name="nn-tui",
    help="Build a neural network layer by layer, train it with PyTorch, and watch it learn.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_EXPECT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
# `nn-tui run` options that set a preset key: an error in that key names the option, not the preset file.
OPTION_KEYS = {"training.epochs": "--epochs", "training.device": "--device", "seed": "--seed", "training.threads": "--threads"}


def fail(error: UserError | str, *, json_out: bool = False) -> typer.Exit:
    """Exit 2 with one line on stderr; with --json also an error event on stdout, so a script reading it sees why."""
    typer.echo(f"error: {error}", err=True)
    if json_out:
        json_error(str(error), EXIT_USAGE)
    return typer.Exit(EXIT_USAGE)


def json_error(message: str, exit_code: int) -> None:
    sys.stdout.write(json.dumps({"event": "error", "message": message, "exit_code": exit_code}) + "\n")
    sys.stdout.flush()


def named_option(error: UserError, given: dict[str, str]) -> UserError:
    """An error in a key set by --seed, --device, --epochs or --threads, reported as that option's error."""
    option = given.get(error.key or "")
    return UserError(f"{option}: {error.detail}") if option else error


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context) -> None:
    """With no command, open the app."""
    if ctx.invoked_subcommand is None:
        launch_app(None)


def launch_app(preset: str | None) -> None:
    from nn_tui.core.preset import load_preset, resolve_preset_path

    loaded = None
    try:
        if preset is not None:
            loaded = load_preset(resolve_preset_path(preset))
    except UserError as exc:
        raise fail(exc) from None
    try:
        from nn_tui.tui.app import NNTuiApp
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("nn_tui.tui"):
            typer.echo("error: the app is not available in this build; use `nn-tui run PRESET`", err=True)
            raise typer.Exit(EXIT_FAILED) from None
        raise
    NNTuiApp(preset=loaded).run()


@app.command("open")
def open_cmd(preset: str = typer.Argument(..., help="A preset file, or the name of a bundled preset.")) -> None:
    """Open the app with a preset loaded."""
    launch_app(preset)


@app.command("presets")
def presets_cmd() -> None:
    """List the bundled presets with their descriptions."""
    from nn_tui.core.preset import bundled_presets, read_toml

    rows = []
    for name, path in bundled_presets().items():
        try:
            desc = str(read_toml(path).get("description", ""))
        except UserError:
            desc = "(unreadable)"
        rows.append((name, desc))
    width = max((len(n) for n, _ in rows), default=0)
    for name, desc in rows:
        typer.echo(f"{name.ljust(width)}  {desc}")


@app.command("datasets")
def datasets_cmd(
    name: Optional[str] = typer.Argument(None, help="Show one dataset's labels and [data] keys."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the datasets a preset can use: task, samples, features, classes, source."""
    from nn_tui.cli_data import show_datasets

    try:
        show_datasets(name, json_out=json_out)
    except UserError as exc:
        raise fail(exc, json_out=json_out) from None


@app.command("eval")
def eval_cmd(
    run_dir: Path = typer.Argument(..., help="A run folder (runs/<run-id>/) with preset.toml and model.safetensors."),
    data: Optional[str] = typer.Option(None, "--data", help="Score on this preset's data instead of the run's own."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Score a run's saved model on the test split: accuracy, per-class precision/recall, confusion matrix (or R², RMSE, MAE)."""
    from nn_tui.cli_data import evaluate

    try:
        evaluate(run_dir, data, json_out=json_out)
    except UserError as exc:
        raise fail(exc, json_out=json_out) from None


@app.command("export")
def export_cmd(
    run_dir: Path = typer.Argument(..., help="A run folder (runs/<run-id>/) with preset.toml and model.safetensors."),
    fmt: str = typer.Option("script", "--format", "-f", help="script | onnx | torchscript | safetensors"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="File to write; default: <preset name>_train.py, .onnx, .pt or .safetensors here."),
) -> None:
    """Export a run: a standalone PyTorch training script, or the trained model as ONNX, TorchScript or safetensors."""
    from nn_tui.cli_export import export

    try:
        export(run_dir, fmt, output)
    except UserError as exc:
        raise fail(exc) from None


@app.command("run")
def run_cmd(
    preset: Optional[str] = typer.Argument(None, help="A preset file (.toml), or the name of a bundled preset (see `nn-tui presets`)."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue this run folder from its last checkpoint instead of starting a preset."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Override training.epochs (with --resume: train up to this many)."),
    device: Optional[str] = typer.Option(None, "--device", help="auto | cpu | cuda | cuda:N | mps"),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Override the preset's seed."),
    threads: Optional[int] = typer.Option(None, "--threads", min=0, help="CPU threads for torch (0 = default)."),
    set_: list[str] = typer.Option([], "--set", help="Override any key, e.g. --set training.lr=0.1 (repeatable)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for run directories (default: runs)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object per line (epoch events, then end)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the final summary line."),
    health: bool = typer.Option(False, "--health", help="Also write health.csv: per-layer gradient/weight norms, dead and saturated units."),
) -> None:
    """Train a preset headless and write a run directory."""
    from nn_tui.core.preset import load_preset, resolve_preset_path

    overrides = list(set_)
    given = {}  # preset key -> the option that set it, as typed
    for key, option, value in (
        ("training.epochs", "--epochs", epochs), ("training.device", "--device", device),
        ("seed", "--seed", seed), ("training.threads", "--threads", threads),
    ):
        if value is not None:
            overrides.append(f"{key}={json.dumps(value)}")
            given[key] = f"{option} {value}"
    try:
        if resume is not None:
            run = _resume(preset, resume, epochs, device, threads, set_, seed, out)
            prepared = run.prepared
        else:
            if preset is None:
                raise UserError("missing PRESET: a preset file or bundled preset name (or --resume RUN_DIR)")
            path = resolve_preset_path(preset)
            source = str(path)
            from nn_tui.core.run import Run, prepare_run

            try:
                prepared = prepare_run(load_preset(path, overrides), source=source)
            except UserError as exc:
                raise named_option(exc, given) from None
        from nn_tui.cli_output import make_reporter

        reporter = make_reporter(prepared, json_out=json_out, quiet=quiet)
        if resume is not None:
            run.on_event = reporter.on_event
        else:
            run = Run(prepared, out_dir=out or Path("runs"), on_event=reporter.on_event, progress_interval=0.5)
        if health and run.run_dir is not None:  # sampled twice a second at most, between steps
            from nn_tui.core.health import HEALTH_FILE, HealthProbe

            run.on_event = HealthProbe(run.on_event, interval=0.5).attach(run).record_to(run.run_dir.path / HEALTH_FILE)
    except UserError as exc:
        raise fail(exc, json_out=json_out) from None
    warn_threads(prepared)
    if prepared.validation_note:
        typer.echo(f"note: {prepared.validation_note}", err=True)

    signals = {"count": 0, "code": EXIT_INTERRUPTED}

    def on_signal(signum, frame):  # first signal: stop cleanly after this step; second: hard stop
        signals["count"] += 1
        signals["code"] = 128 + signum
        if signals["count"] > 1:
            raise KeyboardInterrupt
        run.control.request_stop()

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        with reporter:
            finished = run.execute()
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    reporter.finish(finished, run)
    if finished.status == "stopped" or signals["count"]:
        raise typer.Exit(signals["code"])
    if finished.status in ("completed", "early_stopped"):
        raise typer.Exit(EXIT_EXPECT if missed_expectations(run, finished) else EXIT_OK)
    raise typer.Exit(EXIT_FAILED)


def warn_threads(prepared) -> None:
    """More torch threads than CPU cores only slows training: the count is capped (core.device.set_threads); say so."""
    asked = prepared.preset.training.threads
    if asked > prepared.threads:
        typer.echo(
            f"warning: training.threads = {asked} is more than this machine's {prepared.threads} CPU cores; "
            f"using {prepared.threads} (more threads than cores only slows training)",
            err=True,
        )


def missed_expectations(run, finished) -> list[str]:
    """The preset's [expect] entries the run did not reach, each said on stderr; the run then exits with code 3."""
    from nn_tui.core.run import expectations

    missed = []
    for key, res in expectations(run.prepared.preset, finished.best).items():
        if not res["met"]:
            op = "<=" if key.endswith("loss") else ">="
            missed.append(f"{key} {op} {res['target']:g} (best: {res['value']:.4g})")
    if missed:
        typer.echo(f"expectation not met: {'; '.join(missed)} (exit code {EXIT_EXPECT})", err=True)
    return missed


def _resume(preset, run_dir, epochs, device, threads, set_, seed, out):
    """`nn-tui run --resume RUN_DIR`: the run folder's own preset, only its length and device may change."""
    if preset is not None:
        raise UserError(f"give either a PRESET ({preset}) or --resume RUN_DIR, not both")
    if set_ or seed is not None:
        raise UserError("--set and --seed cannot change a resumed run; only --epochs, --device and --threads can")
    if out is not None:
        raise UserError(f"--out {out}: a resumed run continues in its own folder ({run_dir}); leave out --out")
    from nn_tui.core.resume import resume_run

    return resume_run(run_dir, epochs=epochs, device=device, threads=threads, progress_interval=0.5)


def main() -> None:
    if len(sys.argv) == 1:
        # `nn-tui` alone opens the app without building the command-line parser: typer's parameter handling
        # imports pydantic, about 0.2 s before the app's first frame.
        try:
            launch_app(None)
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
        return
    if "--json" in sys.argv[1:]:
        sys.exit(_main_json())
    try:
        app()
    except UserError as exc:  # a user error raised outside a command's own handling
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def _main_json() -> int:
    """With --json, a bad command line (unknown option, --seed abc) also gives an error event on stdout."""
    # typer raises click's exceptions (its own vendored copy in recent versions): found from one typer exports
    click_error = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
    try:
        code = app(standalone_mode=False)
    except click_error as exc:
        exc.show()
        json_error(exc.format_message(), exc.exit_code)
        return exc.exit_code
    except typer.Abort:  # Ctrl-C while the command line is read
        return EXIT_INTERRUPTED
    except UserError as exc:
        return fail(exc, json_out=True).exit_code
    return code if isinstance(code, int) else EXIT_OK


if __name__ == "__main__":
    main()
