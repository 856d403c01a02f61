"""What defines a run: its resolved preset and a fingerprint of its data (shapes, classes, a hash of the arrays).

Recorded in every checkpoint and in model.safetensors, so `--resume` can refuse a run folder whose
preset.toml or data changed since training began, and `nn-tui eval` can refuse data the model cannot score.
Run folders from before this was recorded have none; they are checked only as before.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nn_tui.core.datasets import Dataset
    from nn_tui.core.preset import Preset

# Preset keys a resume may change: how long, where and how often to save, and the words about the run.
RESUMABLE_KEYS = ("name", "description", "training.epochs", "training.device", "training.threads", "training.checkpoint_every")
METADATA_KEY = "definition"  # the JSON of run_definition() in a checkpoint's state and model.safetensors' metadata


def data_fingerprint(data: Dataset) -> dict[str, Any]:
    """Shapes, classes and a hash of the arrays, in that order of usefulness to a person reading a refusal."""
    import numpy as np

    digest = hashlib.sha256()  # hardware-accelerated on most CPUs: about 0.5 s for MNIST's 220 MB on 2 busy cores
    for array in (data.X_train, data.y_train, data.X_test, data.y_test):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        if array.size:  # an empty split (nothing held out) has no bytes, and memoryview cannot cast it
            digest.update(memoryview(array).cast("B"))
    return {
        "task": data.task,
        "train_rows": int(len(data.X_train)),
        "test_rows": int(len(data.X_test)),
        "features": data.n_features,
        "labels": list(data.label_names) if data.label_names else None,
        "hash": digest.hexdigest()[:32],
    }


def run_definition(preset: Preset, data: Dataset) -> dict[str, Any]:
    from nn_tui.core.datasets import get_dataset_info
    from nn_tui.core.preset import preset_to_dict

    # Where the data lives (a CSV's path) may change with the folder; what it holds is in the fingerprint.
    paths = {f"data.{k}" for k in get_dataset_info(preset.data.dataset).path_options}
    settings = {k: v for k, v in flatten(preset_to_dict(preset)).items()
                if k not in RESUMABLE_KEYS and k not in paths and not k.startswith("expect.")}
    return {"preset": settings, "data": data_fingerprint(data)}


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A TOML-shaped dict as dotted keys; a list of tables (the layers) as one key per entry."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):  # layers: one key each
            out[f"{prefix}{key}"] = f"{len(value)} entries"
            out.update(flatten({str(i): v for i, v in enumerate(value)}, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def definition_changes(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between a recorded definition and the current one, each in a few words; [] if nothing."""
    # Round-tripped through JSON like the saved one, so a tuple and a list, or 1 and 1.0 from TOML, compare alike.
    now = json.loads(json.dumps(now))
    changes = []
    before, after = saved.get("preset", {}), now.get("preset", {})
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            changes.append(f"{key} {_words(before.get(key))} → {_words(after.get(key))}")
    return changes + data_changes(saved.get("data"), now.get("data"))


def data_changes(saved: dict[str, Any] | None, now: dict[str, Any] | None) -> list[str]:
    if not saved or not now:
        return []
    changes = []
    for key, words in (("task", "task"), ("features", "features"), ("labels", "classes")):
        if saved.get(key) != now.get(key):
            changes.append(f"data {words} {_words(saved.get(key))} → {_words(now.get(key))}")
    rows = [(k, saved.get(k), now.get(k)) for k in ("train_rows", "test_rows") if saved.get(k) != now.get(k)]
    if rows:
        changes.append("data rows (" + ", ".join(f"{k.split('_')[0]} {a} → {b}" for k, a, b in rows) + ")")
    if not changes and saved.get("hash") != now.get("hash"):
        changes.append("data values (same shape, different numbers)")
    return changes


def _words(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return f"{len(value)} [{', '.join(value)}]"
    return json.dumps(value) if isinstance(value, (list, dict, str)) else str(value)


def to_metadata(definition: dict[str, Any]) -> str:
    return json.dumps(definition, separators=(",", ":"))


def from_metadata(text: str | None) -> dict[str, Any] | None:
    """A recorded definition, or None when there is none (an older run folder) or it does not parse."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
