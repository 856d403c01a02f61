"""Atomic file writes: a temp file in the same folder, fsync, then rename, so readers never see half a file."""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def _replacing(path: Path) -> Iterator[tuple[int, str]]:
    """A temp file beside `path` (its open descriptor and name): renamed over `path` when the block ends, removed
    if it raises, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        yield fd, tmp
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call write(temp_path) and rename the temp file over path once it is complete and synced."""
    path = Path(path)
    with _replacing(path) as (fd, tmp):
        os.close(fd)
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """atomic_write for text, written and synced through the temp file's own descriptor (one open, not two:
    a sweep writes thousands of small files)."""
    path = Path(path)
    with _replacing(path) as (fd, tmp):
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    return path


def atomic_write_json(path: str | Path, data: Any) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def atomic_write_safetensors(path: str | Path, tensors: dict[str, Any], metadata: dict[str, str] | None = None) -> Path:
    """save_file through atomic_write. safetensors reports a failed write (a full disk) as SafetensorError;
    it is raised here as the OSError it was, so every writer handles one kind of disk error."""
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    def write(tmp: str) -> None:
        try:
            save_file(tensors, tmp, metadata=metadata)
        except SafetensorError as exc:
            code = re.search(r"os error (\d+)", str(exc))
            if code is None:
                raise
            raise OSError(int(code.group(1)), os.strerror(int(code.group(1))), tmp) from None

    return atomic_write(path, write)


_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EFBIG: "the file is too large for this file system or limit",
}


def describe_os_error(exc: OSError) -> str:
    """A disk error in plain words: "the disk is full" rather than "[Errno 28] No space left on device"."""
    return _REASONS.get(exc.errno, exc.strerror or str(exc))
