"""Export a finished run: a plain-PyTorch training script, ONNX, TorchScript, or safetensors with an architecture file."""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nn_tui.core.errors import UserError
from nn_tui.core.fileio import atomic_write
from nn_tui.core.safetensors_io import read_safetensors

if TYPE_CHECKING:
    from torch import nn

    from nn_tui.core.preset import Preset

FORMATS = ("script", "onnx", "torchscript", "safetensors")
SUFFIXES = {"script": "_train.py", "onnx": ".onnx", "torchscript": ".pt", "safetensors": ".safetensors"}
INPUT_NAME = "features"
OUTPUT_NAME = "logits"


@dataclass
class LoadedRun:
    """A run folder's preset and trained model, rebuilt on the CPU in eval mode."""

    path: Path
    preset: Preset
    model: nn.Sequential
    n_features: int
    n_out: int
    loss: str
    summary: dict[str, Any]

    @property
    def run_id(self) -> str:
        return self.path.name

    def label_names(self) -> list[str] | None:
        evaluation = self.summary.get("evaluation") or {}
        labels = evaluation.get("labels")
        if labels:
            return [str(x) for x in labels]
        from nn_tui.core.datasets import get_dataset_info

        try:
            info = get_dataset_info(self.preset.data.dataset)
        except UserError:
            return None
        return list(info.label_names) if info.label_names else None


