"""28x28 grey-scale image sets through torchvision (MNIST, Fashion-MNIST, KMNIST), flattened to 784 features.

The files live under `root/<ClassName>/raw/` exactly as torchvision expects them. Downloading is
guarded so that a machine without network fails within seconds with a message saying where to
put the files, instead of hanging in urllib.
"""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nn_tui.core.datasets import CLASSIFICATION, Dataset, DatasetInfo, register, resolve_path
from nn_tui.core.errors import UserError
from nn_tui.core.schema import Field

RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# Seconds to wait for a mirror to accept a connection before calling the machine offline.
PREFLIGHT_TIMEOUT = 6.0
# Seconds a download may sit without receiving data (urllib has no timeout of its own).
DOWNLOAD_SOCKET_TIMEOUT = 30.0
OFFLINE_ENV = "NN_TUI_OFFLINE"  # set to 1 to never download
ROOT_ENV = "NN_TUI_DATA_DIR"  # overrides the default root


def default_data_root() -> Path:
    """Per-user cache folder for downloaded datasets (XDG on Linux, ~/Library/Caches on macOS, LOCALAPPDATA on Windows)."""
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "nn-tui" / "datasets"


# name -> (torchvision class, label names, what it is)
_SETS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "mnist": ("MNIST", tuple(str(i) for i in range(10)), "Handwritten digits 0-9 (MNIST)"),
    "fashion_mnist": (
        "FashionMNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        "Zalando's clothing photos, 10 kinds (Fashion-MNIST)",
    ),
    "kmnist": (
        "KMNIST",
        ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        "Cursive Japanese (Kuzushiji) characters, 10 hiragana (KMNIST)",
    ),
}


def raw_folder(root: Path, class_name: str) -> Path:
    return root / class_name / "raw"


def _missing(raw: Path) -> list[str]:
    return [f for f in RAW_FILES if not (raw / f).is_file()]


def _gunzip_present(raw: Path, *, download: bool, what: str) -> None:
    """Unpack `<file>.gz` next to itself when only the .gz is there (torchvision reads the unpacked files)."""
    for name in RAW_FILES:
        target, packed = raw / name, raw / f"{name}.gz"
        if target.is_file() or not packed.is_file():
            continue
        tmp = raw / f".{name}.partial"
        try:
            with gzip.open(packed, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(tmp, target)
        except (OSError, EOFError) as exc:
            tmp.unlink(missing_ok=True)
            if download and not isinstance(exc, PermissionError):
                packed.unlink(missing_ok=True)  # an interrupted download: fetch it again
                continue
            raise UserError(
                f"{what}: cannot unpack {packed.name} ({exc}); delete it and try again", source=str(packed)
            ) from None


def _proxy_for(url: str) -> str | None:
    import urllib.request

    scheme = urlsplit(url).scheme
    host = urlsplit(url).hostname or ""
    if urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(scheme)


def _reachable(url: str, timeout: float) -> str | None:
    """None when a TCP connection to the url's host (or its proxy) opens within `timeout`; else the reason."""
    target = _proxy_for(url) or url
    parts = urlsplit(target if "://" in target else f"http://{target}")
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or exc}"


def _probe_all(urls: list[str]) -> list[str | None]:
    """_reachable for every url at once, in daemon threads: name lookup (getaddrinfo) has no timeout of
    its own, and a dead network should cost one timeout, not one per mirror."""
    results: list[str | None] = [f"no answer within {PREFLIGHT_TIMEOUT:g} s"] * len(urls)

    def probe(i: int) -> None:
        results[i] = _reachable(urls[i], PREFLIGHT_TIMEOUT)

    threads = [threading.Thread(target=probe, args=(i,), daemon=True, name="nn-tui-probe") for i in range(len(urls))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + PREFLIGHT_TIMEOUT + 1.0
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return list(results)


def _where_to_put(what: str, cls: Any, raw: Path) -> str:
    files = ", ".join(f"{name}.gz" for name in RAW_FILES)
    mirror = cls.mirrors[0] if getattr(cls, "mirrors", None) else "the dataset's home page"
    return (
        f"put the four {what} files {files} (or the same names unpacked) in {raw}, "
        f"e.g. downloaded from {mirror} on a machine with internet; "
        f"or set data.root to a folder that has {cls.__name__}/raw/ with them"
    )


def _download(cls: Any, root: Path, raw: Path, what: str) -> None:
    if os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        raise UserError(
            f"{what} is not downloaded yet and {OFFLINE_ENV} is set, so nn-tui will not download it; "
            + _where_to_put(what, cls, raw),
            key="data.download",
        )
    mirrors = list(getattr(cls, "mirrors", []))[:2]
    reasons = [r for r in _probe_all(mirrors) if r]
    if mirrors and len(reasons) == len(mirrors):
        raise UserError(
            f"{what} is not downloaded yet and there is no network connection ({'; '.join(reasons)}); "
            + _where_to_put(what, cls, raw),
            key="data.download",
        )
    try:
        raw.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"cannot create the dataset folder {raw}: {exc.strerror or exc}; set data.root to a writable folder",
            key="data.root",
        ) from None
    old_timeout = socket.getdefaulttimeout()
    if old_timeout is None:
        socket.setdefaulttimeout(DOWNLOAD_SOCKET_TIMEOUT)  # urllib would otherwise wait forever on a stalled link
    try:
        cls(str(root), train=True, download=True)
    except Exception as exc:  # noqa: BLE001 - any download failure becomes one clear message
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"downloading {what} failed ({first}); " + _where_to_put(what, cls, raw), key="data.download") from None
    finally:
        if old_timeout is None:
            socket.setdefaulttimeout(None)


