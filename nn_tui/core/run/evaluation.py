"""`nn-tui eval`: score a run folder's saved model on its test split (or on another preset's data), refusing
data it cannot score and a preset.toml whose network changed since training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nn_tui.core.datasets import Dataset
from nn_tui.core.errors import UserError
from nn_tui.core.inspection.evaluate import evaluate_model
from nn_tui.core.preset import Preset
from nn_tui.core.run.rundir import PRESET_FILE, WEIGHTS_FILE, check_run_folder
from nn_tui.core.safetensors_io import read_safetensors, read_safetensors_header


def evaluate_run(run_dir: str | Path, data_preset: Preset | None = None) -> dict[str, Any]:
    """Rebuild a run's model from its preset.toml, load model.safetensors, and score it on the test split.

    `data_preset` takes the data from another preset (same features and classes) instead of the run's own.
    """
    from nn_tui.core.datasets import load_dataset
    from nn_tui.core.model.build import build_model, default_loss, output_units
    from nn_tui.core.preset import check_loss_for_task, load_preset

    run_dir = check_run_folder(run_dir, weights=True)
    source = str(run_dir)
    weights = run_dir / WEIGHTS_FILE
    preset = load_preset(run_dir / PRESET_FILE)
    spec = data_preset or preset
    # The model's inputs are the run's: its extra features are computed from whichever data it is scored on.
    data = load_dataset(spec.data.dataset, spec.data.options, spec.seed, spec.data.test_fraction, spec.base_dir,
                        preset.data.extra_features)
    loss = preset.training.loss or default_loss(data.task, data.n_classes)
    try:
        check_loss_for_task(loss, data.task, source=str(run_dir / PRESET_FILE))
    except UserError:
        raise UserError(
            f"the run's model was trained with the {loss} loss, which does not fit {spec.data.dataset!r}, "
            f"a {data.task} dataset",
            source=source,
        ) from None
    check_scorable(weights, preset, data, loss, source=source)
    n_out = output_units(data.task, loss, data.n_classes, data.n_targets)
    model = build_model(data.n_features, preset.layers, n_out)
    state, _ = read_safetensors(weights)
    _refuse_non_finite(state, weights)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if expected != found:
        raise UserError(
            f"{WEIGHTS_FILE} does not fit this data and {PRESET_FILE}: {describe_weight_mismatch(found, expected)}",
            source=source,
        )
    model.load_state_dict(state)
    report = evaluate_model(model, data, loss)
    return {"run_dir": str(run_dir), "preset": preset.name, "dataset": spec.data.dataset, **report}


def _refuse_non_finite(state: dict[str, Any], path: Path) -> None:
    """A score from NaN or infinite weights means nothing: say so instead of printing one."""
    import torch

    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise UserError(
            f"the weights are not finite (NaN or infinity in {', '.join(bad)}); they cannot be scored. "
            "Train the run again, or resume it from a checkpoint",
            source=str(path),
        )


def check_scorable(weights: Path, preset: Preset, data: Dataset, loss: str, *, source: str) -> None:
    """Refuse data the saved model cannot score (other classes, features or task than it was trained on)
    and a preset.toml whose network was edited since (an activation changes no tensor shape).

    Uses the run definition recorded in model.safetensors; older weights without one get the checks that
    need no record (a one-logit bce model scores exactly 2 classes)."""
    from nn_tui.core.run.fingerprint import data_changes, run_definition

    if loss == "bce" and data.n_classes not in (None, 2):
        raise UserError(
            f"the model scores 2 classes (bce: one logit) but this data has {data.n_classes} "
            f"({', '.join(data.label_names or [])}); evaluate it on data with the classes it was trained on",
            source=source,
        )
    saved = check_network_unchanged(weights, preset, source=source)
    if saved is None:
        return
    now = run_definition(preset, data)
    unscorable = [c for c in data_changes(saved.get("data"), now["data"]) if not c.startswith(("data rows", "data values"))]
    if unscorable:
        raise UserError(
            f"the model cannot score this data: {'; '.join(unscorable)} (trained on the first, the data has the second)",
            source=source,
        )


def check_network_unchanged(weights: Path, preset: Preset, *, source: str) -> dict[str, Any] | None:
    """Refuse a preset.toml whose model settings differ from those the weights were trained with (recorded
    in model.safetensors). Returns the recorded run definition, or None for weights without one."""
    from nn_tui.core.run.fingerprint import METADATA_KEY, definition_changes, flatten, from_metadata
    from nn_tui.core.preset import preset_to_dict

    meta = read_safetensors_header(weights).get("__metadata__") or {}
    saved = from_metadata(meta.get(METADATA_KEY)) if isinstance(meta, dict) else None
    if saved is None:
        return None
    model_now = {k: v for k, v in flatten(preset_to_dict(preset)).items() if k.startswith("model.")}
    model_then = {k: v for k, v in saved.get("preset", {}).items() if k.startswith("model.")}
    edited = definition_changes({"preset": model_then}, {"preset": model_now})
    if edited:
        raise UserError(
            f"{weights.name} was trained with another network than preset.toml now describes: {'; '.join(edited[:4])}",
            source=source,
        )
    return saved


def describe_weight_mismatch(found: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]]) -> str:
    """What differs between saved weights and the network a preset builds, in the user's terms:
    input features, outputs, hidden units, or (same shapes, other tensors) batch norm / dropout / activations."""

    def linears(shapes: dict[str, tuple[int, ...]]) -> list[tuple[int, ...]]:
        rows = [(int(k.split(".")[0]), v) for k, v in shapes.items()
                if k.endswith(".weight") and len(v) == 2 and k.split(".")[0].isdigit()]
        return [v for _, v in sorted(rows)]

    saved, wanted = linears(found), linears(expected)
    parts = []
    if saved and wanted:
        if saved[0][1] != wanted[0][1]:
            parts.append(f"the saved model takes {saved[0][1]} features, the data has {wanted[0][1]}")
        if saved[-1][0] != wanted[-1][0]:
            parts.append(f"the saved model gives {saved[-1][0]} outputs, the data needs {wanted[-1][0]}")
        units_saved, units_wanted = [w[0] for w in saved[:-1]], [w[0] for w in wanted[:-1]]
        if units_saved != units_wanted:
            parts.append(f"the saved hidden layers have units {units_saved}, preset.toml's model.layers {units_wanted}")
    if not parts:
        parts.append(
            "the same layer sizes, but batch norm, dropout or a linear activation differ from preset.toml's model.layers "
            f"(saved tensors: {', '.join(sorted(found))}; expected: {', '.join(sorted(expected))})"
        )
    return "; ".join(parts)