def load_run(run_dir: str | Path) -> LoadedRun:
    """Read preset.toml and model.safetensors of a run folder; the model's shape comes from the weights."""
    from nn_tui.core.model.build import build_model
    from nn_tui.core.preset import load_preset
    from nn_tui.core.run.rundir import PRESET_FILE, SUMMARY_FILE, WEIGHTS_FILE, check_run_folder

    path = check_run_folder(run_dir, weights=True)
    source = str(path)
    weights = path / WEIGHTS_FILE
    preset = load_preset(path / PRESET_FILE)
    state, _ = read_safetensors(weights)
    matrices = [(k, v) for k, v in state.items() if k.endswith(".weight") and v.ndim == 2]
    if not matrices:
        raise UserError(f"{WEIGHTS_FILE} holds no Linear layer weights", source=source)
    n_features, n_out = int(matrices[0][1].shape[1]), int(matrices[-1][1].shape[0])
    model = build_model(n_features, preset.layers, n_out)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if expected != found:
        from nn_tui.core.run.evaluation import describe_weight_mismatch

        raise UserError(
            f"{WEIGHTS_FILE} does not match the network in {PRESET_FILE}: {describe_weight_mismatch(found, expected)}",
            source=source,
        )
    from nn_tui.core.run.evaluation import check_network_unchanged

    check_network_unchanged(weights, preset, source=source)  # an edited activation changes no shape
    model.load_state_dict(state)
    model.eval()
    summary: dict[str, Any] = {}
    if (path / SUMMARY_FILE).is_file():
        try:
            summary = json.loads((path / SUMMARY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            summary = {}
    loss = preset.training.loss or _default_loss(preset, n_out)
    return LoadedRun(path, preset, model, n_features, n_out, loss, summary)


def _default_loss(preset: Preset, n_out: int) -> str:
    from nn_tui.core.datasets import CLASSIFICATION, get_dataset_info

    task = get_dataset_info(preset.data.dataset).task
    if task == CLASSIFICATION:
        return "bce" if n_out == 1 else "cross_entropy"
    return "mse"


def default_output(run: LoadedRun, fmt: str, folder: str | Path = ".") -> Path:
    from nn_tui.core.run.rundir import _slug

    return Path(folder) / f"{_slug(run.preset.name)}{SUFFIXES[fmt]}"


def export_run(run_dir: str | Path, fmt: str, output: str | Path | None = None, *, force: bool = False) -> Path:
    """Export a run folder in one of FORMATS to `output` (default: <preset name><suffix> in the current folder).

    Refuses (UserError) a target that is not a plain file, one inside a run folder, and an existing file
    unless `force`; a disk error while writing (read-only, full) is a UserError too, with nothing left behind.
    """
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}", key="--format")
    named = Path(output) if output is not None and not (Path(output).is_dir() and not Path(output).is_symlink()) else None
    if named is not None:  # a refused target is refused before the run's model is loaded (no torch import)
        _check_targets(named, fmt, force)
    run = load_run(run_dir)
    path = Path(output) if output is not None else default_output(run, fmt)
    if path.is_dir() and not path.is_symlink():
        path = default_output(run, fmt, path)
    _check_targets(path, fmt, force)
    written = [path, sidecar_path(path)] if fmt == "safetensors" else [path]
    writers = {"script": export_script, "onnx": export_onnx, "torchscript": export_torchscript,
               "safetensors": export_safetensors}
    try:
        writers[fmt](run, path)
        for p in written:
            p.chmod(0o644)  # atomic writes start from a private temp file; exports are for sharing
    except OSError as exc:
        from nn_tui.core.fileio import describe_os_error

        raise UserError(f"cannot write the export: {describe_os_error(exc)}", source=str(path)) from None
    return path


def _check_targets(path: Path, fmt: str, force: bool) -> None:
    if not path.parent.exists():
        raise UserError("the folder does not exist", source=str(path.parent))
    for p in [path, sidecar_path(path)] if fmt == "safetensors" else [path]:
        check_export_target(p, force=force)


def check_export_target(path: Path, *, force: bool = False) -> None:
    """Refuse to export over anything but a plain file of the user's (a device such as /dev/null, a FIFO, a
    folder, a symbolic link), into a run folder (its weights and checkpoints), or over a file without `force`."""
    import os

    for folder in (path.parent.resolve(), *list(path.parent.resolve().parents)[:2]):
        if _is_run_folder(folder):
            raise UserError(
                f"this is inside the run folder {folder}; exports never write into a run folder, choose another place",
                source=str(path),
            )
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UserError(f"cannot check the export target: {exc.strerror or exc}", source=str(path)) from None
    kind = _file_kind(mode)
    if kind is not None:
        raise UserError(f"is {kind}, not a regular file; exports only write regular files", source=str(path))
    if not force:
        raise UserError("already exists; pass --force to replace it, or choose another name with -o", source=str(path))


def _file_kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    import stat

    kinds = [(stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket")]
    return next((words for test, words in kinds if test(mode)), None if stat.S_ISREG(mode) else "not a regular file")


def _is_run_folder(folder: Path) -> bool:
    from nn_tui.core.run.rundir import PRESET_FILE, SUMMARY_FILE

    return (folder / PRESET_FILE).is_file() and (folder / SUMMARY_FILE).is_file()


def unused_output(run: LoadedRun, fmt: str, folder: str | Path = ".") -> Path:
    """default_output, or NAME-2, NAME-3 ... if that is taken: the app exports without overwriting or asking."""
    first = default_output(run, fmt, folder)
    stem, suffix = first.name.removesuffix(SUFFIXES[fmt]), SUFFIXES[fmt]
    path, n = first, 1
    while path.exists() or path.is_symlink() or (fmt == "safetensors" and sidecar_path(path).exists()):
        n += 1
        path = first.with_name(f"{stem}-{n}{suffix}")
    return path


# ---------------------------------------------------------------- formats


def export_script(run: LoadedRun, path: Path) -> None:
    from nn_tui.core.export.script import training_script
    from nn_tui.core.fileio import atomic_write_text

    from nn_tui.core.run.changes import read_changes

    atomic_write_text(path, training_script(run.preset, run_id=run.run_id, summary=run.summary, filename=path.name,
                                            changes=read_changes(run.path)))


def export_onnx(run: LoadedRun, path: Path) -> None:
    """ONNX with a dynamic batch dimension: input `features` (batch, n_features), output `logits` (batch, n_out)."""
    import importlib.util

    import torch

    if importlib.util.find_spec("onnx") is None:
        raise UserError(
            "ONNX export needs the onnx package (and onnxscript for PyTorch's current exporter): "
            "pip install onnx onnxscript, or pip install 'nn-tui[onnx]'"
        )
    example = (torch.zeros(2, run.n_features),)
    new_exporter = importlib.util.find_spec("onnxscript") is not None

    def write(tmp: str) -> None:
        # The exporter prints its progress; keep stdout for the command's own output.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            names = {"input_names": [INPUT_NAME], "output_names": [OUTPUT_NAME]}
            if new_exporter:  # a few kB of weights: one self-contained file
                torch.onnx.export(run.model, example, tmp, dynamo=True, dynamic_shapes=({0: "batch"},),
                                  optimize=True, external_data=False, **names)
            else:
                torch.onnx.export(run.model, example, tmp, dynamo=False,
                                  dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}}, **names)

    atomic_write(path, write)


def export_torchscript(run: LoadedRun, path: Path) -> None:
    """A scripted module (any batch size); load it with torch.jit.load(path)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated in favour of torch.export, but still loads everywhere
        scripted = torch.jit.script(run.model)
        atomic_write(path, lambda tmp: scripted.save(tmp))


def export_safetensors(run: LoadedRun, path: Path) -> None:
    """The weights (keys as in nn.Sequential: 0.weight, 0.bias, ...) and a JSON sidecar describing the network."""
    from nn_tui.core.fileio import atomic_write_json, atomic_write_safetensors

    state = {k: v.detach().contiguous() for k, v in run.model.state_dict().items()}
    atomic_write_safetensors(path, state, {"preset": run.preset.name, "format": "pt"})
    atomic_write_json(sidecar_path(path), architecture(run))


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".safetensors") + ".json")


def architecture(run: LoadedRun) -> dict[str, Any]:
    """The network as data: every module of the nn.Sequential in order, with the weight keys it owns."""
    from torch import nn

    from nn_tui.core.model.network import ACTIVATION_OF_MODULE
    from nn_tui.core.preset import preset_to_dict

    modules: list[dict[str, Any]] = []
    for i, module in enumerate(run.model):
        if isinstance(module, nn.Linear):
            modules.append({"index": i, "type": "Linear", "in_features": module.in_features,
                            "out_features": module.out_features, "weight": f"{i}.weight", "bias": f"{i}.bias"})
        elif isinstance(module, nn.BatchNorm1d):
            modules.append({"index": i, "type": "BatchNorm1d", "num_features": module.num_features, "eps": module.eps,
                            "keys": [f"{i}.{k}" for k in ("weight", "bias", "running_mean", "running_var")]})
        elif isinstance(module, nn.Dropout):
            modules.append({"index": i, "type": "Dropout", "p": module.p})
        else:
            entry: dict[str, Any] = {"index": i, "type": type(module).__name__,
                                     "activation": ACTIVATION_OF_MODULE.get(type(module).__name__)}
            if isinstance(module, nn.LeakyReLU):
                entry["negative_slope"] = module.negative_slope
            modules.append(entry)
    heads = {
        "bce": "one logit; sigmoid(logit) is P(class 1); class 1 when the logit is above 0",
        "cross_entropy": "one logit per class; softmax gives the probabilities; the class is the largest logit",
    }
    return {
        "format": "nn-tui MLP",
        "preset": run.preset.name,
        "run_id": run.run_id,
        "input_features": run.n_features,
        "output_units": run.n_out,
        "loss": run.loss,
        "output": heads.get(run.loss, "predicted values (regression)"),
        "label_names": run.label_names(),
        "modules": modules,
        "pytorch": pytorch_expression(run.model),
        "preset_toml": preset_to_dict(run.preset),
    }


def pytorch_expression(model: nn.Module) -> str:
    """The network as the nn.Sequential(...) expression that rebuilds it (same state-dict keys)."""
    from torch import nn

    parts = []
    for module in model:
        if isinstance(module, nn.Linear):
            parts.append(f"nn.Linear({module.in_features}, {module.out_features})")
        elif isinstance(module, nn.BatchNorm1d):
            parts.append(f"nn.BatchNorm1d({module.num_features})")
        elif isinstance(module, nn.Dropout):
            parts.append(f"nn.Dropout({module.p:g})")
        elif isinstance(module, nn.LeakyReLU):
            parts.append(f"nn.LeakyReLU({module.negative_slope:g})")
        else:
            parts.append(f"nn.{type(module).__name__}()")
    return "nn.Sequential(" + ", ".join(parts) + ")"
