"""Vectorised trials (nn_tui.core.training.batched via nn_tui.core.run.together): every row of a trial's metrics.csv
matches the same trial trained alone, for Adam, SGD with momentum and weight decay, dropout, batch norm, a
scheduler, gradient clipping and L1; a trial that diverges or stops early leaves the group, the others go on."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from nn_tui.core.preset import load_preset
from nn_tui.core.run.runner import Run, prepare_run
from nn_tui.core.run.together import execute_together

ROOT = Path(__file__).resolve().parents[2]
RTOL = 1e-5
SPIRAL = ["data.samples=200", "data.batch_size=32", "expect={}"]


def rows(run_dir) -> list[dict[str, str]]:
    with open(Path(run_dir) / "metrics.csv") as f:
        return list(csv.DictReader(f))


def both(tmp_path, base: str, variants: list[list[str]]):
    presets = [load_preset(ROOT / "presets" / f"{base}.toml", v + ["expect={}"]) for v in variants]
    alone = [Run(prepare_run(p), out_dir=tmp_path / "alone").execute() for p in presets]
    together = execute_together([Run(prepare_run(p), out_dir=tmp_path / "together") for p in presets])
    return alone, together


def assert_same_rows(alone, together):
    for a, t in zip(alone, together):
        assert (a.status, a.epochs_run) == (t.status, t.epochs_run), t.message
        ra, rt = rows(a.run_dir), rows(t.run_dir)
        assert len(ra) == len(rt) == a.epochs_run
        for x, y in zip(ra, rt):
            for key in [k for k in x if k not in ("seconds", "samples_per_sec")]:
                assert float(y[key]) == pytest.approx(float(x[key]), rel=RTOL, abs=1e-12), (key, x, y)


def test_adam_seeds_and_learning_rates_match_alone(tmp_path):
    variants = [[f"seed={s}", f"training.lr={lr}", "training.epochs=60"] for s in (1, 2) for lr in (0.05, 0.2)]
    variants.append(["seed=3", "training.epochs=40", "training.weight_decay=0.01", "training.scheduler='step'"])
    assert_same_rows(*both(tmp_path, "xor", variants))


def test_sgd_momentum_weight_decay_clipping_dropout_match_alone(tmp_path):
    layers = "model.layers=[{units=16,activation='relu',dropout=%s},{units=16,activation='relu'}]"
    variants = [
        ["seed=1", "training.epochs=4", "training.optimizer='momentum'", "training.weight_decay=0.001", layers % 0.2, *SPIRAL],
        ["seed=2", "training.epochs=4", "training.optimizer='sgd'", "training.lr=0.1", layers % 0.1, *SPIRAL],
        ["seed=3", "training.epochs=3", "training.optimizer='momentum'", "training.momentum=0.5", "training.grad_clip=0.1",
         "training.scheduler='cosine'", "training.l1=0.001", layers % 0.5, *SPIRAL],
    ]
    assert_same_rows(*both(tmp_path, "spiral", variants))


def test_batch_norm_and_adamw_match_alone(tmp_path):
    # Batch norm with SGD: with Adam, the bias of the Linear layer right before a batch norm has a gradient that
    # is only rounding noise, which Adam scales up to a full step, so two summation orders part ways there.
    layers = "model.layers=[{units=16,activation='relu',batch_norm=true},{units=16,activation='tanh'}]"
    variants = [["seed=%d" % s, "training.epochs=4", "training.optimizer='momentum'", f"training.lr={lr}", layers, *SPIRAL]
                for s, lr in ((1, 0.05), (2, 0.01))]
    assert_same_rows(*both(tmp_path, "spiral", variants))
    adamw = [[f"seed={s}", "training.epochs=4", "training.optimizer='adamw'", "training.weight_decay=0.05", *SPIRAL]
             for s in (1, 2)]
    assert_same_rows(*both(tmp_path, "spiral", adamw))


def test_diverged_and_early_stopped_trials_leave_the_group(tmp_path):
    common = ["data.samples=200", "data.batch_size=32", "training.optimizer='sgd'", "model.layers=[]"]
    variants = [
        ["seed=1", "training.epochs=8", "training.lr=10", *common],
        ["seed=2", "training.epochs=60", "training.early_stopping=2", "training.lr=0.05", *common],
        ["seed=3", "training.epochs=8", "training.lr=0.01", *common],
    ]
    alone, together = both(tmp_path, "linear", variants)
    assert [t.status for t in together] == ["diverged", "early_stopped", "completed"]
    assert together[1].epochs_run < 60
    assert_same_rows(alone, together)
    # The diverged trial kept the weights of its last finite epoch, as alone; the best weights are the same.
    from safetensors.torch import load_file

    for name in ("model.safetensors", "checkpoints/best.safetensors"):
        for x, y in zip(alone, together):
            a, t = (load_file(Path(r.run_dir) / name) for r in (x, y))
            assert a.keys() == t.keys() and all(a[k].allclose(t[k], rtol=RTOL, atol=1e-6) for k in a), name


def test_groups_are_cut_to_fit_memory():
    from nn_tui.core.sweep.vectorized import fitting_chunks

    prepared = [prepare_run(load_preset(ROOT / "presets" / "xor.toml", [f"seed={s}"])) for s in range(5)]
    assert fitting_chunks(prepared, 10**12) == [[0, 1, 2, 3, 4]]
    assert fitting_chunks(prepared, 1) == [[0], [1], [2], [3], [4]]  # nothing fits: one at a time
    spiral = prepare_run(load_preset(ROOT / "presets" / "spiral.toml", SPIRAL))
    assert fitting_chunks([prepared[0], spiral, prepared[1]], 10**12) == [[0, 2], [1]]  # one data shape a group
