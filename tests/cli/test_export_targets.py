"""`nn-tui export` never writes over what it must not: devices, FIFOs, folders, links, a run folder's own
files, or an existing file without --force; a read-only place is a clear error. Through the real CLI."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys

import pytest

from tests.cli.conftest import cli_env, refused


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    done = subprocess.run([sys.executable, "-m", "nn_tui", "run", "xor", "--epochs", "5", "--set", "expect={}", "--quiet", "--out", str(out)],
                          capture_output=True, text=True, env=cli_env())
    assert done.returncode == 0, done.stderr
    (path,) = out.iterdir()
    return path


def test_special_files_are_never_replaced(nn_tui, run_dir, tmp_path):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    refused(nn_tui("export", run_dir, "-o", fifo, "--force"), "a FIFO (named pipe), not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)

    link = tmp_path / "link.py"
    (tmp_path / "elsewhere.py").write_text("mine\n")
    link.symlink_to(tmp_path / "elsewhere.py")
    refused(nn_tui("export", run_dir, "-o", link, "--force"), "a symbolic link")
    assert link.is_symlink() and (tmp_path / "elsewhere.py").read_text() == "mine\n"

    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private /dev/null (needs root)
    except PermissionError:
        return
    refused(nn_tui("export", run_dir, "-o", device, "--force"), "a character device")
    assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_an_existing_file_needs_force(nn_tui, run_dir, tmp_path):
    target = tmp_path / "mine.py"
    target.write_text("my own work\n")
    refused(nn_tui("export", run_dir, "-o", target), "already exists", "--force")
    assert target.read_text() == "my own work\n"
    done = nn_tui("export", run_dir, "-o", target, "--force")
    assert done.returncode == 0, done.stderr
    assert "import torch" in target.read_text()


def test_a_run_folders_own_files_are_never_written(nn_tui, run_dir):
    weights = run_dir / "model.safetensors"
    before = weights.read_bytes()
    refused(nn_tui("export", run_dir, "-f", "safetensors", "-o", weights, "--force"), "inside the run folder")
    refused(nn_tui("export", run_dir, "-o", run_dir / "checkpoints"), "inside the run folder")
    assert weights.read_bytes() == before
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoints", "metrics.csv", "model.safetensors",
                                                        "preset.toml", "summary.json"]


def test_a_read_only_place_is_a_clear_error(nn_tui, run_dir, tmp_path):
    place = tmp_path / "ro"
    place.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(place)], capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a read-only tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        for fmt in ("script", "safetensors"):
            refused(nn_tui("export", run_dir, "-f", fmt, "-o", place), "the file system is read-only")
    finally:
        subprocess.run(["umount", "-l", str(place)], check=False)


def test_an_edited_network_is_named_not_exported(nn_tui, run_dir, tmp_path):
    copy = shutil.copytree(run_dir, tmp_path / "run")
    preset = copy / "preset.toml"
    original = preset.read_text()
    preset.write_text(original.replace("units = 8", "units = 5"))
    refused(nn_tui("export", copy, "-o", tmp_path / "a.py"), "the saved hidden layers have units [8], preset.toml's model.layers [5]")
    preset.write_text(original.replace('activation = "tanh"', 'activation = "relu"'))  # same shapes
    refused(nn_tui("export", copy, "-o", tmp_path / "b.py"), "trained with another network", 'model.layers.0.activation "tanh" → "relu"')
    assert not list(tmp_path.glob("*.py"))
