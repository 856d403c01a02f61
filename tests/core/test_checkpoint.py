"""Checkpoints and resume in-process: exact continuation, broken files, resource limits, full and read-only disks."""

from __future__ import annotations

import errno
import json
import os
import pickle
import struct
import subprocess
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import nn_tui.core.run.checkpoint as ckpt
import nn_tui.core.fileio as fileio
from nn_tui.core.run.checkpoint import (
    BEST_FILE,
    LAST_FILE,
    load_checkpoint,
    read_safetensors,
    read_safetensors_header,
)
from nn_tui.core.errors import UserError
from nn_tui.core.training.events import EpochEnd, StepProgress, TrainerControl
from nn_tui.core.run.limits import check_data_fits, check_model_fits, format_bytes, model_bytes
from nn_tui.core.preset import parse_preset
from nn_tui.core.run.resume import resume_run
from nn_tui.core.run.runner import Run, prepare_run, train_preset
from nn_tui.core.run.rundir import RunDir, probe_writable, read_metrics, read_summary


@pytest.fixture(autouse=True)
def every_checkpoint(monkeypatch):
    """Write every due checkpoint: the spacing that keeps their cost small would make these short runs skip them."""
    monkeypatch.setattr(ckpt, "MIN_INTERVAL_SECONDS", 0.0)
    monkeypatch.setattr(ckpt, "MAX_TIME_SHARE", float("inf"))


def preset(optimizer="adam", scheduler="none", epochs=6, every=2, **training):
    return parse_preset(
        {
            "seed": 3,
            "data": {"dataset": "moons", "samples": 160, "batch_size": 16},
            "model": {"layers": [{"units": 12, "dropout": 0.25}, {"units": 6, "batch_norm": True}]},
            "training": {"epochs": epochs, "optimizer": optimizer, "scheduler": scheduler, "checkpoint_every": every,
                         "early_stopping": 50, "grad_clip": 1.0, "threads": 1, **training},
        },
        source="test.toml",
    )


def without_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def stop_at(epoch: int, step: int | None):
    """A control and event hook that stop the run in `epoch` after `step` steps (None: right after the epoch)."""
    control = TrainerControl()

    def on_event(event):
        if step is None and isinstance(event, EpochEnd) and event.epoch == epoch:
            control.request_stop()
        if step is not None and isinstance(event, StepProgress) and event.epoch == epoch and event.step >= step:
            control.request_stop()

    return control, on_event


