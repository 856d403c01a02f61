"""The `nn-tui` command: open the app, or train headless with `nn-tui run` (nn_tui.cli.run).

torch and textual are imported inside the commands that need them, so `nn-tui --help` stays instant.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from nn_tui.cli.signals import early_signal, install_signal_handling

install_signal_handling()

import typer  # noqa: E402 - after the signal handling: importing it takes a noticeable moment

from nn_tui.cli.exits import EXIT_EXPECT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, fail, json_error  # noqa: E402, F401
from nn_tui.cli.lessons import lessons_cmd  # noqa: E402
from nn_tui.cli.lr_find import lr_find_cmd  # noqa: E402
from nn_tui.cli.run import run_cmd  # noqa: E402
from nn_tui.cli.sweep import sweep_cmd  # noqa: E402
from nn_tui.core.errors import UserError  # noqa: E402

app = typer.Typer(
    name="nn-tui",
    help="Build a neural network layer by layer, train it with PyTorch, and watch it learn.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)



@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context) -> None:
    """With no command, open the app."""
    if ctx.invoked_subcommand is None:
        launch_app(None)


def launch_app(preset: str | None) -> None:
    from nn_tui.core.preset import load_preset, resolve_preset_path

    loaded = sweep = None
    try:
        if preset is not None:
            sweep = open_sweep_target(preset)
            loaded = sweep.preset if sweep is not None else load_preset(resolve_preset_path(preset))
    except UserError as exc:
        raise fail(exc) from None
    from nn_tui.cli.app import launch_app

    launch_app("use `nn-tui run PRESET`", preset=loaded, sweep=sweep)


def open_sweep_target(name: str):
    """The sweep `nn-tui open NAME` means (a file with a [sweep] table, a past sweep folder with its trials, or a
    bundled sweep's name that is not also a bundled preset's), or None for a preset."""
    from pathlib import Path

    from nn_tui.core.preset import bundled_presets, read_toml
    from nn_tui.core.sweep.bundled import bundled_sweeps
    from nn_tui.core.sweep.spec import load_sweep

    path = Path(name)
    if path.is_dir():
        from nn_tui.core.sweep.folder import read_sweep_folder

        return read_sweep_folder(path)
    if path.is_file() and path.suffix == ".toml":
        return load_sweep(path) if "sweep" in read_toml(path) else None
    if not path.exists() and name in bundled_sweeps() and name not in bundled_presets():
        return load_sweep(bundled_sweeps()[name])
    return None


@app.command("open")
def open_cmd(preset: str = typer.Argument(..., help="A preset or sweep file, a sweep folder, or a bundled preset's or sweep's name.")) -> None:
    """Open the app with a preset loaded (a sweep: in the Experiments view)."""
    launch_app(preset)


@app.command("presets")
def presets_cmd() -> None:
    """List the bundled presets and sweeps with their descriptions."""
    from nn_tui.core.preset import bundled_presets, read_toml
    from nn_tui.core.sweep.bundled import bundled_sweeps

    sections = (("", bundled_presets()), ("sweeps (nn-tui sweep NAME):", bundled_sweeps()))
    width = max((len(n) for _, found in sections for n in found), default=0)
    for title, found in sections:
        if title and found:
            typer.echo(title)
        for name, path in found.items():
            try:
                desc = str(read_toml(path).get("description", ""))
            except UserError:
                desc = "(unreadable)"
            typer.echo(f"{name.ljust(width)}  {desc}")


@app.command("datasets")
def datasets_cmd(
    name: Optional[str] = typer.Argument(None, help="Show one dataset's labels and [data] keys."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the datasets a preset can use: task, samples, features, classes, source."""
    from nn_tui.cli.data import show_datasets

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
    from nn_tui.cli.data import evaluate

    try:
        evaluate(run_dir, data, json_out=json_out)
    except UserError as exc:
        raise fail(exc, json_out=json_out) from None


@app.command("export")
def export_cmd(
    run_dir: Path = typer.Argument(..., help="A run folder (runs/<run-id>/) with preset.toml and model.safetensors."),
    fmt: str = typer.Option("script", "--format", "-f", help="script | onnx | torchscript | safetensors"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="File to write; default: <preset name>_train.py, .onnx, .pt or .safetensors here."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file (never a device, folder, link or a run folder's files)."),
) -> None:
    """Export a run: a standalone PyTorch training script, or the trained model as ONNX, TorchScript or safetensors."""
    from nn_tui.cli.export import export

    try:
        export(run_dir, fmt, output, force=force)
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
    from nn_tui.cli.serve import serve

    try:
        serve(preset, host, port, public_url)
    except UserError as exc:
        raise fail(exc) from None


app.command("run")(run_cmd)
app.command("sweep")(sweep_cmd)
app.command("lr-find")(lr_find_cmd)
app.command("lessons")(lessons_cmd)


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
    except BaseException:
        if early_signal:  # whatever an interrupted import left broken, we were asked to stop: quietly
            sys.exit(128 + early_signal[0])
        raise


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
