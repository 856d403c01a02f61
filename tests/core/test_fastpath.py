"""The trainer's fast path computes exactly what the nn.Module / torch.optim calls it replaces compute."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

from nn_tui.core.fastpath import FusedAdamStep, mode_matters, optimizer_step, plain_forward, plain_loss  # noqa: E402
from nn_tui.core.model import build_model, loss_function, make_optimizer  # noqa: E402
from nn_tui.core.preset import ACTIVATIONS, LayerSpec, TrainingSpec  # noqa: E402


def _data(loss: str, n: int = 32):
    g = torch.Generator().manual_seed(1)
    X = torch.randn(n, 5, generator=g)
    if loss == "cross_entropy":
        return X, torch.randint(0, 3, (n,), generator=g), 3
    y = torch.randn(n, 1, generator=g)
    return X, ((y > 0).float() if loss == "bce" else y), 1


LOSSES = ["cross_entropy", "bce", "mse", "huber", "mae"]
CASES = [(act, LOSSES[i % len(LOSSES)], "adam") for i, act in enumerate(ACTIVATIONS)] + [
    ("relu", loss, "adamw") for loss in LOSSES
]


@pytest.mark.parametrize(("activation", "loss", "optimizer"), CASES)
def test_fast_step_is_bit_identical_to_module_and_optimizer(optimizer, loss, activation):
    torch.manual_seed(0)
    X, y, n_out = _data(loss)
    reference = build_model(5, [LayerSpec(8, activation), LayerSpec(6, activation)], n_out)
    fast = copy.deepcopy(reference)
    spec = TrainingSpec(loss=loss, optimizer=optimizer, lr=0.01, weight_decay=0.01)
    opt_ref, opt_fast = make_optimizer(reference.parameters(), spec, "cpu"), make_optimizer(fast.parameters(), spec, "cpu")
    loss_ref = loss_function(loss)
    forward, loss_fast, step = plain_forward(fast), plain_loss(loss, loss_function(loss)), optimizer_step(opt_fast)
    assert isinstance(step, FusedAdamStep)
    for _ in range(5):
        a = loss_ref(reference(X), y)
        opt_ref.zero_grad()
        a.backward()
        opt_ref.step()
        b = loss_fast(forward(X), y)
        for p in fast.parameters():
            p.grad = None
        b.backward()
        step()
        assert torch.equal(a, b)
    for p, q in zip(reference.parameters(), fast.parameters()):
        assert torch.equal(p, q)
    ref_state, fast_state = opt_ref.state_dict()["state"], opt_fast.state_dict()["state"]
    for k in ref_state:
        for name in ref_state[k]:
            assert torch.equal(ref_state[k][name], fast_state[k][name])


def test_fast_step_follows_a_replaced_optimizer_state():
    """load_state_dict (resume) replaces the state tensors: the fast step must step the new ones."""
    torch.manual_seed(0)
    X, y, n_out = _data("mse")
    model = build_model(5, [LayerSpec(4, "tanh")], n_out)
    opt = make_optimizer(model.parameters(), TrainingSpec(loss="mse", optimizer="adam"), "cpu")
    step = optimizer_step(opt)
    for _ in range(3):
        torch.nn.functional.mse_loss(model(X), y).backward()
        step()
    saved = copy.deepcopy(opt.state_dict())
    opt.load_state_dict(saved)
    torch.nn.functional.mse_loss(model(X), y).backward()
    step()
    assert all(float(s["step"]) == 4 for s in opt.state.values())


def test_mode_dependent_layers_keep_module_calls():
    model = build_model(3, [LayerSpec(4, "relu", dropout=0.5, batch_norm=True)], 2)
    assert mode_matters(model)
    assert not mode_matters(build_model(3, [LayerSpec(4, "relu")], 2))
    forward = plain_forward(model)
    model.eval()
    X = torch.randn(8, 3)
    assert torch.equal(forward(X), model(X))  # dropout off and running stats used, as in eval mode


def test_forward_hooks_disable_the_plain_forward():
    model = build_model(3, [LayerSpec(4, "relu")], 2)
    calls = []
    model[1].register_forward_hook(lambda m, i, o: calls.append(1))
    forward = plain_forward(model)
    forward(torch.randn(2, 3))
    assert calls == [1]


def test_other_optimizers_use_their_own_step():
    model = build_model(3, [], 1)
    opt = make_optimizer(model.parameters(), TrainingSpec(loss="mse", optimizer="sgd"), "cpu")
    assert optimizer_step(opt) == opt.step