@pytest.mark.parametrize(
    "optimizer, scheduler, stop_epoch, stop_step",
    [("adam", "cosine", 3, 4), ("momentum", "step", 4, None), ("rmsprop", "plateau", 2, 7), ("adagrad", "none", 5, 1)],
)
def test_stopped_and_resumed_run_equals_an_uninterrupted_one(tmp_path, optimizer, scheduler, stop_epoch, stop_step):
    p = preset(optimizer, scheduler)
    whole, whole_run = train_preset(p, out_dir=tmp_path / "whole")

    control, on_event = stop_at(stop_epoch, stop_step)
    run = Run(prepare_run(p), out_dir=tmp_path / "cut", on_event=on_event, control=control, progress_interval=1e-9)
    stopped = run.execute()
    assert stopped.status == "stopped" and stopped.epochs_run == stop_epoch - (stop_step is not None)
    cut = load_checkpoint(run.run_dir.path / "checkpoints" / LAST_FILE)
    assert cut.epoch == stopped.epochs_run
    assert cut.within_epoch is not None  # a stop lands inside an epoch, even if at its first step
    assert cut.within_epoch["step"] == (stop_step or 0)

    resumed = resume_run(run.run_dir.path).execute()
    assert resumed.status == "completed"
    assert without_seconds([resumed.final]) == without_seconds([whole.final])
    assert without_seconds([resumed.best]) == without_seconds([whole.best])
    assert without_seconds(read_metrics(run.run_dir.path)) == without_seconds(read_metrics(whole_run.run_dir.path))
    a, b = load_file(run.run_dir.path / "model.safetensors"), load_file(whole_run.run_dir.path / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    summary = read_summary(run.run_dir.path)
    assert summary["status"] == "completed" and summary["epochs_run"] == 6
    assert summary["resumed_from_epoch"] == stopped.epochs_run


def test_resume_from_a_periodic_checkpoint_truncates_metrics(tmp_path):
    p = preset(epochs=7, every=3)
    whole, whole_run = train_preset(p, out_dir=tmp_path / "whole")
    # Pretend the process was killed after epoch 5: the last periodic checkpoint is epoch 3, metrics.csv has
    # five rows and half of a sixth.
    run = Run(prepare_run(p.with_training(epochs=5)), out_dir=tmp_path / "killed")
    run.execute()
    d = run.run_dir.path
    last = d / "checkpoints" / LAST_FILE
    assert load_checkpoint(last).epoch == 5
    control, on_event = stop_at(3, None)
    rerun = Run(prepare_run(p), out_dir=tmp_path / "cp", on_event=on_event, control=control)
    rerun.execute()
    (rerun.run_dir.path / "checkpoints" / LAST_FILE).replace(last)  # a checkpoint of epoch 3 (stopped at 4's start)
    with open(d / "metrics.csv", "a") as fh:
        fh.write("6,0.31,0.2")  # a row cut short by the kill
    assert [r["epoch"] for r in read_metrics(d)] == [1, 2, 3, 4, 5]  # the partial row is never read

    resume_run(d, epochs=7).execute()
    assert [r["epoch"] for r in read_metrics(d)] == list(range(1, 8))
    assert without_seconds(read_metrics(d)) == without_seconds(read_metrics(whole_run.run_dir.path))


def test_best_checkpoint_holds_the_best_epochs_weights(tmp_path):
    p = preset(epochs=8, every=1, lr=0.2)
    weights = {}

    def on_event(event):
        if isinstance(event, EpochEnd):
            weights[event.epoch] = {k: v.clone() for k, v in run.trainer.model.state_dict().items()}

    run = Run(prepare_run(p), out_dir=tmp_path, on_event=on_event)
    finished = run.execute()
    best = load_file(run.run_dir.path / "checkpoints" / BEST_FILE)
    _, meta = read_safetensors(run.run_dir.path / "checkpoints" / BEST_FILE)
    epoch = finished.best["epoch"]
    assert int(meta["epoch"]) == epoch
    assert set(best) == set(load_file(run.run_dir.path / "model.safetensors"))
    assert all(torch.equal(best[k], weights[epoch][k]) for k in best)


def test_checkpoints_are_rate_limited(tmp_path, monkeypatch):
    monkeypatch.setattr(ckpt, "MIN_INTERVAL_SECONDS", 3600.0)
    p = parse_preset({"data": {"dataset": "xor", "batch_size": 0}, "training": {"epochs": 300, "checkpoint_every": 1}})
    finished, run = train_preset(p, out_dir=tmp_path)
    assert run.checkpoints.writes == 2  # the first due one, then the final one
    assert load_checkpoint(run.run_dir.path / "checkpoints" / LAST_FILE).epoch == 300


def test_resume_refuses_a_finished_run_unless_extended(tmp_path):
    finished, run = train_preset(preset(epochs=2), out_dir=tmp_path)
    with pytest.raises(UserError, match="already trained 2 of 2 epochs.*--epochs"):
        resume_run(run.run_dir.path)
    more = resume_run(run.run_dir.path, epochs=4).execute()
    assert more.epochs_run == 4 and [r["epoch"] for r in read_metrics(run.run_dir.path)] == [1, 2, 3, 4]


def test_resume_without_a_checkpoint_starts_over_in_the_same_folder(tmp_path):
    finished, run = train_preset(preset(epochs=3), out_dir=tmp_path / "a")
    d = run.run_dir.path
    (d / "checkpoints" / LAST_FILE).unlink()  # killed before the first checkpoint
    (d / "checkpoints" / ".last.safetensors.abc.tmp").write_bytes(b"half")  # a write cut short
    again = resume_run(d).execute()
    assert without_seconds([again.final]) == without_seconds([finished.final])
    assert [r["epoch"] for r in read_metrics(d)] == [1, 2, 3]
    assert not list((d / "checkpoints").glob(".*.tmp"))


# ---------------------------------------------------------------- broken and hostile files


@pytest.fixture
def finished_run(tmp_path):
    _, run = train_preset(preset(epochs=2, every=1), out_dir=tmp_path / "runs")
    return run.run_dir.path


def resume_error(run_dir) -> str:
    with pytest.raises(UserError) as info:
        resume_run(run_dir, epochs=5)
    return str(info.value)


@pytest.mark.parametrize("keep", [0, 5, 8, 40, 0.5, -1])
def test_truncated_checkpoint_is_a_clear_error(finished_run, keep):
    last = finished_run / "checkpoints" / LAST_FILE
    data = last.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else (len(data) + keep if keep < 0 else keep)
    last.write_bytes(data[:n])
    text = resume_error(finished_run)
    assert LAST_FILE in text and ("truncated" in text or "not a safetensors" in text)


def test_corrupted_header_is_a_clear_error(finished_run):
    last = finished_run / "checkpoints" / LAST_FILE
    data = bytearray(last.read_bytes())
    data[10:20] = b"#" * 10
    last.write_bytes(bytes(data))
    assert "corrupted safetensors header" in resume_error(finished_run)


def test_flipped_data_byte_fails_the_checksum(finished_run):
    last = finished_run / "checkpoints" / LAST_FILE
    data = bytearray(last.read_bytes())
    data[-3] ^= 0xFF
    last.write_bytes(bytes(data))
    assert "does not match its checksum" in resume_error(finished_run)


class Exploit:
    """Unpickling this creates a file: proof that something ran pickle on it."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("how", ["pickle", "torch.save"])
def test_pickle_is_refused_without_being_unpickled(finished_run, tmp_path, how):
    marker = tmp_path / "pwned"
    last = finished_run / "checkpoints" / LAST_FILE
    if how == "pickle":
        last.write_bytes(pickle.dumps({"model": Exploit(marker)}, protocol=4))
    else:
        torch.save({"model": Exploit(marker)}, last)
    text = resume_error(finished_run)
    assert "refuses to load it" in text and "unpickling" in text
    for path in (last,):
        with pytest.raises(UserError):
            read_safetensors(path)
    assert not marker.exists()


def test_plain_weights_are_not_a_training_checkpoint(finished_run):
    (finished_run / "model.safetensors").replace(finished_run / "checkpoints" / LAST_FILE)
    assert "not an nn-tui training checkpoint" in resume_error(finished_run)


def as_older_checkpoint(run_dir):
    """Drop the run definition from last.safetensors, as checkpoints written before it was recorded."""
    last = run_dir / "checkpoints" / LAST_FILE
    tensors, meta = read_safetensors(last)
    state = json.loads(meta["state"])
    del state["definition"]
    meta["state"] = json.dumps(state)
    save_file(tensors, last, metadata=meta)


def test_changed_preset_is_named(finished_run):
    text = (finished_run / "preset.toml").read_text().replace("units = 12", "units = 10").replace("seed = 3", "seed = 7")
    (finished_run / "preset.toml").write_text(text)
    message = resume_error(finished_run)
    assert "inputs changed" in message and "model.layers.0.units 12 → 10" in message and "seed 3 → 7" in message


def test_checkpoint_from_a_different_network_is_a_clear_error(finished_run):
    as_older_checkpoint(finished_run)  # the older checks still guard run folders without a definition
    text = (finished_run / "preset.toml").read_text().replace("units = 12", "units = 10")
    (finished_run / "preset.toml").write_text(text)
    message = resume_error(finished_run)
    assert "do not fit the preset's network" in message and "[12, 2] in the checkpoint, [10, 2] for the preset" in message
    summary_before = (finished_run / "summary.json").read_text()
    assert read_summary(finished_run)["status"] == "completed" and summary_before  # nothing was touched


def test_checkpoint_from_a_different_optimizer_is_a_clear_error(finished_run):
    as_older_checkpoint(finished_run)
    text = (finished_run / "preset.toml").read_text().replace('optimizer = "adam"', 'optimizer = "adamw"')
    (finished_run / "preset.toml").write_text(text)
    assert "optimizer 'adam' but the preset says 'adamw'" in resume_error(finished_run)


def test_safetensors_with_wrong_optimizer_shapes_is_a_clear_error(finished_run):
    last = finished_run / "checkpoints" / LAST_FILE
    tensors, meta = read_safetensors(last)
    tensors["optimizer.0.exp_avg"] = torch.zeros(3, 3)
    meta["crc32"] = ckpt._crc(tensors)
    save_file(tensors, last, metadata=meta)
    assert "optimizer state 'exp_avg' for parameter 0 does not fit" in resume_error(finished_run)


def test_header_reader_rejects_lies_about_sizes(tmp_path):
    f = tmp_path / "x.safetensors"
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    f.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 8)  # claims 16 bytes, holds 8
    with pytest.raises(UserError, match="truncated or corrupted"):
        read_safetensors_header(f)
    f.write_bytes(struct.pack("<Q", 2**60) + b"{}")
    with pytest.raises(UserError, match="header claims"):
        read_safetensors_header(f)
    with pytest.raises(UserError, match="file not found"):
        read_safetensors_header(tmp_path / "missing.safetensors")


def test_a_run_folder_has_one_writer_at_a_time(tmp_path):
    _, run = train_preset(preset(epochs=1), out_dir=tmp_path)
    writer = RunDir.open_existing(run.run_dir.path)  # as a run still training holds it
    with pytest.raises(UserError, match="another nn-tui process is training in this run folder"):
        resume_run(run.run_dir.path, epochs=3)
    writer.close()
    assert resume_run(run.run_dir.path, epochs=3).execute().epochs_run == 3


def test_not_a_run_folder(tmp_path):
    with pytest.raises(UserError, match="no such run folder"):
        resume_run(tmp_path / "nope")
    with pytest.raises(UserError, match="no preset.toml"):
        resume_run(tmp_path)


# ---------------------------------------------------------------- absurd configs and disks


def test_huge_network_fails_before_allocating():
    with pytest.raises(UserError, match=r"units: 10000000 is not allowed; expected an integer >= 1 and <= 65536"):
        parse_preset({"data": {"dataset": "xor"}, "model": {"layers": [{"units": 10**7}]}})
    p = parse_preset({"data": {"dataset": "xor"}, "model": {"layers": [{"units": 65536}] * 4}})
    with pytest.raises(UserError) as info:
        prepare_run(p, source="big.toml")
    text = str(info.value)
    assert text.startswith("big.toml: model.layers: the network (12,885," ) and "GB of memory" in text
    assert "only" in text and "fewer or smaller layers" in text


def test_dataset_too_big_for_memory_fails_before_loading():
    p = parse_preset({"data": {"dataset": "blobs", "samples": 10_000_000, "features": 10_000}})
    with pytest.raises(UserError, match=r"data: the dataset \(blobs\) needs about 2\.2 TB of memory"):
        prepare_run(p, source="big.toml")


def test_memory_estimates_scale_with_the_optimizer():
    p = parse_preset({"data": {"dataset": "xor"}, "model": {"layers": [{"units": 1000}]}})
    adam, sgd = model_bytes(10**6, p, 1, 4, 4), model_bytes(10**6, p.with_training(optimizer="sgd"), 1, 4, 4)
    # Adam keeps two moments per weight, and a checkpoint write holds one more copy of them; with the 1.25 margin
    assert adam - sgd == 10**6 * 4 * 2 * 2 * 1.25
    assert 40e6 < adam < 41e6  # 32 bytes per weight (measured: 30.5, benchmarks/memory_factors.py) x 1.25
    check_model_fits(10**6, p, 1, 4, 4, "cpu", available=10**9)  # fits
    with pytest.raises(UserError, match=f"needs about {format_bytes(adam)} of memory but only 9.5 MB"):
        check_model_fits(10**6, p, 1, 4, 4, "cpu", available=10**7)
    check_data_fits(p, available=1000)  # 4 rows of xor


def test_full_disk_is_refused_at_start(tmp_path, monkeypatch):
    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(UserError, match="the disk is full; choose another with --out"):
        RunDir.create(tmp_path, "x")
    assert list(tmp_path.iterdir()) == []  # the empty run folder is removed again


def test_disk_space_estimate_is_checked_at_start(tmp_path):
    with pytest.raises(UserError, match="needs about .* of disk"):
        RunDir.create(tmp_path, "x", need_bytes=2**62)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real 1 MB file system (needs root and mount); skipped where that is not possible."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_really_full_and_read_only_disks(small_tmpfs):
    (small_tmpfs / "filler").write_bytes(b"\0" * (1024 * 1024 - 4096 * 4))
    with pytest.raises(UserError, match="disk is full"):
        RunDir.create(small_tmpfs / "runs", "x")
    (small_tmpfs / "filler").unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    with pytest.raises(UserError, match="not writable \\(a read-only file system\\)"):
        RunDir.create(small_tmpfs / "runs", "x")
    with pytest.raises(UserError, match="read-only"):
        probe_writable(small_tmpfs)


def _raise(exc):
    raise exc


def test_disk_full_during_training_fails_the_run_cleanly(tmp_path, monkeypatch):
    p = preset(epochs=6, every=1)
    calls = {"n": 0}
    real = ckpt.atomic_write_safetensors

    def fills_up(path, tensors, metadata):  # the third checkpoint file hits a full disk, as fsync would report it
        calls["n"] += 1
        if calls["n"] > 2:
            full = OSError(errno.ENOSPC, "No space left on device")
            return fileio.atomic_write(path, lambda tmp: (save_file(tensors, tmp, metadata=metadata), _raise(full)))
        return real(path, tensors, metadata)

    monkeypatch.setattr(ckpt, "atomic_write_safetensors", fills_up)
    finished, run = train_preset(p, out_dir=tmp_path)
    assert finished.status == "failed" and "the disk is full" in finished.message
    d = run.run_dir.path
    summary = read_summary(d)  # still readable: every file is whole
    assert summary["status"] == "failed"
    assert load_checkpoint(d / "checkpoints" / LAST_FILE).epoch == 1  # the old file, whole
    assert [r["epoch"] for r in read_metrics(d)] == [1, 2]
    assert not list((d / "checkpoints").glob(".*.tmp"))  # the cut-short temp file is removed
