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
from nn_tui.core.training import Callback

ROOT = Path(__file__).resolve().parents[2]
RTOL = 1e-5
# Near zero a loss is only as exact as float32 makes it: BCE on a saturated logit is log(1 + e^-|x|), whose
# values move in steps of float32's spacing at 1.0 (1.2e-7), so two summation orders can differ by that much.
ATOL = 2.5e-7
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
                assert float(y[key]) == pytest.approx(float(x[key]), rel=RTOL, abs=ATOL), (key, x, y)


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


class EpochRecorder(Callback):
    """A callback with only on_epoch_end: a group hands it its epochs in blocks, one by one in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, float]] = []

    def on_epoch_end(self, state, event) -> None:
        self.seen.append((event.epoch, event.val_loss))


@pytest.mark.parametrize("block_seconds", [0.0, 1e9], ids=["epoch-by-epoch", "whole-blocks"])
def test_blocks_of_any_length_match_alone(tmp_path, monkeypatch, block_seconds):
    from nn_tui.core.run.checkpoint import LAST_FILE, load_checkpoint
    from nn_tui.core.training import batched

    monkeypatch.setattr(batched, "BLOCK_SECONDS", block_seconds)
    variants = [[f"seed={s}", f"training.lr={lr}", "training.epochs=45", "training.checkpoint_every=7", "expect={}"]
                for s, lr in ((1, 0.05), (2, 0.3), (3, 1.0))]
    variants[2] += ["training.early_stopping=3"]
    presets = [load_preset(ROOT / "presets" / "xor.toml", v) for v in variants]
    alone = [Run(prepare_run(p), out_dir=tmp_path / "alone").execute() for p in presets]
    recorders = [EpochRecorder() for _ in presets]
    together = execute_together([Run(prepare_run(p), out_dir=tmp_path / "together", callbacks=[r])
                                 for p, r in zip(presets, recorders)])
    assert_same_rows(alone, together)
    for t, rec in zip(together, recorders):
        metrics = rows(t.run_dir)
        assert [e for e, _ in rec.seen] == list(range(1, t.epochs_run + 1))
        assert [v for _, v in rec.seen] == [float(r["val_loss"]) for r in metrics]
        checkpoint = load_checkpoint(Path(t.run_dir) / "checkpoints" / LAST_FILE)
        assert checkpoint.epoch == t.epochs_run


def test_plateau_scheduler_matches_alone(tmp_path):
    variants = [[f"seed={s}", f"training.lr={lr}", "training.epochs=50", "training.scheduler='plateau'",
                 "training.optimizer='adam'"] for s, lr in ((1, 0.1), (2, 1.0))]
    alone, together = both(tmp_path, "xor", variants)
    assert_same_rows(alone, together)
    lrs = [float(r["lr"]) for r in rows(together[1].run_dir)]
    assert min(lrs) < max(lrs)  # the plateau scheduler did cut the learning rate


def _stop_at_steps(monkeypatch, controls_at: dict[int, list]):
    """Stop the given runs' controls after the group's n-th optimizer step (a stop in the middle of an epoch)."""
    from nn_tui.core.training.batched import BatchedTrainer

    original = BatchedTrainer.optimizer_step
    calls = [0]

    def counting(self, grads):
        original(self, grads)
        calls[0] += 1
        for control in controls_at.get(calls[0], []):
            control.stop()

    monkeypatch.setattr(BatchedTrainer, "optimizer_step", counting)
    return calls


@pytest.mark.parametrize("stop_steps", [(7, 13), (8, 8)], ids=["different-steps", "same-step"])
def test_a_stop_in_the_middle_of_an_epoch_resumes_exactly(tmp_path, monkeypatch, stop_steps):
    """Trials stopped in the middle of an epoch are saved there (step, loss so far, shuffle order, each one's own
    dropout stream); resumed — alone when they stopped at different points, as a group when at the same — every
    row matches the same trials trained without a stop."""
    from nn_tui.core.run.checkpoint import LAST_FILE, load_checkpoint
    from nn_tui.core.run.resume import prepare_resume
    from nn_tui.core.training import TrainerControl
    from nn_tui.core.training import batched

    layers = "model.layers=[{units=16,activation='relu',dropout=%s},{units=16,activation='tanh'}]"
    variants = [[f"seed={s}", "training.epochs=5", "training.optimizer='momentum'", layers % p, *SPIRAL]
                for s, p in ((1, 0.3), (2, 0.1))]
    presets = [load_preset(ROOT / "presets" / "spiral.toml", v) for v in variants]
    full = [Run(prepare_run(p), out_dir=tmp_path / "full").execute() for p in presets]
    controls = [TrainerControl() for _ in presets]
    stops: dict[int, list] = {}
    for step, control in zip(stop_steps, controls):
        stops.setdefault(step, []).append(control)
    _stop_at_steps(monkeypatch, stops)
    stopped = execute_together([Run(prepare_run(p), out_dir=tmp_path / "stopped", control=c)
                                for p, c in zip(presets, controls)])
    monkeypatch.undo()
    steps_per_epoch = 5  # 160 training rows in batches of 32
    for f, step in zip(stopped, stop_steps):
        assert f.status == "stopped", f.message
        checkpoint = load_checkpoint(Path(f.run_dir) / "checkpoints" / LAST_FILE)
        assert checkpoint.within_epoch is not None
        assert (checkpoint.epoch, checkpoint.within_epoch["step"]) == divmod(step, steps_per_epoch)
        assert len(rows(f.run_dir)) == checkpoint.epoch
    groups = []
    original_init = batched.BatchedTrainer.__init__

    def watched(self, trainers, rngs):
        groups.append(len(trainers))
        original_init(self, trainers, rngs)

    monkeypatch.setattr(batched.BatchedTrainer, "__init__", watched)
    plans = [prepare_resume(f.run_dir) for f in stopped]
    resumed = execute_together([Run(p.prepared, run_dir=p.run_dir, resume_from=p.checkpoint) for p in plans])
    assert groups == ([] if stop_steps[0] != stop_steps[1] else [2])
    assert_same_rows(full, resumed)


def test_a_trial_that_ends_first_keeps_its_generators_and_extends_exactly(tmp_path):
    """A trial that reaches its epochs while the group goes on stops drawing shuffle orders and dropout masks: its
    final checkpoint continues (--resume with more epochs) exactly as the same run trained alone."""
    from nn_tui.core.run.resume import prepare_resume

    layers = "model.layers=[{units=16,activation='relu',dropout=0.3}]"
    presets = [load_preset(ROOT / "presets" / "spiral.toml", [f"seed={s}", f"training.epochs={e}", layers, *SPIRAL])
               for s, e in ((1, 2), (2, 4))]
    longer = load_preset(ROOT / "presets" / "spiral.toml", ["seed=1", "training.epochs=4", layers, *SPIRAL])
    alone = Run(prepare_run(longer), out_dir=tmp_path / "alone").execute()
    first, _ = execute_together([Run(prepare_run(p), out_dir=tmp_path / "together") for p in presets])
    plan = prepare_resume(first.run_dir, epochs=4)
    extended = Run(plan.prepared, run_dir=plan.run_dir, resume_from=plan.checkpoint).execute()
    assert_same_rows([alone], [extended])


def test_when_half_the_trials_have_left_the_rest_go_on_in_a_smaller_group(tmp_path, monkeypatch):
    """Rows of trials that left are not computed for nothing: once half the group has ended, the others carry on
    as a new, smaller group (their weights, optimizer state, generators and best weights moved over), exactly
    as before and announced once."""
    from safetensors.torch import load_file

    from nn_tui.core.training import batched

    sizes = []
    original_init = batched.BatchedTrainer.__init__

    def watched(self, trainers, rngs, **kw):
        sizes.append(len(trainers))
        original_init(self, trainers, rngs, **kw)

    monkeypatch.setattr(batched.BatchedTrainer, "__init__", watched)

    class Starts(Callback):
        def __init__(self) -> None:
            self.starts = 0

        def on_run_start(self, state, event) -> None:
            self.starts += 1

    layers = "model.layers=[{units=16,activation='relu',dropout=0.2},{units=8,activation='tanh'}]"
    presets = [load_preset(ROOT / "presets" / "spiral.toml", [f"seed={s}", f"training.epochs={e}", layers,
                                                              "training.optimizer='momentum'", *SPIRAL])
               for s, e in ((1, 2), (2, 2), (3, 2), (4, 3), (5, 6))]
    alone = [Run(prepare_run(p), out_dir=tmp_path / "alone").execute() for p in presets]
    watchers = [Starts() for _ in presets]
    together = execute_together([Run(prepare_run(p), out_dir=tmp_path / "together", callbacks=[w])
                                 for p, w in zip(presets, watchers)])
    assert sizes == [5, 2]  # 3 of 5 left after epoch 2 (a group of 2 is not cut further)
    assert [w.starts for w in watchers] == [1] * 5
    assert_same_rows(alone, together)
    for name in ("model.safetensors", "checkpoints/best.safetensors"):
        for x, y in zip(alone, together):
            a, t = (load_file(Path(r.run_dir) / name) for r in (x, y))
            assert all(a[k].allclose(t[k], rtol=RTOL, atol=1e-6) for k in a), name


def test_thousands_of_run_folders_in_one_second_each_get_a_name(tmp_path, monkeypatch):
    """A vectorised sweep makes its trials' folders in a burst: more than 1,000 within one second used to run
    out of names (-1 … -999) after trying each from the start."""
    from nn_tui.core.run import rundir

    monkeypatch.setattr(rundir.time, "strftime", lambda fmt: "20261207-100000")
    made = {rundir.new_stamped_folder(tmp_path, "xor", "run").name for _ in range(1200)}
    assert len(made) == 1200 and "20261207-100000-xor-1199" in made


def test_grouped_trials_report_progress_within_an_epoch_and_can_be_stopped_from_it(tmp_path):
    """As alone: StepProgress now and then within an epoch (step, running loss), and a callback that stops its
    run from there (the sweep's watcher does, when the sweep is stopping) stops it at that step."""
    from nn_tui.core.run.checkpoint import LAST_FILE, load_checkpoint
    from nn_tui.core.training import TrainerControl

    class StopAt(Callback):
        def __init__(self, control, at: int | None) -> None:
            self.control, self.at, self.seen = control, at, []

        def on_progress(self, state, event) -> None:
            self.seen.append((event.epoch, event.step, event.global_step, event.running_loss))
            if self.at is not None and event.global_step >= self.at:
                self.control.stop()

    presets = [load_preset(ROOT / "presets" / "spiral.toml", [f"seed={s}", "training.epochs=3", *SPIRAL])
               for s in (1, 2)]
    controls = [TrainerControl() for _ in presets]
    watchers = [StopAt(controls[0], 7), StopAt(controls[1], None)]
    first, second = execute_together([
        Run(prepare_run(p), out_dir=tmp_path, callbacks=[w], control=c, progress_interval=1e-9)
        for p, w, c in zip(presets, watchers, controls)])
    assert [(e, s) for e, s, _, _ in watchers[1].seen] == [(e, s) for e in (1, 2, 3) for s in range(1, 6)]
    assert [g for _, _, g, _ in watchers[1].seen] == list(range(1, 16))
    assert all(0 < loss < 10 for *_, loss in watchers[1].seen)
    assert (first.status, second.status) == ("stopped", "completed")
    checkpoint = load_checkpoint(Path(first.run_dir) / "checkpoints" / LAST_FILE)
    assert (checkpoint.epoch, checkpoint.within_epoch["step"]) == (1, 2)  # stopped after its 7th step


def test_a_cuda_group_is_sized_by_free_device_memory(monkeypatch):
    """On a GPU the memory a group may take is half the device's free memory (torch.cuda.mem_get_info), not the
    machine's RAM (no GPU here: the CUDA call is stood in for, the arithmetic and the choice are real)."""
    import torch

    from nn_tui.core.sweep.vectorized import MEMORY_SHARE, memory_budget

    asked = []
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: asked.append(device) or (6 * 2**30, 8 * 2**30))
    assert memory_budget("cuda:1") == int(6 * 2**30 * MEMORY_SHARE)
    assert asked == [torch.device("cuda:1")]
    from nn_tui.core.run import limits

    monkeypatch.setattr(limits, "available_memory", lambda: 10 * 2**30)
    assert memory_budget("cpu") == int(10 * 2**30 * MEMORY_SHARE) and asked == [torch.device("cuda:1")]
