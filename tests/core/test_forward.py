"""The forward pass neuron by neuron, and the truth tables of the logic gates."""

from __future__ import annotations

import pytest
import torch

from nn_tui.core.inspection.forward import describe, forward_trace
from nn_tui.core.model.build import build_model, loss_function
from nn_tui.core.preset import LayerSpec, load_preset, resolve_preset_path
from nn_tui.core.run.runner import Run, prepare_run
from nn_tui.core.inspection.truth_table import truth_table


def test_each_neuron_is_weighted_sum_then_activation():
    torch.manual_seed(1)
    model = build_model(2, [LayerSpec(3, "tanh"), LayerSpec(2, "relu")], 1).requires_grad_(False)
    x = [0.5, -1.25]
    trace = forward_trace(model, x, "bce", target=1)
    W1, b1 = model[0].weight, model[0].bias
    z1 = W1 @ torch.tensor(x) + b1
    assert trace.layers[0].weighted_sum == pytest.approx(z1.tolist(), abs=1e-6)
    assert trace.layers[0].output == pytest.approx(torch.tanh(z1).tolist(), abs=1e-6)
    z2 = model[2].weight @ torch.tanh(z1) + model[2].bias
    assert trace.layers[1].output == pytest.approx(torch.relu(z2).tolist(), abs=1e-6)
    logit = model(torch.tensor([x])).detach()
    assert trace.layers[-1].name == "output" and trace.layers[-1].activation == "sigmoid"
    assert trace.layers[-1].weighted_sum == pytest.approx([float(logit)], abs=1e-6)
    p1 = float(torch.sigmoid(logit))
    assert trace.probabilities == pytest.approx([1 - p1, p1], abs=1e-6)
    assert trace.prediction == int(p1 > 0.5)
    assert trace.loss == pytest.approx(float(loss_function("bce")(logit, torch.tensor([[1.0]]))), abs=1e-6)
    lines = describe(trace, ["x1", "x2"])
    assert lines[0].startswith("input") and lines[-1].startswith("prediction") and "loss" in lines[-1]


def test_batch_norm_softmax_and_regression_traces_match_the_model():
    torch.manual_seed(2)
    model = build_model(4, [LayerSpec(5, "gelu", dropout=0.3, batch_norm=True)], 3)
    model(torch.randn(16, 4))  # moves the running statistics away from their defaults
    model.train()
    x = [0.1, 0.2, -0.3, 0.4]
    trace = forward_trace(model, x, "cross_entropy", target=2, label_names=["a", "b", "c"])
    assert model.training  # restored
    model.eval()
    expected = torch.softmax(model(torch.tensor([x])), 1)[0]
    assert trace.probabilities == pytest.approx(expected.tolist(), abs=1e-6)
    assert trace.prediction_label == "abc"[int(expected.argmax())] and trace.target_label == "c"
    reg = build_model(1, [LayerSpec(4, "relu")], 1)
    rt = forward_trace(reg, [0.7], "mse", target=1.5)
    out = float(reg(torch.tensor([[0.7]])).detach())
    assert rt.probabilities is None and rt.prediction == pytest.approx(out)
    assert rt.loss == pytest.approx((out - 1.5) ** 2, rel=1e-5)


def trained(name: str):
    run = Run(prepare_run(load_preset(resolve_preset_path(name))), out_dir=None)
    run.execute()
    return run.trainer.model, run.prepared.preset


def test_truth_tables_say_what_a_tutorial_says():
    model, preset = trained("xor")
    table = truth_table(model, "xor", preset.training.loss, len(preset.layers))
    assert [(r.x1, r.x2, r.target) for r in table.rows] == [(0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0)]
    assert table.solved and table.verdict.startswith("XOR solved")
    assert all(r.correct for r in table.rows)
    assert [r.prediction for r in table.rows] == [0, 1, 1, 0]
    assert table.rows[1].probability > 0.9 and table.rows[0].probability < 0.1

    model, preset = trained("xor_perceptron")
    table = truth_table(model, "xor", preset.training.loss, len(preset.layers))
    assert not table.solved
    assert table.verdict.startswith("a network with no hidden layer cannot separate XOR")


def test_and_needs_no_hidden_layer():
    model, preset = trained("and")
    table = truth_table(model, "and", preset.training.loss, 0)
    assert table.solved and table.verdict.startswith("AND solved")
    with pytest.raises(ValueError):
        truth_table(model, "nand", "bce", 0)
