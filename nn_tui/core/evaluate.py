"""Scores for a trained model on held-out data: accuracy, per-class precision/recall and the confusion
matrix for classification; R², RMSE and MAE for regression. Plain numpy, no scikit-learn."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nn_tui.core.datasets import CLASSIFICATION, Dataset
from nn_tui.core.errors import UserError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from nn_tui.core.preset import Preset

CHUNK = 65536


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, label_names: list[str]) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/support and the confusion matrix (rows: true, columns: predicted).

    A class that is never predicted has precision 0.0; one that never occurs has recall 0.0 (support says which).
    """
    import numpy as np

    k = len(label_names)
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    matrix = np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k) if len(y_true) else np.zeros((k, k), int)
    correct = np.diag(matrix)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    per_class = []
    for i, name in enumerate(label_names):
        per_class.append(
            {
                "label": name,
                "precision": float(correct[i] / predicted[i]) if predicted[i] else 0.0,
                "recall": float(correct[i] / actual[i]) if actual[i] else 0.0,
                "support": int(actual[i]),
            }
        )
    n = int(matrix.sum())
    present = [c for c in per_class if c["support"]]
    return {
        "accuracy": float(correct.sum() / n) if n else 0.0,
        "macro_precision": float(np.mean([c["precision"] for c in present])) if present else 0.0,
        "macro_recall": float(np.mean([c["recall"] for c in present])) if present else 0.0,
        "per_class": per_class,
        "labels": list(label_names),
        "confusion_matrix": matrix.astype(int).tolist(),
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, target_names: list[str] | None = None) -> dict[str, Any]:
    """R² (averaged over outputs, as the trainer's val_r2), RMSE and MAE (over all outputs), and per output."""
    import numpy as np

    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == 1:
        y_true = y_true[:, None]
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    names = list(target_names or [f"y{i + 1}" for i in range(y_true.shape[1])])
    err = y_pred - y_true
    sse = (err**2).sum(axis=0)
    sst = np.maximum(((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0), 1e-12)
    r2 = 1 - sse / sst
    per_target = [
        {
            "target": name,
            "r2": float(r2[i]),
            "rmse": float(np.sqrt((err[:, i] ** 2).mean())),
            "mae": float(np.abs(err[:, i]).mean()),
        }
        for i, name in enumerate(names)
    ]
    return {
        "r2": float(r2.mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "mae": float(np.abs(err).mean()),
        "per_target": per_target,
    }


def predict(model: torch.nn.Module, X: np.ndarray | torch.Tensor, loss: str, device: str | torch.device = "cpu"):
    """Class indices (classification losses) or predicted values (regression), as a numpy array.

    Runs in eval mode (dropout off, batch-norm running statistics) and restores the model's mode afterwards.
    """
    import numpy as np
    import torch

    was_training = model.training
    model.eval()
    outputs = []
    with torch.inference_mode():
        Xt = torch.as_tensor(X).to(device)
        for start in range(0, len(Xt), CHUNK):
            out = model(Xt[start : start + CHUNK])
            if loss == "bce":
                out = (out[:, 0] > 0).long()
            elif loss == "cross_entropy":
                out = out.argmax(1)
            outputs.append(out.cpu())
    model.train(was_training)
    if not outputs:
        return np.zeros((0,), dtype=np.int64) if loss in ("bce", "cross_entropy") else np.zeros((0, 1), np.float32)
    return torch.cat(outputs).numpy()


def evaluate_model(
    model: torch.nn.Module, data: Dataset, loss: str, *, device: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Scores on the data's test split (the held-out rows the run validated on), or on the training rows
    for sets with nothing held out (AND/OR/XOR)."""
    on_train = data.validation_on_train or len(data.X_test) == 0
    X, y = (data.X_train, data.y_train) if on_train else (data.X_test, data.y_test)
    pred = predict(model, X, loss, device)
    out: dict[str, Any] = {"split": "train" if on_train else "test", "samples": int(len(X)), "task": data.task}
    if data.task == CLASSIFICATION:
        names = data.label_names or [str(i) for i in range(int(max(y.max(), pred.max())) + 1)]
        out.update(classification_metrics(y, pred, names))
    else:
        out.update(regression_metrics(y, pred, data.target_names))
    return out


def format_report(report: dict[str, Any]) -> str:
    """A plain-text report: headline numbers, then a per-class table and the confusion matrix (or per target)."""
    lines = [f"{report['samples']} samples ({report['split']} split)"]
    if report["task"] == CLASSIFICATION:
        lines.append(f"accuracy {report['accuracy']:.4f}   macro precision {report['macro_precision']:.4f}   "
                     f"macro recall {report['macro_recall']:.4f}")
        width = max([len("class")] + [len(c["label"]) for c in report["per_class"]])
        lines.append("")
        lines.append(f"{'class'.ljust(width)}  precision  recall  support")
        for c in report["per_class"]:
            lines.append(f"{c['label'].ljust(width)}  {c['precision']:9.4f}  {c['recall']:6.4f}  {c['support']:7d}")
        matrix = report["confusion_matrix"]
        cell = max([len(str(v)) for row in matrix for v in row] + [len(str(i)) for i in range(len(matrix))])
        lines.append("")
        lines.append("confusion matrix (rows: true class, columns: predicted class, in the order above)")
        row_labels = [f"{i} {c['label']}" for i, c in enumerate(report["per_class"])]
        lw = max(len(r) for r in row_labels) + 2
        lines.append(" " * lw + " ".join(str(i).rjust(cell) for i in range(len(matrix))))
        for label, row in zip(row_labels, matrix):
            lines.append(label.ljust(lw) + " ".join(str(v).rjust(cell) for v in row))
    else:
        lines.append(f"R² {report['r2']:.4f}   RMSE {report['rmse']:.4g}   MAE {report['mae']:.4g}")
        if len(report["per_target"]) > 1:
            for t in report["per_target"]:
                lines.append(f"  {t['target']}: R² {t['r2']:.4f}  RMSE {t['rmse']:.4g}  MAE {t['mae']:.4g}")
    return "\n".join(lines)


def evaluate_run(run_dir: str | Path, data_preset: Preset | None = None) -> dict[str, Any]:
    """Rebuild a run's model from its preset.toml, load model.safetensors, and score it on the test split.

    `data_preset` takes the data from another preset (same features and classes) instead of the run's own.
    """
    from nn_tui.core.datasets import load_dataset
    from nn_tui.core.model import build_model, default_loss, output_units
    from nn_tui.core.preset import check_loss_for_task, load_preset
    from nn_tui.core.rundir import PRESET_FILE, WEIGHTS_FILE, check_run_folder

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
    check_scorable(weights, preset, data, loss, source=source)
    n_out = output_units(data.task, loss, data.n_classes, data.n_targets)
    model = build_model(data.n_features, preset.layers, n_out)
    state = _read_weights(weights)
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


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """Weights from a safetensors file (never pickle)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise UserError(f"not a readable safetensors file: {exc}", source=str(path)) from None


def check_scorable(weights: Path, preset: Preset, data: Dataset, loss: str, *, source: str) -> None:
    """Refuse data the saved model cannot score (other classes, features or task than it was trained on)
    and a preset.toml whose network was edited since (an activation changes no tensor shape).

    Uses the run definition recorded in model.safetensors; older weights without one get the checks that
    need no record (a one-logit bce model scores exactly 2 classes)."""
    from nn_tui.core.fingerprint import data_changes, run_definition

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
    from nn_tui.core.checkpoint import read_safetensors_header
    from nn_tui.core.fingerprint import METADATA_KEY, definition_changes, flatten, from_metadata
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