def _subset(X, y, n: int, rng):
    if n <= 0 or n >= len(X):
        return X, y
    idx = rng.choice(len(X), size=n, replace=False)
    return X[idx], y[idx]


def _loader(name: str):
    class_name, label_names, words = _SETS[name]

    def load(o: dict[str, Any], seed: int, test_fraction: float, base_dir: Path | None) -> Dataset:
        import numpy as np
        import torchvision.datasets

        cls = getattr(torchvision.datasets, class_name)
        root = resolve_path(o["root"], base_dir) if o.get("root") else default_data_root()
        raw = raw_folder(root, class_name)
        _gunzip_present(raw, download=o["download"], what=class_name)
        missing = _missing(raw)
        if missing:
            if not o["download"]:
                raise UserError(
                    f"{class_name} files not found ({', '.join(missing)} missing in {raw}) and download = false; "
                    + _where_to_put(class_name, cls, raw)
                    + "; or set data.download = true",
                    key="data.download",
                )
            _download(cls, root, raw, class_name)
        try:
            train = cls(str(root), train=True, download=False)
            test = cls(str(root), train=False, download=False)
        except Exception as exc:  # noqa: BLE001 - malformed or truncated IDX files
            raise UserError(
                f"cannot read the {class_name} files in {raw} ({type(exc).__name__}: {exc}); "
                "they may be truncated or not IDX files: delete them and download again",
                key="data.root",
            ) from None

        def arrays(ds):
            images = ds.data.numpy()
            labels = np.asarray(ds.targets.numpy(), dtype=np.int64)
            if images.ndim != 3 or len(images) != len(labels):
                raise UserError(
                    f"{class_name} files in {raw} do not match: {len(images)} images, {len(labels)} labels",
                    key="data.root",
                )
            if len(labels) and (labels.min() < 0 or labels.max() >= len(label_names)):
                raise UserError(
                    f"{class_name} labels in {raw} must be 0-{len(label_names) - 1}; found {int(labels.max())}",
                    key="data.root",
                )
            return images.reshape(len(images), -1), labels

        rng = np.random.default_rng([seed, 2])
        X_train, y_train = _subset(*arrays(train), o["train_subset"], rng)
        X_test, y_test = _subset(*arrays(test), o["test_subset"], rng)
        # Pixels to [0, 1], then one mean and std for all pixels from the training images
        # (as transforms.Normalize does with MNIST's 0.1307 / 0.3081), not per pixel: border pixels are constant.
        X_train = X_train.astype(np.float32) / 255.0
        X_test = X_test.astype(np.float32) / 255.0
        mean = float(X_train.mean(dtype=np.float64)) if len(X_train) else 0.0
        std = float(X_train.std(dtype=np.float64)) if len(X_train) else 1.0
        std = std if std > 1e-12 else 1.0
        X_train = (X_train - mean) / std
        X_test = (X_test - mean) / std
        side = int(round(np.sqrt(X_train.shape[1])))
        return Dataset(
            name=name,
            task=CLASSIFICATION,
            X_train=np.ascontiguousarray(X_train, dtype=np.float32),
            y_train=y_train,
            X_test=np.ascontiguousarray(X_test, dtype=np.float32),
            y_test=y_test,
            feature_names=[f"pixel_{r}_{c}" for r in range(side) for c in range(side)]
            if side * side == X_train.shape[1]
            else [f"pixel_{i}" for i in range(X_train.shape[1])],
            label_names=list(label_names),
            source=f"torchvision.datasets.{class_name} in {root}",
        )

    return load


def _options() -> tuple[Field, ...]:
    return (
        Field("root", str, None, help=f"folder holding <ClassName>/raw/; default {default_data_root()}"),
        Field("download", bool, True, help="download the files (about 11-30 MB) when they are not in root"),
        Field("train_subset", int, 0, min=0, max=10_000_000, help="use this many random training images; 0 = all 60000"),
        Field("test_subset", int, 0, min=0, max=10_000_000, help="use this many random test images; 0 = all 10000"),
    )


for _name, (_class_name, _labels, _words) in _SETS.items():
    register(
        DatasetInfo(
            _name,
            CLASSIFICATION,
            f"{_words}: 28x28 images flattened to 784 features; validated on the official 10000-image "
            "test set (test_fraction does not apply)",
            _loader(_name),
            _options(),
            features=784,
            classes=10,
            samples=70000,
            source=f"torchvision.datasets.{_class_name} (download)",
            label_names=_labels,
            path_options=("root",),
        )
    )
