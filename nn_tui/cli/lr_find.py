"""`nn-tui lr-find`: sweep the learning rate on a copy of a preset's network and suggest one (core.inspection.lr_find).

torch and plotext are imported only once the command runs, so `nn-tui --help` stays instant.
"""

from __future__ import annotations

import json
import math
from typing import Optional

import typer

from nn_tui.cli.exits import OPTION_KEYS, fail, named_option
from nn_tui.core.errors import UserError


def lr_find_cmd(
    preset: str = typer.Argument(..., help="A preset file (.toml), or the name of a bundled preset (see `nn-tui presets`)."),
    set_: list[str] = typer.Option([], "--set", help="Override any key, e.g. --set training.optimizer='\"sgd\"' (repeatable)."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Override the preset's seed."),
    device: Optional[str] = typer.Option(None, "--device", help="auto | cpu | cuda | cuda:N | mps"),
    steps: int = typer.Option(100, "--steps", min=5, max=10_000, help="Training steps in the sweep (one batch each)."),
    start_lr: float = typer.Option(1e-6, "--start-lr", help="First learning rate of the sweep (> 0)."),
    end_lr: float = typer.Option(10.0, "--end-lr", help="Last learning rate of the sweep (> --start-lr)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object: suggested_lr and the curve (lr, loss)."),
) -> None:
    """Find a learning rate: train a copy of the preset's network briefly with a growing learning rate and
    suggest the one where the loss falls fastest. Writes no run folder."""
    try:
        if not (start_lr > 0 and math.isfinite(start_lr)):
            raise UserError(f"--start-lr {start_lr:g}: must be a number greater than 0")
        if not (end_lr > start_lr and math.isfinite(end_lr)):
            raise UserError(f"--end-lr {end_lr:g}: must be greater than --start-lr ({start_lr:g})")
        prepared = _prepare(preset, set_, seed, device)
    except UserError as exc:
        raise fail(exc, json_out=json_out) from None

    from nn_tui.core.inspection.lr_find import curve_table, find_lr

    curve = find_lr(prepared.preset, prepared.data, prepared.n_out, device=prepared.device, start_lr=start_lr, end_lr=end_lr, steps=steps)
    if json_out:
        typer.echo(json.dumps({"preset": prepared.preset.name, "optimizer": prepared.preset.training.optimizer,
                               "preset_lr": prepared.preset.training.lr, **curve.to_json()}))
        return
    t = prepared.preset.training
    typer.echo(f"{prepared.preset.name}: {len(curve.lrs)} steps of {t.optimizer}, lr {start_lr:g} → {end_lr:g}"
               + (" (stopped: the loss blew up)" if curve.blew_up else ""))
    typer.echo(plot_text(curve))
    typer.echo("\n".join(curve_table(curve)))
    if curve.suggested_lr is None:
        typer.echo("no suggestion: the sweep was too short to tell (try more --steps or a smaller --start-lr)")
    else:
        typer.echo(f"suggested lr: {curve.suggested_lr:.3g} (the preset has {t.lr:g}); "
                   f"try: nn-tui run {preset} --set training.lr={curve.suggested_lr:.3g}")


def _prepare(preset, set_, seed, device):
    from nn_tui.core.preset import load_preset, resolve_preset_path
    from nn_tui.core.preset.overrides import option_overrides
    from nn_tui.core.run.runner import prepare_run

    path = resolve_preset_path(preset)
    options = {"training.device": device, "seed": seed}
    given = {key: f"{OPTION_KEYS[key]} {value}" for key, value in options.items() if value is not None}
    try:
        return prepare_run(load_preset(path, [*set_, *option_overrides(device=device, seed=seed)]), source=str(path))
    except UserError as exc:
        raise named_option(exc, given) from None


def plot_text(curve, width: int = 64, height: int = 16) -> str:
    """The smoothed loss against the learning rate (log axis), suggestion marked, as plain text."""
    import plotext as plt

    from nn_tui.core.inspection.lr_find import decade_ticks

    if len(curve.lrs) < 2:
        return ""
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.plot(list(curve.lrs), list(curve.losses), marker="braille")
    if curve.suggested_lr is not None:
        plt.vline(curve.suggested_lr)
        plt.title(f"smoothed loss vs lr · | suggested {curve.suggested_lr:.3g}")
    plt.xscale("log")
    plt.xticks(*decade_ticks(curve.lrs))
    plt.xlabel("learning rate")
    text = plt.uncolorize(plt.build())
    plt.clear_figure()
    return text

