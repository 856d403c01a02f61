"""The tutorial facts hold on the real trainer, and the trainer behaves: determinism, divergence, stop, pause."""

from __future__ import annotations

import math
import threading

import pytest

from nn_tui.core.training.events import EpochEnd, RunStarted, StepProgress, TrainerControl
from nn_tui.core.preset import bundled_presets, load_preset
from nn_tui.core.run.runner import prepare_run, train_preset
from nn_tui.core.training.trainer import Trainer


def run(preset, **kw):
    finished, r = train_preset(preset, out_dir=None, **kw)
    return finished, r.trainer


def test_and_is_learned_by_a_perceptron(make_preset):
    p = make_preset("and", data={"batch_size": 0}, training={"lr": 0.1, "epochs": 300})
    finished, trainer = run(p)
    assert len(trainer.model) == 1  # a single Linear layer
    assert finished.final["val_accuracy"] == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xor_is_not_learned_without_a_hidden_layer(make_preset, seed):
    p = make_preset("xor", data={"batch_size": 0}, training={"lr": 0.1, "epochs": 500}, seed=seed)
    finished, _ = run(p)
    # A line can classify at most 3 of the 4 XOR rows.
    assert finished.best["val_accuracy"] <= 0.75


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xor_is_learned_with_one_hidden_layer(make_preset, seed):
    p = make_preset(
        "xor", layers=[{"units": 8, "activation": "tanh"}], data={"batch_size": 0},
        training={"lr": 0.1, "epochs": 300}, seed=seed,
    )
    finished, _ = run(p)
    assert finished.final["val_accuracy"] == 1.0
    assert finished.final["train_loss"] < 0.05


def test_linear_recovers_slope_and_intercept():
    finished, trainer = run(load_preset(bundled_presets()["linear"]))
    state = trainer.model.state_dict()
    assert state["0.weight"].item() == pytest.approx(2.0, abs=0.05)
    assert state["0.bias"].item() == pytest.approx(1.0, abs=0.05)


# The image presets download MNIST-family files and train for minutes; tests/core/test_datasets_real.py
# runs the mnist preset on generated IDX files instead.
DOWNLOADING_PRESETS = {"mnist", "fashion_mnist"}


@pytest.mark.parametrize("name", sorted(set(bundled_presets()) - DOWNLOADING_PRESETS))
def test_bundled_preset_reaches_its_stated_result(name):
    p = load_preset(bundled_presets()[name])
    finished, _ = run(p)
    assert finished.status == "completed"
    for key, target in p.expect.items():
        value = finished.best[key]
        assert (value <= target) if key.endswith("loss") else (value >= target), (name, key, value, target)


def test_same_seed_gives_identical_metrics(make_preset):
    def rows(seed):
        out = []
        p = make_preset(
            "moons", layers=[{"units": 8, "dropout": 0.1}], data={"samples": 200}, training={"epochs": 5}, seed=seed
        )
        run(p, on_event=lambda e: out.append(e.row()) if isinstance(e, EpochEnd) else None)
        return [{k: v for k, v in r.items() if k != "seconds"} for r in out]

    assert rows(3) == rows(3)
    assert rows(3) != rows(4)


def test_divergence_stops_and_keeps_finite_weights(make_preset):
    p = make_preset(
        "linear", layers=[{"units": 16}], training={"optimizer": "sgd", "lr": 50.0, "epochs": 50}
    )
    finished, trainer = run(p)
    assert finished.status == "diverged"
    assert "learning rate" in finished.message and "try" in finished.message
    for t in trainer.model.state_dict().values():
        assert bool(t.isfinite().all())


def test_stop_flag_is_obeyed_within_an_epoch(make_preset):
    control = TrainerControl()
    steps = []

    def on_event(e):
        if isinstance(e, StepProgress):
            steps.append(e)
            control.request_stop()

    p = make_preset("moons", layers=[{"units": 8}], data={"samples": 20000, "batch_size": 8}, training={"epochs": 100})
    prepared = prepare_run(p)
    trainer = Trainer(prepared.preset, prepared.data, n_out=prepared.n_out, on_event=on_event, control=control,
                      progress_interval=0.05)
    finished = trainer.run()
    assert finished.status == "stopped"
    assert trainer.epoch == 0 and len(steps) == 1
    # stopped within the first epoch, a few steps after the request
    assert trainer.global_step < 2500


