"""What the Experiments view's fields mean: `0.001, 0.01, 0.1` (a list), `1e-4..1e-1 log` (a range), and the
sweep those fields make from the current setup. No Textual here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nn_tui.core.errors import UserError
from nn_tui.core.preset import Preset, parse_preset, preset_to_dict
from nn_tui.core.preset.choices import ACTIVATIONS, OPTIMIZERS, SCHEDULER_NAMES
from nn_tui.core.sweep.spec import Sweep, parse_spec, toml_value, with_absolute_paths

SOURCE = "Experiments"
DEFAULT_TRIALS = 8  # configurations sampled when a field holds a range


@dataclass(frozen=True)
class VaryField:
    """A setting the view offers to vary: its preset key, a short label, and the values to choose from."""

    key: str
    label: str
    choices: tuple[str, ...] = ()


def vary_fields(preset: Preset, extra: tuple[str, ...] = ()) -> list[VaryField]:
    """The settings of `preset` worth varying (and any `extra` keys a sweep file varies)."""
    fields = [
        VaryField("training.lr", "lr"),
        VaryField("training.optimizer", "optimizer", tuple(OPTIMIZERS)),
        VaryField("training.weight_decay", "weight decay"),
        VaryField("training.epochs", "epochs"),
        VaryField("data.batch_size", "batch size"),
        VaryField("training.scheduler", "scheduler", SCHEDULER_NAMES),
    ]
    if preset.layers:
        fields += [VaryField("model.layers.0.units", "layer 1 units"),
                   VaryField("model.layers.0.activation", "layer 1 act.", tuple(ACTIVATIONS))]
    known = {f.key for f in fields}
    fields += [VaryField(key, key.split(".")[-1]) for key in extra if key not in known]
    return fields


def current_value(preset: Preset, key: str) -> Any:
    """The setup's value at a dotted key (None when the setup leaves it out)."""
    node: Any = preset_to_dict(preset)
    for part in key.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def parse_item(text: str) -> Any:
    """One typed value: a number, true/false, or a word."""
    text = text.strip().strip('"').strip("'")
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_field(key: str, text: str) -> Any | None:
    """A field's text as a [sweep.params] value: a list, a range table, or None for an empty field."""
    text = text.strip()
    if not text:
        return None
    if ".." in text:
        body, _, flag = text.partition(" ")
        if flag.strip() not in ("", "log", "lin"):
            raise UserError(f"a range is LOW..HIGH, optionally followed by log; got {text!r}", source=SOURCE, key=key)
        low_text, _, high_text = body.partition("..")
        low, high = parse_item(low_text), parse_item(high_text)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)):
            raise UserError(f"a range needs two numbers, LOW..HIGH; got {text!r}", source=SOURCE, key=key)
        return {"low": low, "high": high, "log": flag.strip() == "log"}
    values = [parse_item(part) for part in text.split(",") if part.strip()]
    return values or None


def field_text(value: Any) -> str:
    """A [sweep.params] value as the field shows it (the inverse of parse_field)."""
    if isinstance(value, dict):
        return f"{value.get('low')}..{value.get('high')}" + (" log" if value.get("log") else "")
    if isinstance(value, (list, tuple)):
        return ", ".join(v if isinstance(v, str) else toml_value(v) for v in value)
    return "" if value is None else str(value)


def build_sweep(base: Preset, texts: dict[str, str], *, seeds: int = 1, workers: int = 1,
                trials: int = DEFAULT_TRIALS, like: Sweep | None = None, fixed: dict[str, Any] | None = None) -> Sweep:
    """The sweep the fields describe: a grid over the typed lists, or random sampling once a range is typed.
    Every mistake is a UserError naming the field's key. `like`: a sweep file opened in the view, whose metric,
    direction and pruning are kept; `fixed`: [sweep.params] values to use as they are for keys whose field still
    shows them (a list of layer lists does not survive being split at commas)."""
    params, settings = {}, {}
    for key, text in texts.items():
        value = (fixed or {}).get(key) if key in (fixed or {}) else parse_field(key, text)
        if isinstance(value, list) and len(value) == 1:  # one value: a setting of every trial, not a column
            settings[key] = value[0]
        elif value is not None:
            params[key] = value
    if not params:
        raise UserError("type values into at least one field, e.g. 0.001, 0.01, 0.1", source=SOURCE, key="vary")
    method = "random" if any(isinstance(v, dict) for v in params.values()) else "grid"
    table: dict[str, Any] = {"method": method, "seeds": seeds, "workers": workers, "params": params}
    if method == "random":
        table["trials"] = trials
    if like is not None:
        for key in ("metric", "direction"):
            if getattr(like.spec, key):
                table[key] = getattr(like.spec, key)
        table["prune"] = like.spec.prune
        if method == "random" and like.spec.method == "tpe":
            table["method"] = "tpe"
    if settings:
        from nn_tui.core.sweep.spec import apply_params

        base = apply_params(base, settings, base.seed, source=SOURCE)
    raw = preset_to_dict(base)
    raw.pop("expect", None)  # a sweep ranks its trials; a preset's own expectation is not a trial's failure
    preset = parse_preset(raw, source=SOURCE, default_name=base.name)
    preset.base_dir = base.base_dir
    preset = with_absolute_paths(preset)
    return Sweep(preset, parse_spec(table, preset, source=SOURCE), SOURCE)
