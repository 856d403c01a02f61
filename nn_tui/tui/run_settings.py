"""What differs between runs: each run's preset.toml as dotted keys, and the keys whose values are not the same in
every run (the columns and labels of Compare runs). No Textual here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nn_tui.core.run.fingerprint import flatten

IGNORED = ("name", "description", "training.device", "training.threads", "training.checkpoint_every")


def run_settings(path: str | Path) -> dict[str, Any]:
    """A run folder's preset as dotted keys ({} when it has none that reads)."""
    from nn_tui.core.preset import read_toml

    try:
        raw = read_toml(Path(path) / "preset.toml")
    except Exception:  # noqa: BLE001 - a broken or missing preset: the run simply shows no settings
        return {}
    return {k: v for k, v in flatten(raw).items() if k not in IGNORED and not k.startswith("expect.")}


def differing(settings: list[dict[str, Any]]) -> list[str]:
    """The keys whose value is not the same in every one of `settings` (in the first run's key order)."""
    if len(settings) < 2:
        return []
    keys: list[str] = []
    for s in settings:
        keys += [k for k in s if k not in keys]
    return [k for k in keys if len({repr(s.get(k)) for s in settings}) > 1
            and not (k.startswith("model.layers") and k.count(".") == 1)]  # "2 entries": the per-layer keys say it


def column_label(key: str, keys: list[str]) -> str:
    """A short column name: the key's last part, or more of it when two keys end alike."""
    last = key.split(".")[-1]
    if sum(1 for k in keys if k.split(".")[-1] == last) == 1:
        return last
    return ".".join(key.split(".")[-3:]) if key.startswith("model.layers") else key


def value_text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).lower() if isinstance(value, bool) else str(value)
