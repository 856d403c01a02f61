"""Safetensors files read safely: the header is checked by hand first, and a pickle (what `torch.save`
writes) is refused without being opened by pickle. Used for checkpoints, run weights, evaluation and export."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nn_tui.core.errors import UserError

if TYPE_CHECKING:
    import torch

MAX_HEADER_BYTES = 100 * 1024 * 1024


def read_safetensors_header(path: str | Path) -> dict[str, Any]:
    """The JSON header of a safetensors file, checked against the file's size. Never unpickles anything.

    Raises a UserError naming the file when it is missing, truncated, corrupted, or not safetensors at all
    (a pickle from `torch.save` is recognised and refused by its first bytes).
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            size = fh.seek(0, 2)
            if len(head) < 8:
                raise UserError(f"not a safetensors file: only {size} bytes (truncated?)", source=str(path))
            if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
                raise UserError(
                    "this is a Python pickle, not safetensors; nn-tui refuses to load it because unpickling "
                    "can run arbitrary code. Save weights with safetensors instead",
                    source=str(path),
                )
            if head[:4] == b"PK\x03\x04":
                raise UserError(
                    "this is a zip archive (what torch.save writes: a pickle inside), not safetensors; "
                    "nn-tui refuses to load it because unpickling can run arbitrary code",
                    source=str(path),
                )
            (n,) = struct.unpack("<Q", head)
            if n == 0 or n > MAX_HEADER_BYTES or 8 + n > size:
                raise UserError(
                    f"not a safetensors file, or a truncated one: the header claims {n} bytes in a file of {size}",
                    source=str(path),
                )
            fh.seek(8)
            raw = fh.read(n)
    except FileNotFoundError:
        raise UserError("file not found", source=str(path)) from None
    except IsADirectoryError:
        raise UserError("is a folder, not a safetensors file", source=str(path)) from None
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    try:
        header = json.loads(raw.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
    except (UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"corrupted safetensors header: {exc}", source=str(path)) from None
    data_size = size - 8 - n
    end = 0
    for key, info in header.items():
        if key == "__metadata__":
            continue
        try:
            start, stop = info["data_offsets"]
            shape = info["shape"]
            ok = 0 <= start <= stop and isinstance(shape, list)
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise UserError(f"corrupted safetensors header: bad entry for tensor {key!r}", source=str(path))
        end = max(end, stop)
    if end != data_size:
        raise UserError(
            f"truncated or corrupted: the header describes {end} bytes of tensor data but the file holds {data_size}",
            source=str(path),
        )
    return header


def read_safetensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors on CPU, metadata) from a safetensors file, with clear errors for broken files."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    header = read_safetensors_header(path)
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise UserError(f"not a readable safetensors file: {exc}", source=str(path)) from None
    meta = header.get("__metadata__") or {}
    return tensors, {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}
