"""Presets written back as TOML: what `dump_preset` writes, `load_preset` reads as the same preset."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nn_tui.core.preset.load import Preset


def preset_to_dict(preset: Preset) -> dict[str, Any]:
    """The preset as a TOML-shaped dict with defaults left out where they are None."""
    out: dict[str, Any] = {"name": preset.name}
    if preset.description:
        out["description"] = preset.description
    out["seed"] = preset.seed
    data: dict[str, Any] = {
        "dataset": preset.data.dataset,
        "test_fraction": preset.data.test_fraction,
        "batch_size": preset.data.batch_size,
    }
    if preset.data.extra_features:  # left out when none, so older presets and run definitions read the same
        data["extra_features"] = list(preset.data.extra_features)
    data.update(preset.data.options)
    out["data"] = data
    out["model"] = {"layers": [asdict(layer) for layer in preset.layers]}
    # l1 = 0 is left out, so presets and run definitions from before it existed read the same.
    out["training"] = {k: v for k, v in asdict(preset.training).items() if v is not None and not (k == "l1" and v == 0)}
    if preset.expect:
        out["expect"] = dict(preset.expect)
    return out


def dump_preset(preset: Preset) -> str:
    """TOML text for a preset; `parse_preset(tomllib.loads(dump_preset(p)))` equals p."""
    d = preset_to_dict(preset)
    lines: list[str] = []
    for key in ("name", "description", "seed"):
        if key in d:
            lines.append(f"{key} = {_toml_value(d[key])}")
    lines += ["", "[data]"] + [f"{k} = {_toml_value(v)}" for k, v in d["data"].items()]
    lines.append("")
    if not d["model"]["layers"]:
        lines += ["[model]", "layers = []  # no hidden layers: a single-layer perceptron", ""]
    for layer in d["model"]["layers"]:
        lines += ["[[model.layers]]"] + [f"{k} = {_toml_value(v)}" for k, v in layer.items()] + [""]
    lines += ["[training]"] + [f"{k} = {_toml_value(v)}" for k, v in d["training"].items()]
    if "expect" in d:
        lines += ["", "[expect]"] + [f"{k} = {_toml_value(v)}" for k, v in d["expect"].items()]
    return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"cannot write non-finite number {v!r} to TOML")
        text = repr(v)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(v, str):
        out = ['"']
        for ch in v:
            if ch == '"':
                out.append('\\"')
            elif ch == "\\":
                out.append("\\\\")
            elif ch == "\n":
                out.append("\\n")
            elif ch == "\t":
                out.append("\\t")
            elif ord(ch) < 0x20 or ord(ch) == 0x7F:
                out.append(f"\\u{ord(ch):04x}")
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def save_preset(preset: Preset, path: str | Path) -> Path:
    from nn_tui.core.fileio import atomic_write_text

    path = Path(path)
    atomic_write_text(path, dump_preset(preset))
    return path
