"""Scores for a trained model on held-out data: accuracy, per-class precision/recall and the confusion
matrix for classification; R², RMSE and MAE for regression. Plain numpy, no scikit-learn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nn_tui.core.datasets import CLASSIFICATION, Dataset

if TYPE_CHECKING:
    import numpy as np
    import torch


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
