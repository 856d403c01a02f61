"""`nn-tui eval`: score a run folder's saved model on its test split (or on another preset's data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nn_tui.core.errors import UserError
from nn_tui.core.inspection.evaluate import evaluate_model
from nn_tui.core.preset import Preset
from nn_tui.core.run.rundir import PRESET_FILE, WEIGHTS_FILE, check_run_folder
from nn_tui.core.safetensors_io import read_safetensors


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
    data = load_dataset(spec.data.dataset, spec.data.options, spec.seed, spec.data.test_fraction, spec.base_dir)
    loss = preset.training.loss or default_loss(data.task, data.n_classes)
    try:
        check_loss_for_task(loss, data.task, source=str(run_dir / PRESET_FILE))
    except UserError:
        raise UserError(
            f"the run's model was trained with the {loss} loss, which does not fit {spec.data.dataset!r}, "
            f"a {data.task} dataset",
            source=source,
        ) from None
    n_out = output_units(data.task, loss, data.n_classes, data.n_targets)
    model = build_model(data.n_features, preset.layers, n_out)
    state, _ = read_safetensors(weights)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if expected != found:
        first = state.get("0.weight")
        last = [v for k, v in state.items() if k.endswith("weight") and v.ndim == 2]
        saw = (
            f"the saved model takes {first.shape[1]} features and gives {last[-1].shape[0]} outputs"
            if first is not None and first.ndim == 2 and last
            else f"its tensors are {sorted(found)}"
        )
        raise UserError(
            f"{WEIGHTS_FILE} does not fit this data and preset: {saw}; the data has {data.n_features} features "
            f"and needs {n_out} outputs",
            source=source,
        )
    model.load_state_dict(state)
    report = evaluate_model(model, data, loss)
    return {"run_dir": str(run_dir), "preset": preset.name, "dataset": spec.data.dataset, **report}
