"""Training health: the numbers per layer, the verdicts, and that watching never changes the run."""

from __future__ import annotations

import math

import pytest
import torch

from nn_tui.core.inspection.health import measure_health
from nn_tui.core.inspection.sampling import HealthSampler, read_health
from nn_tui.core.model.build import build_model, loss_function
from nn_tui.core.preset import LayerSpec, parse_preset
from nn_tui.core.run.runner import Run, prepare_run


@pytest.fixture(scope="module")
def moons():
    from nn_tui.core.datasets import load_dataset

    data = load_dataset("moons", {"samples": 512, "noise": 0.1}, 0, 0.2)
    X = torch.from_numpy(data.X_train[:256])
    y = torch.from_numpy(data.y_train[:256]).float().unsqueeze(1)
    return X, y


def health_of(layers, X, y, *, seed=0, optimizer=False):
    torch.manual_seed(seed)
    model = build_model(2, layers, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1) if optimizer else None
    return model, measure_health(model, X, y, loss_function("bce"), optimizer=opt, global_step=100)


def test_deep_sigmoid_network_is_flagged_vanishing(moons):
    _, report = health_of([LayerSpec(16, "sigmoid")] * 8, *moons)
    kinds = [v.kind for v in report.verdicts]
    assert "vanishing" in kinds, report.verdicts
    text = next(v.text for v in report.verdicts if v.kind == "vanishing")
    assert text.startswith("vanishing gradients") and "try ReLU, batch norm, or a smaller depth" in text
    first, last = report.layers[0], report.layers[-1]
    assert first.grad_rms < 1e-3 * last.grad_rms  # orders of magnitude below the output side
    assert not report.healthy


def test_relu_network_is_healthy(moons):
    _, report = health_of([LayerSpec(16, "relu")] * 3, *moons, optimizer=True)
    assert report.healthy, report.verdicts
    assert [v.kind for v in report.verdicts] == ["healthy"]
    assert [lh.name for lh in report.layers] == ["hidden 1", "hidden 2", "hidden 3", "output"]
    for lh in report.layers:
        assert lh.grad_norm > 0 and lh.weight_norm > 0
        assert 0 < lh.update_ratio < 0.3
    assert all(lh.dead_fraction is not None and 0 <= lh.dead_fraction < 0.5 for lh in report.layers[:-1])
    assert report.layers[-1].dead_fraction is None and report.layers[-1].saturated_fraction is None


def test_dead_relus_and_saturated_sigmoids_are_named(moons):
    X, y = moons
    model, _ = health_of([LayerSpec(8, "relu"), LayerSpec(8, "sigmoid")], X, y)
    with torch.no_grad():
        model[0].bias.fill_(-100.0)  # every ReLU of layer 1 is off for every input: dead
        model[2].weight.mul_(0).add_(50.0)  # huge weights drive the sigmoids to their flat ends
        model[2].bias.fill_(50.0)
    report = measure_health(model, X, y, loss_function("bce"))
    by_name = {lh.name: lh for lh in report.layers}
    assert by_name["hidden 1"].dead_fraction == 1.0
    assert by_name["hidden 2"].saturated_fraction == 1.0
    kinds = {(v.kind, v.layer) for v in report.verdicts}
    assert ("dead", "hidden 1") in kinds and ("saturated", "hidden 2") in kinds
    assert any("try leaky_relu" in v.text for v in report.verdicts)


def test_exploding_gradients_are_flagged(moons):
    X, y = moons
    model, _ = health_of([LayerSpec(16, "linear")] * 4, X, y)
    with torch.no_grad():
        for m in model:
            if isinstance(m, torch.nn.Linear):
                m.weight.mul_(30.0)
    report = measure_health(model, X, y, loss_function("bce"))
    assert "exploding" in [v.kind for v in report.verdicts]
    assert any("gradient clipping" in v.text for v in report.verdicts)


def test_the_update_ratio_step_is_undone(moons):
    X, y = moons
    model, _ = health_of([LayerSpec(8, "relu")], X, y)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_function("bce")(model(X), y).backward()
    opt.step()  # real state to keep
    before = [p.detach().clone() for p in model.parameters()]
    state = {k: v.clone() for k, v in opt.state[model[0].weight].items()}
    report = measure_health(model, X, y, loss_function("bce"), optimizer=opt)
    assert all(lh.update_ratio is not None and lh.update_ratio > 0 for lh in report.layers)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert all(torch.equal(state[k], v) for k, v in opt.state[model[0].weight].items())


def test_watching_does_not_change_the_run_and_is_rate_limited():
    raw = {"data": {"dataset": "moons", "samples": 300}, "model": {"layers": [{"units": 8, "dropout": 0.2,
           "batch_norm": True}]}, "training": {"epochs": 4, "grad_clip": 1.0}}

    def train(probe):
        run = Run(prepare_run(parse_preset(raw)), out_dir=None, callbacks=[probe] if probe is not None else [])
        finished = run.execute()
        return {k: v for k, v in finished.final.items() if k != "seconds"}

    every_time = HealthSampler(interval=0.0)
    assert train(None) == train(every_time)
    assert every_time.reports >= 5 and not every_time.errors  # start, each epoch end, finish
    rarely = HealthSampler(interval=3600.0)
    train(rarely)
    assert rarely.reports == 2  # the start and the finish only


def test_health_csv(tmp_path):
    probe = HealthSampler(interval=0.0, csv_path=tmp_path / "health.csv")
    run = Run(prepare_run(parse_preset({"data": {"dataset": "xor"}, "model": {"layers": [{"units": 4, "activation": "tanh"}]},
                                        "training": {"epochs": 3, "lr": 0.1}})), out_dir=None, callbacks=[probe])
    run.execute()
    rows = read_health(tmp_path / "health.csv")
    assert [r["layer"] for r in rows[:2]] == ["hidden 1", "output"]
    assert len(rows) == 2 * probe.reports
    assert rows[0]["epoch"] == 0 and rows[-1]["epoch"] == 3
    assert rows[0]["activation"] == "tanh" and rows[0]["saturated_fraction"] is not None
    assert rows[0]["dead_fraction"] is None
    assert all(math.isfinite(r["grad_norm"]) for r in rows)
