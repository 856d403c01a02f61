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

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def fail(error: UserError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(EXIT_USAGE)


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
        raise fail(exc) from None


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
        raise fail(exc) from None


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


@app.command("serve")
def serve_cmd(
    preset: Optional[str] = typer.Argument(None, help="A preset file, or the name of a bundled preset, to open in every tab."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; anything but loopback is reachable by others (no authentication)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    public_url: Optional[str] = typer.Option(None, "--public-url", help="The address browsers use, when it is not http://HOST:PORT (a proxy, a machine name)."),
) -> None:
    """Serve the app in a web browser (textual-serve): each browser tab gets its own app."""
    from nn_tui.cli_serve import serve

    try:
        serve(preset, host, port, public_url)
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
    out: Path = typer.Option(Path("runs"), "--out", help="Folder for run directories."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object per line (epoch events, then end)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the final summary line."),
    health: bool = typer.Option(False, "--health", help="Also write health.csv: per-layer gradient/weight norms, dead and saturated units."),
) -> None:
    """Train a preset headless and write a run directory."""
    from nn_tui.core.preset import load_preset, resolve_preset_path

    overrides = list(set_)
    if epochs is not None:
        overrides.append(f"training.epochs={epochs}")
    if device is not None:
        overrides.append(f"training.device={json.dumps(device)}")
    if seed is not None:
        overrides.append(f"seed={seed}")
    if threads is not None:
        overrides.append(f"training.threads={threads}")
    try:
        if resume is not None:
            run = _resume(preset, resume, epochs, device, threads, set_, seed)
            prepared = run.prepared
        else:
            if preset is None:
                raise UserError("missing PRESET: a preset file or bundled preset name (or --resume RUN_DIR)")
            path = resolve_preset_path(preset)
            loaded = load_preset(path, overrides)
            source = str(path)
            from nn_tui.core.run import Run, prepare_run

            prepared = prepare_run(loaded, source=source)
        from nn_tui.cli_output import make_reporter

        reporter = make_reporter(prepared, json_out=json_out, quiet=quiet)
        if resume is not None:
            run.on_event = reporter.on_event
        else:
            run = Run(prepared, out_dir=out, on_event=reporter.on_event, progress_interval=0.5)
        if health and run.run_dir is not None:  # sampled twice a second at most, between steps
            from nn_tui.core.health import HEALTH_FILE, HealthProbe

            run.on_event = HealthProbe(run.on_event, interval=0.5).attach(run).record_to(run.run_dir.path / HEALTH_FILE)
    except UserError as exc:
        raise fail(exc) from None

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
        raise typer.Exit(EXIT_OK)
    raise typer.Exit(EXIT_FAILED)


def _resume(preset, run_dir, epochs, device, threads, set_, seed):
    """`nn-tui run --resume RUN_DIR`: the run folder's own preset, only its length and device may change."""
    if preset is not None:
        raise UserError(f"give either a PRESET ({preset}) or --resume RUN_DIR, not both")
    if set_ or seed is not None:
        raise UserError("--set and --seed cannot change a resumed run; only --epochs, --device and --threads can")
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
    try:
        app()
    except UserError as exc:  # a user error raised outside a command's own handling
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


if __name__ == "__main__":
    main()
