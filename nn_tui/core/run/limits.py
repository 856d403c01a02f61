"""Resource checks made before a run allocates anything: memory for the data and the network, disk for the run folder.

Estimates are deliberately rough (within a factor of about two) and err on the large side; they exist so
that a preset asking for 200 GB fails at once with a number, not minutes later with the kernel's OOM killer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nn_tui.core.errors import UserError

FLOAT = 4  # bytes per float32
# Every estimate is multiplied by this: the factors below are measured peaks, and a process killed by the
# kernel's OOM killer loses more than a run refused a little early.
SAFETY = 1.25
# Peak bytes per data value while a dataset is made: float64 generation, a float32 copy, the split
# copies and the tensors on the device.
DATA_BYTES_PER_VALUE = 24
# Per float32 weight, besides what the optimizer keeps per weight (optimizer_slots): the weight, its gradient and
# the trainer's copy of the last finite weights; then writing a checkpoint holds one more copy of the weights and
# of the optimizer state. Measured by benchmarks/memory_factors.py (xor, two hidden layers of 1,500 and 4,000
# units): 30.5 bytes per parameter with Adam (this formula: 32), 11.3 with SGD (16); issue #12 measured 36 with
# Adam at 625 M parameters (22.7 GB), below the 40 this gives with SAFETY.
MODEL_COPIES = 3
CHECKPOINT_COPIES = 1
ACTIVATION_COPIES = 4  # pre-activation, activation, gradient, dropout mask per hidden unit and row
EVAL_CHUNK_ROWS = 65536  # the trainer scores validation data in chunks of this many rows
# Reading a CSV file keeps every cell as a Python string before it becomes a float: measured (as above) 53-59
# bytes a cell, which is 6.8 times the file with 9-byte cells and 19 times with 2-byte cells (issue #12: 19 times
# for a 200 MB file). The number of cells is estimated from the first CSV_SAMPLE bytes of the file.
CSV_BYTES_PER_CELL = 60
CSV_BYTES_PER_FILE_BYTE = 7
CSV_SAMPLE = 65536


def optimizer_slots(training: Any) -> int:
    """Tensors the optimizer keeps per weight (Adam: 2 moments)."""
    from nn_tui.core.model.build import resolved_momentum

    name = training.optimizer
    momentum = (resolved_momentum(training) or 0.0) > 0
    return {"adam": 2, "adamw": 2, "adagrad": 1, "rmsprop": 1 + momentum, "momentum": 1}.get(name, int(momentum))


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def available_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def data_bytes(preset: Any) -> int | None:
    """Peak memory to make the preset's dataset, from its declared size; None if unknown before loading."""
    from nn_tui.core.datasets import get_dataset_info, resolve_path

    info = get_dataset_info(preset.data.dataset)
    options = {**info.option_defaults(), **preset.data.options}
    samples = options.get("samples", info.samples)
    features = options.get("features", info.features)
    if isinstance(samples, int) and isinstance(features, int):
        return samples * (features + 1) * DATA_BYTES_PER_VALUE
    path = options.get("path")
    if isinstance(path, str):  # a CSV file
        return csv_bytes(resolve_path(path, preset.base_dir), str(options.get("delimiter") or ","))
    return None


def csv_bytes(path: Path, delimiter: str) -> int | None:
    """Peak memory to read a CSV file, from its size and the cells per byte of its start; None if it is not
    a regular file (the loader refuses it; a FIFO must not be opened here)."""
    import stat

    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return None
        size = info.st_size
        with open(path, "rb") as fh:
            sample = fh.read(CSV_SAMPLE)
    except OSError:
        return None
    cells = (sample.count(delimiter.encode()) + sample.count(b"\n")) * size / max(len(sample), 1)
    return int(SAFETY * max(cells * CSV_BYTES_PER_CELL, size * CSV_BYTES_PER_FILE_BYTE))


def model_bytes(parameters: int, preset: Any, n_out: int, train_rows: int, val_rows: int) -> int:
    """Memory to train: weights and their companions, plus activations for one batch or evaluation chunk."""
    bs = preset.data.batch_size or train_rows
    rows = max(min(bs, train_rows), min(val_rows, EVAL_CHUNK_ROWS))
    units = sum(layer.units for layer in preset.layers) + n_out
    slots = optimizer_slots(preset.training)
    weights = parameters * FLOAT * (MODEL_COPIES + slots + CHECKPOINT_COPIES * (1 + slots))
    return int(SAFETY * (weights + rows * units * FLOAT * ACTIVATION_COPIES))


def _too_big(need: int, what: str, hint: str, *, source: str | None, key: str | None, available: int | None) -> None:
    have = available_memory() if available is None else available
    if need > have:
        raise UserError(
            f"{what} needs about {format_bytes(need)} of memory but only {format_bytes(have)} is available; {hint}",
            source=source,
            key=key,
        )


def check_data_fits(preset: Any, *, source: str | None = None, available: int | None = None) -> None:
    """Before loading: refuse a dataset that cannot fit in memory."""
    need = data_bytes(preset)
    if need is not None:
        _too_big(
            need,
            f"the dataset ({preset.data.dataset})",
            "use fewer samples or features",
            source=source,
            key="data",
            available=available,
        )


def check_model_fits(
    parameters: int, preset: Any, n_out: int, train_rows: int, val_rows: int, device: str,
    *, source: str | None = None, available: int | None = None,
) -> None:
    """Before building the network: refuse one whose weights, optimizer state and activations cannot fit."""
    need = model_bytes(parameters, preset, n_out, train_rows, val_rows)
    if available is None and device.startswith("cuda"):
        import torch

        available = int(torch.cuda.mem_get_info(torch.device(device))[0])
    _too_big(
        need,
        f"the network ({parameters:,} parameters, with gradients and {preset.training.optimizer} state)",
        "use fewer or smaller layers, or a smaller batch_size",
        source=source,
        key="model.layers",
        available=available,
    )


def run_folder_bytes(parameters: int, preset: Any) -> int:
    """Disk a run folder needs: model, best and last checkpoints (with optimizer state), one temp copy, metrics."""
    weights = parameters * FLOAT
    last = weights * (1 + optimizer_slots(preset.training))
    return 2 * weights + 2 * last + preset.training.epochs * 120 + 64 * 1024


def check_disk_space(folder: str | Path, need: int, *, source: str | None = None) -> None:
    import shutil

    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if need > free:
        raise UserError(
            f"the run folder needs about {format_bytes(need)} of disk (weights, checkpoints, metrics) "
            f"but only {format_bytes(free)} is free; free some space or choose another folder with --out",
            source=source or str(folder),
        )