def test_pause_and_step_one_epoch(make_preset):
    control = TrainerControl()
    control.pause()
    epochs = []
    p = make_preset("xor", data={"batch_size": 0}, training={"epochs": 1000})
    prepared = prepare_run(p)
    trainer = Trainer(prepared.preset, prepared.data, n_out=prepared.n_out, control=control,
                      on_event=lambda e: epochs.append(e.epoch) if isinstance(e, EpochEnd) else None)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    thread.join(0.3)
    assert epochs == []  # paused before the first step
    control.step_epoch()
    control.step_epoch()
    for _ in range(100):
        if len(epochs) >= 2:
            break
        thread.join(0.02)
    thread.join(0.2)
    assert epochs == [1, 2]  # exactly two epochs, then paused again
    control.resume()
    for _ in range(200):
        if len(epochs) >= 20:
            break
        thread.join(0.02)
    control.request_stop()
    thread.join(5)
    assert not thread.is_alive()
    assert len(epochs) >= 20


def test_early_stopping(make_preset):
    p = make_preset(
        "moons", layers=[{"units": 64}, {"units": 64}], data={"samples": 100, "noise": 0.4},
        training={"epochs": 500, "early_stopping": 5, "lr": 0.05},
    )
    finished, _ = run(p)
    assert finished.status == "early_stopped"
    assert finished.epochs_run < 500
    assert finished.epochs_run - finished.best["epoch"] == 5


def test_events_sequence(make_preset):
    events = []
    p = make_preset("circles", layers=[{"units": 4}], training={"epochs": 3})
    finished, _ = run(p, on_event=events.append)
    assert isinstance(events[0], RunStarted) and events[0].metric == "val_accuracy"
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert all(e.samples_per_sec > 0 and math.isfinite(e.val_loss) for e in epochs)
    assert events[-1] is finished and finished.status == "completed"


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "adam", "adamw", "adagrad"])
@pytest.mark.parametrize("scheduler", ["none", "step", "cosine", "plateau"])
def test_every_optimizer_and_scheduler_trains(make_preset, optimizer, scheduler):
    p = make_preset("moons", layers=[{"units": 16}], data={"samples": 300}, training={
        "optimizer": optimizer, "scheduler": scheduler, "epochs": 15, "lr": 0.05, "grad_clip": 1.0,
    })
    finished, _ = run(p)
    assert finished.status == "completed"
    assert finished.best["val_accuracy"] >= 0.8, (optimizer, scheduler, finished.best)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "elu", "silu", "linear"])
@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_every_activation_and_regression_loss_trains(make_preset, activation, loss):
    p = make_preset("sine", layers=[{"units": 16, "activation": activation, "batch_norm": True, "dropout": 0.05}],
                    data={"samples": 200}, training={"loss": loss, "epochs": 5})
    finished, trainer = run(p)
    assert finished.status == "completed"
    assert finished.final["train_loss"] < finished.best["train_loss"] * 10
    assert trainer.model(trainer.X_val).shape == (len(trainer.X_val), 1)


def test_scheduler_changes_lr(make_preset):
    lrs = []
    p = make_preset("moons", layers=[{"units": 4}], data={"samples": 100},
                    training={"epochs": 9, "scheduler": "step", "lr": 0.1})
    run(p, on_event=lambda e: lrs.append(e.lr) if isinstance(e, EpochEnd) else None)
    assert lrs[0] == pytest.approx(0.1) and lrs[-1] == pytest.approx(0.001)


def test_batch_norm_with_a_lone_last_row(make_preset):
    # 161 training rows with batch 32 would leave a batch of one row, which batch norm cannot train on.
    p = make_preset("blobs", layers=[{"units": 8, "batch_norm": True}],
                    data={"samples": 161, "batch_size": 32, "test_fraction": 0.0}, training={"epochs": 3})
    events = []
    finished, trainer = run(p, on_event=events.append)
    assert len(trainer.X_train) % 32 == 1
    assert finished.status == "completed"
    assert events[0].steps_per_epoch == len(trainer.X_train) // 32
    assert not [e for e in events if e.__class__.__name__ == "RunError"]
