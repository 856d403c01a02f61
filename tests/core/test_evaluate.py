"""Evaluation: the metrics against hand-worked examples and scikit-learn, summary.json, and scoring a run folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nn_tui.core.errors import UserError
from nn_tui.core.inspection.evaluate import (
    classification_metrics,
    format_report,
    predict,
    regression_metrics,
)
from nn_tui.core.run.evaluation import evaluate_run
from nn_tui.core.preset import bundled_presets, load_preset
from nn_tui.core.run.rundir import WEIGHTS_FILE, read_summary
from nn_tui.core.run.runner import train_preset


def test_classification_metrics_by_hand():
    m = classification_metrics(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0]), ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(0.6)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]  # rows true, columns predicted
    a, b, c = m["per_class"]
    assert (a["label"], a["precision"], a["recall"], a["support"]) == ("a", 0.5, 0.5, 2)
    assert (b["precision"], b["recall"], b["support"]) == (pytest.approx(2 / 3), 1.0, 2)
    assert (c["precision"], c["recall"], c["support"]) == (0.0, 0.0, 1)  # never predicted: 0, not a crash
    assert m["labels"] == ["a", "b", "c"]


def test_classification_metrics_match_scikit_learn():
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    p[:150] = y[:150]
    m = classification_metrics(y, p, list("wxyz"))
    precision, recall, _, support = precision_recall_fscore_support(y, p, labels=range(4), zero_division=0)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, p))
    assert m["confusion_matrix"] == confusion_matrix(y, p, labels=range(4)).tolist()
    np.testing.assert_allclose([c["precision"] for c in m["per_class"]], precision)
    np.testing.assert_allclose([c["recall"] for c in m["per_class"]], recall)
    assert [c["support"] for c in m["per_class"]] == support.tolist()


def test_regression_metrics_match_scikit_learn():
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    rng = np.random.default_rng(1)
    y = rng.normal(size=(200, 2)) * [1, 10]
    p = y + rng.normal(size=(200, 2))
    m = regression_metrics(y, p, ["small", "big"])
    assert m["r2"] == pytest.approx(r2_score(y, p))  # uniform average over outputs, as val_r2
    assert m["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, p)))
    assert m["mae"] == pytest.approx(mean_absolute_error(y, p))
    assert [t["target"] for t in m["per_target"]] == ["small", "big"]
    assert m["per_target"][1]["r2"] == pytest.approx(r2_score(y[:, 1], p[:, 1]))


def test_perfect_regression():
    y = np.arange(10.0)
    m = regression_metrics(y, y.copy())
    assert (m["r2"], m["rmse"], m["mae"]) == (1.0, 0.0, 0.0)


def test_predict_turns_logits_into_classes():
    import torch

    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight[:] = torch.tensor([[1.0, 0.0]])
        model.bias.zero_()
    X = np.array([[-1.0, 0], [2.0, 0]], dtype=np.float32)
    assert predict(model, X, "bce").tolist() == [0, 1]
    assert predict(model, X, "mse").reshape(-1).tolist() == [-1.0, 2.0]
    assert model.training  # mode restored


def test_summary_json_has_the_evaluation_of_the_saved_weights(tmp_path):
    finished, run = train_preset(load_preset(bundled_presets()["iris"]), out_dir=tmp_path)
    summary = read_summary(run.run_dir.path)
    ev = summary["evaluation"]
    assert ev["split"] == "test" and ev["samples"] == summary["val_samples"] == 30
    assert ev["accuracy"] == pytest.approx(finished.final["val_accuracy"])  # same weights, same rows
    assert [c["label"] for c in ev["per_class"]] == ["setosa", "versicolor", "virginica"]
    assert sum(map(sum, ev["confusion_matrix"])) == 30
    assert run.evaluation == ev  # the app reads it from the Run

    # `nn-tui eval` rebuilds the model from preset.toml + model.safetensors and gets the same numbers.
    again = evaluate_run(run.run_dir.path)
    assert again["confusion_matrix"] == ev["confusion_matrix"] and again["accuracy"] == ev["accuracy"]
    text = format_report(again)
    assert "setosa" in text and "confusion matrix" in text


def test_regression_run_and_truth_table_runs(tmp_path):
    p = load_preset(bundled_presets()["linear"])
    finished, run = train_preset(p, out_dir=tmp_path)
    ev = read_summary(run.run_dir.path)["evaluation"]
    assert set(ev) >= {"r2", "rmse", "mae"} and ev["r2"] == pytest.approx(finished.final["val_r2"], abs=1e-5)
    assert ev["rmse"] < 0.2  # noise is 0.1
    assert "R²" in format_report(evaluate_run(run.run_dir.path))

    finished, run = train_preset(load_preset(bundled_presets()["xor"]), out_dir=tmp_path)
    ev = read_summary(run.run_dir.path)["evaluation"]
    assert ev["split"] == "train" and ev["samples"] == 4  # nothing held out: scored on the 4 rows


def test_eval_on_another_presets_data(tmp_path):
    finished, run = train_preset(load_preset(bundled_presets()["iris"], ["training.epochs=5"]), out_dir=tmp_path)
    other = load_preset(bundled_presets()["iris"], ["seed=1", "data.test_fraction=0.5"])
    report = evaluate_run(run.run_dir.path, other)
    assert report["samples"] == 75
    wine = load_preset(bundled_presets()["wine"])
    with pytest.raises(UserError, match="cannot score this data: data features 4 → 13"):
        evaluate_run(run.run_dir.path, wine)
    diabetes = load_preset(bundled_presets()["diabetes"])
    with pytest.raises(UserError, match="trained with the cross_entropy loss, which does not fit 'diabetes', a regression"):
        evaluate_run(run.run_dir.path, diabetes)


def test_bad_run_folders(tmp_path):
    with pytest.raises(UserError, match="no such run folder"):
        evaluate_run(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not a folder"):
        evaluate_run(tmp_path / "file")
    with pytest.raises(UserError, match="no preset.toml"):
        evaluate_run(tmp_path)
    finished, run = train_preset(load_preset(bundled_presets()["and"], ["training.epochs=2"]), out_dir=tmp_path)
    weights = run.run_dir.path / WEIGHTS_FILE
    weights.write_bytes(b"\x80\x04 pickle, not safetensors")
    with pytest.raises(UserError, match="Python pickle, not safetensors"):
        evaluate_run(run.run_dir.path)
    weights.unlink()
    with pytest.raises(UserError, match="no model.safetensors"):
        evaluate_run(run.run_dir.path)


def test_report_is_json_serialisable():
    m = classification_metrics(np.array([0, 1]), np.array([0, 1]), ["no", "yes"])
    assert json.loads(json.dumps(m)) == m
