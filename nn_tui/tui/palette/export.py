"""Palette entries that export a run folder, and the background export they start."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from textual.app import App

from nn_tui.core.export.formats import FORMATS

FORMAT_WORDS = {
    "script": ("a PyTorch training script", "standalone .py: the same data, nn.Module and training loop"),
    "onnx": ("ONNX", ".onnx with a free batch size, for onnxruntime and friends"),
    "torchscript": ("TorchScript", ".pt for torch.jit.load"),
    "safetensors": ("safetensors", "the weights and a JSON file describing the network"),
}


def export_in_background(app: App, run_dir: str | Path, fmt: str, folder: str | Path = ".") -> None:
    """Export a run folder into `folder` (the current folder, like `nn-tui export`) on a thread; notify when done."""

    def export() -> None:
        from nn_tui.core.errors import UserError
        from nn_tui.core.export.formats import export_run, load_run, sidecar_path, unused_output

        try:
            target = unused_output(load_run(run_dir), fmt, folder)  # never over an existing file
            path = export_run(run_dir, fmt, target)
        except UserError as exc:
            app.call_from_thread(app.notify, str(exc), title="Export failed", severity="error", timeout=8)
            return
        except Exception as exc:  # noqa: BLE001 - e.g. an exporter bug: a message, not a crash
            app.call_from_thread(app.notify, f"{type(exc).__name__}: {exc}", title="Export failed", severity="error")
            return
        extra = {"script": f"\nrun it with: python {path}", "safetensors": f"\nand {sidecar_path(path)}"}.get(fmt, "")
        app.call_from_thread(app.notify, f"wrote {path}{extra}", title=f"Exported as {FORMAT_WORDS[fmt][0]}", timeout=6)

    app.run_worker(export, thread=True, group="export", name=f"export {fmt}", exit_on_error=False)


def export_commands(app: App, run_dir: str | Path | None, which: str = "last run") -> list[tuple[str, Callable[[], Any], str]]:
    """(text, callback, help) palette entries exporting `run_dir` in every format; none without a run."""
    if not run_dir:
        return []
    return [
        (f"Export {which} as {FORMAT_WORDS[fmt][0]}", partial(export_in_background, app, run_dir, fmt),
         f"{FORMAT_WORDS[fmt][1]} · {Path(run_dir).name}")
        for fmt in FORMATS
    ]
