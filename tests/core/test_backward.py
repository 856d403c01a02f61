"""The backward pass worked out by hand equals torch.autograd's gradients, for every weight, bias and neuron."""

from __future__ import annotations

import math

import pytest
import torch

from nn_tui.core.inspection.backward import backward_trace
from nn_tui.core.model.build import build_model, loss_function
from nn_tui.core.model.network import layers_of
from nn_tui.core.preset import LayerSpec

CASES = [
    # (inputs, hidden layers, outputs, loss, target)
    (2, [LayerSpec(4, "tanh")], 1, "bce", 1),
    (2, [], 1, "bce", 0),  # a perceptron: the chain rule is the output's own
    (3, [LayerSpec(5, "relu", batch_norm=True, dropout=0.3), LayerSpec(4, "gelu")], 4, "cross_entropy", 2),
    (1, [LayerSpec(6, "sigmoid"), LayerSpec(3, "elu")], 1, "mse", 0.7),
    (2, [LayerSpec(5, "silu"), LayerSpec(3, "leaky_relu")], 2, "huber", [0.3, -1.5]),
    (2, [LayerSpec(4, "linear")], 1, "mae", -0.4),
]


def autograd_gradients(model, x, loss, target):
    """What torch computes for the same sample: parameter grads, and ∂L/∂z of every layer (after batch norm)."""
    model = model.eval()
    layers = layers_of(model)
    zs = []
    for layer in layers:
        hooked = layer.batch_norm if layer.batch_norm is not None else layer.linear
        def keep(mod, inp, out):
            out.retain_grad()
            zs.append(out)

        hooked.register_forward_hook(keep)
    xt = torch.tensor([x], dtype=torch.float32)
    if loss == "cross_entropy":
        yt = torch.tensor([target])
    elif loss == "bce":
        yt = torch.tensor([[float(target)]])
    else:
        yt = torch.tensor([target if isinstance(target, list) else [target]], dtype=torch.float32)
    value = loss_function(loss)(model(xt), yt)
    value.backward()
    return value.item(), layers, [z.grad[0] for z in zs]


@pytest.mark.parametrize("n_in, hidden, n_out, loss, target", CASES)
def test_hand_backprop_equals_autograd(n_in, hidden, n_out, loss, target):
    torch.manual_seed(7)
    model = build_model(n_in, hidden, n_out)
    for m in model.modules():  # batch norm with statistics that are not the identity
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
    x = [float(v) for v in torch.linspace(-1.2, 0.9, n_in)]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trace = backward_trace(model, x, loss, target)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the model is not touched
    assert all(p.grad is None for p in model.parameters())

    value, layers, dz = autograd_gradients(model, x, loss, target)
    assert trace.loss == pytest.approx(value, rel=1e-6)
    assert len(trace.layers) == len(layers)
    for mine, layer, z_grad in zip(trace.layers, layers, dz):
        assert torch.allclose(torch.tensor(mine.dL_dw), layer.linear.weight.grad, rtol=1e-5, atol=1e-7), mine.name
        assert torch.allclose(torch.tensor(mine.dL_db), layer.linear.bias.grad, rtol=1e-5, atol=1e-7), mine.name
        assert torch.allclose(torch.tensor(mine.dL_dz), z_grad, rtol=1e-5, atol=1e-7), mine.name

    c = trace.chain
    assert c is not None and c.layer == trace.layers[c.layer_index].name
    first = layers[c.layer_index].linear.weight.grad
    assert c.dL_dw == pytest.approx(float(first[c.neuron, c.input]), rel=1e-5, abs=1e-8)
    assert abs(c.dL_dw) == pytest.approx(float(first.abs().max()), rel=1e-5, abs=1e-8)
    product = c.dL_dz * c.x if c.dL_da is None else c.dL_da * c.f_prime * (c.bn_scale or 1.0) * c.x
    assert product == pytest.approx(c.dL_dw, rel=1e-5, abs=1e-8)
    assert c.text().startswith("∂L/∂w = ") and c.text().endswith(f"{c.dL_dw:+.4g}")


def test_chain_rule_is_for_the_first_layer_with_a_gradient():
    torch.manual_seed(0)
    model = build_model(2, [LayerSpec(3, "tanh")], 1)
    assert backward_trace(model, [0.5, -1.0], "bce", 1).chain.layer == "hidden 1"
    # inputs of zero: every first-layer ∂L/∂w is 0, so the rule is shown for the output layer's weights
    zero = backward_trace(model, [0.0, 0.0], "bce", 1)
    assert all(v == 0 for row in zero.layers[0].dL_dw for v in row)
    assert zero.chain.layer == "output" and zero.chain.dL_dw != 0 and zero.chain.dL_da is None


def test_chain_rule_text_reads_like_the_tutorial():
    torch.manual_seed(0)
    trace = backward_trace(build_model(2, [LayerSpec(3, "tanh")], 1), [0.5, -1.0], "bce", 1)
    text = trace.chain.text("x1")
    assert "∂L/∂a · f′(z) · x1 = " in text
    parts = text.split(" = ")[2]
    a, f, x = (float(v) for v in parts.split(" · "))
    assert math.isclose(a * f * x, trace.chain.dL_dw, rel_tol=2e-3)
