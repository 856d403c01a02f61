"""The trainer's fast path computes exactly what the nn.Module / torch.optim calls it replaces compute."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

from nn_tui.core.training.fastpath import FusedAdamStep, mode_matters, optimizer_step, plain_forward, plain_loss  # noqa: E402
from nn_tui.core.model.build import build_model, loss_function, make_optimizer  # noqa: E402
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


def _xor_trainer(on_event=None, epochs: int = 40):
    from nn_tui.core.preset import load_preset, resolve_preset_path
    from nn_tui.core.run.runner import prepare_run
    from nn_tui.core.training.events import EpochEnd
    from nn_tui.core.training.trainer import Trainer

    prepared = prepare_run(load_preset(resolve_preset_path("xor"), [f"training.epochs={epochs}", 'training.device="cpu"']))
    rows = []

    def record(e):
        if isinstance(e, EpochEnd):
            rows.append({k: v for k, v in e.row().items() if k != "seconds"})
        if on_event is not None:
            on_event(e)

    trainer = Trainer(prepared.preset, prepared.data, n_out=prepared.n_out, on_event=record)
    trainer.rows = rows
    return trainer


def _rows(trainer):
    trainer.run()
    return trainer.rows, [t.clone() for t in trainer.model.state_dict().values()]


def test_full_batch_validation_on_training_rows_reuses_the_forward_pass_exactly():
    """XOR: the validation pass after an epoch doubles as the next epoch's training forward; results must
    match a trainer that evaluates separately, also when a callback changes the weights in between."""
    from nn_tui.core.training.events import EpochEnd

    fast = _xor_trainer()
    forwards = [0]
    inner = fast._forward
    fast._forward = lambda x: (forwards.__setitem__(0, forwards[0] + 1), inner(x))[1]
    rows_fast, weights_fast = _rows(fast)
    assert forwards[0] == 41  # one per epoch, plus the first epoch's

    plain = _xor_trainer()
    plain._mode_matters = True  # disables the reuse: a separate evaluation every epoch
    rows_plain, weights_plain = _rows(plain)
    assert rows_fast == rows_plain
    assert all(torch.equal(a, b) for a, b in zip(weights_fast, weights_plain))

    def nudge(box):
        def on_event(e):
            if isinstance(e, EpochEnd) and e.epoch == 10:
                with torch.no_grad():
                    box[0].model[0].weight.mul_(0.5)  # e.g. a probe or a restore touching the weights
        return on_event

    box_a, box_b = [], []
    a = _xor_trainer(nudge(box_a))
    box_a.append(a)
    b = _xor_trainer(nudge(box_b))
    box_b.append(b)
    b._mode_matters = True
    assert _rows(a)[0] == _rows(b)[0]
