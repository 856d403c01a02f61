"""The `--set KEY.PATH=VALUE` language (values in TOML), and command-line options as overrides: the one
place `--epochs`, `--device`, `--seed` and `--threads` become preset keys."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from nn_tui.core.errors import UserError
from nn_tui.core.toml import tomllib


def option_overrides(
    *, epochs: int | None = None, device: str | None = None, seed: int | None = None, threads: int | None = None
) -> list[str]:
    """`KEY=VALUE` overrides (values in TOML) for the options given; None means not given."""
    out = []
    if epochs is not None:
        out.append(f"training.epochs={int(epochs)}")
    if device is not None:
        out.append(f"training.device={json.dumps(device)}")
    if seed is not None:
        out.append(f"seed={int(seed)}")
    if threads is not None:
        out.append(f"training.threads={int(threads)}")
    return out


# A --set value starting with one of these is meant as TOML (an array, a table, a quoted string): a syntax
# error in it is reported, not taken as a plain string.
TOML_OPENERS = ("[", "{", '"', "'")


def parse_override_value(text: str, item: str | None = None) -> Any:
    """A --set value is read as a TOML value (0.1, true, "adam", [16, 8]); a bare word is a string.

    item: the whole `KEY=VALUE` argument, for the error when an array, table or quoted string is malformed."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError, ValueError) as exc:
        if item is not None and text.startswith(TOML_OPENERS):
            detail = re.sub(r"\(at line 1, column (\d+)\)", lambda m: f"(at character {int(m[1]) - 4} of the value)", str(exc))
            detail = detail.replace("(at end of document)", "(at the end of the value)")
            raise UserError(f"--set {item!r}: TOML syntax error in the value: {detail}") from None
        return text


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `training.lr=0.1`, `model.layers.0.units=32` style overrides to a raw preset dict."""
    raw = copy.deepcopy(raw)
    for item in overrides:
        if "=" not in item:
            raise UserError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. --set training.lr=0.1")
        key, _, text = item.partition("=")
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise UserError(f"--set {item!r}: empty key path")
        value = parse_override_value(text.strip(), item)
        node: Any = raw
        for i, part in enumerate(parts[:-1]):
            nxt = parts[i + 1]
            if isinstance(node, list):
                node = _list_item(node, part, item)
                continue
            if not isinstance(node, dict):
                raise UserError(f"--set {item!r}: {'.'.join(parts[: i + 1])} is not a table")
            if part not in node:
                node[part] = [] if (part == "layers" and nxt.isdigit()) else {}
            node = node[part]
        last = parts[-1]
        if isinstance(node, list):
            idx = _index(last, len(node), item)
            node[idx] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise UserError(f"--set {item!r}: {'.'.join(parts[:-1])} is not a table")
    return raw


def _index(part: str, length: int, item: str) -> int:
    if not part.isdigit() or int(part) >= length:
        raise UserError(f"--set {item!r}: {part!r} is not a layer index (there are {length} layers, from 0)")
    return int(part)


def _list_item(node: list, part: str, item: str) -> Any:
    return node[_index(part, len(node), item)]
