"""`nn-tui run`: train a preset (or continue a run folder) headless, printing through a reporter callback.

torch is imported only once the command runs, so `nn-tui --help` stays instant.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Optional

import typer

from nn_tui.cli.exits import EXIT_EXPECT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, OPTION_KEYS, fail, named_option
from nn_tui.cli.signals import early_signal
from nn_tui.core.errors import UserError


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
    try:
        run, reporter = _build_run(preset, resume, epochs, device, seed, threads, set_, out, json_out, quiet, health)
    except UserError as exc:
        raise fail(exc, json_out=json_out) from None
    warn_threads(run.prepared)
    if run.prepared.validation_note:
        typer.echo(f"note: {run.prepared.validation_note}", err=True)

    if early_signal:  # asked to stop while starting (and an import swallowed it): not a minute of training
        raise typer.Exit(128 + early_signal[0])
    signals = {"count": 0, "code": EXIT_INTERRUPTED}

    def on_signal(signum, frame):  # first signal: stop cleanly after this step; second: hard stop
        signals["count"] += 1
        signals["code"] = 128 + signum
        if signals["count"] > 1:
            raise KeyboardInterrupt
        run.control.stop()

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
    """More torch threads than CPU cores only slows training: the count is capped (core.model.device.set_threads); say so."""
    asked = prepared.preset.training.threads
    if asked > prepared.threads:
        typer.echo(
            f"warning: training.threads = {asked} is more than this machine's {prepared.threads} CPU cores; "
            f"using {prepared.threads} (more threads than cores only slows training)",
            err=True,
        )


def missed_expectations(run, finished) -> list[str]:
    """The preset's [expect] entries the run did not reach, each said on stderr; the run then exits with code 3."""
    from nn_tui.core.run.runner import expectations

    missed = []
    for key, res in expectations(run.prepared.preset, finished.best).items():
        if not res["met"]:
            op = "<=" if key.endswith("loss") else ">="
            missed.append(f"{key} {op} {res['target']:g} (best: {res['value']:.4g})")
    if missed:
        typer.echo(f"expectation not met: {'; '.join(missed)} (exit code {EXIT_EXPECT})", err=True)
    return missed


def _build_run(preset, resume, epochs, device, seed, threads, set_, out, json_out, quiet, health):
    """The Run with its callbacks (the reporter; a health.csv writer with --health), complete at construction."""
    from nn_tui.cli.output import make_reporter
    from nn_tui.core.inspection.sampling import HEALTH_FILE, HealthSampler
    from nn_tui.core.preset import load_preset, resolve_preset_path
    from nn_tui.core.preset.overrides import option_overrides
    from nn_tui.core.run.resume import prepare_resume
    from nn_tui.core.run.runner import Run, prepare_run

    if resume is not None:
        if preset is not None:
            raise UserError(f"give either a PRESET ({preset}) or --resume RUN_DIR, not both")
        if set_ or seed is not None:
            raise UserError("--set and --seed cannot change a resumed run; only --epochs, --device and --threads can")
        if out is not None:
            raise UserError(f"--out {out}: a resumed run continues in its own folder ({resume}); leave out --out")
        plan = prepare_resume(resume, epochs=epochs, device=device, threads=threads)
        prepared = plan.prepared
    else:
        if preset is None:
            raise UserError("missing PRESET: a preset file or bundled preset name (or --resume RUN_DIR)")
        path = resolve_preset_path(preset)
        options = {"training.epochs": epochs, "training.device": device, "seed": seed, "training.threads": threads}
        given = {key: f"{OPTION_KEYS[key]} {value}" for key, value in options.items() if value is not None}
        overrides = [*set_, *option_overrides(epochs=epochs, device=device, seed=seed, threads=threads)]
        try:
            prepared, plan = prepare_run(load_preset(path, overrides), source=str(path)), None
        except UserError as exc:
            raise named_option(exc, given) from None
    reporter = make_reporter(prepared, json_out=json_out, quiet=quiet)
    callbacks = [reporter]
    if health:  # health.csv in the run folder, sampled twice a second at most, between steps
        callbacks.append(HealthSampler(interval=0.5, csv_path=HEALTH_FILE))
    if plan is not None:
        return plan.run(callbacks=callbacks, progress_interval=0.5), reporter
    return Run(prepared, out_dir=out or Path("runs"), callbacks=callbacks, progress_interval=0.5), reporter
