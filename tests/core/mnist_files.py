"""Tiny MNIST-format (IDX) files written where torchvision's MNIST/FashionMNIST/KMNIST classes look for them."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding: zero, zero, type 0x08 (unsigned byte), number of dimensions; big-endian sizes; data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.tobytes()


def write_mnist(
    root: Path, class_name: str = "MNIST", *, train: int = 60, test: int = 20, gz: bool = False, seed: int = 0
) -> Path:
    """Images whose brightness pattern depends on the label (so a model can learn them), labels 0-9.

    Returns the raw folder, root/<class_name>/raw.
    """
    rng = np.random.default_rng(seed)
    raw = Path(root) / class_name / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", train), ("t10k", test)):
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        images = rng.integers(0, 60, size=(n, 28, 28))
        for i, label in enumerate(labels):
            images[i, 2 * label : 2 * label + 6, 4:24] += 180  # a bright band whose row depends on the label
        for kind, array in (("images-idx3-ubyte", np.clip(images, 0, 255)), ("labels-idx1-ubyte", labels)):
            data = idx_bytes(array)
            path = raw / f"{split}-{kind}"
            if gz:
                path = path.with_name(path.name + ".gz")
                data = gzip.compress(data)
            path.write_bytes(data)
    return raw
