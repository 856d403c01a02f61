"""What `nn-tui export` does and prints: a run folder's model as a PyTorch script, ONNX, TorchScript or safetensors."""

from __future__ import annotations

from pathlib import Path

import typer


def export(run_dir: Path, fmt: str, output: Path | None, *, force: bool = False) -> None:
    from nn_tui.core.export.formats import export_run, sidecar_path

    path = export_run(run_dir, fmt, output, force=force)
    typer.echo(f"wrote {path}")
    if fmt == "safetensors":
        typer.echo(f"wrote {sidecar_path(path)} (the network's layers and the weight keys each one uses)")
    elif fmt == "script":
        typer.echo(f"run it with: python {path}")
    elif fmt == "onnx":
        typer.echo("input 'features' (batch, features) -> output 'logits' (batch, outputs); the batch size is free")
    elif fmt == "torchscript":
        typer.echo(f"load it with: torch.jit.load({str(path)!r})")
