"""The sweep file: a preset with a `[sweep]` table. Parsing and checking it, and turning one trial's
parameters into the preset that trial trains."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nn_tui.core.errors import UserError
from nn_tui.core.preset import Preset, apply_overrides, dump_preset, parse_preset, preset_to_dict, read_toml
from nn_tui.core.schema import shown

METHODS = ("grid", "random", "tpe")
DIRECTIONS = ("minimize", "maximize")
# Columns of metrics.csv a sweep can rank by (lr and seconds are not results).
METRICS = ("val_loss", "train_loss", "val_accuracy", "val_r2")
SWEEP_KEYS = ("method", "trials", "seeds", "metric", "direction", "prune", "workers", "params")
MAX_RUNS = 10_000  # a grid bigger than this is almost certainly a typo


@dataclass(frozen=True)
class Param:
    """One varied key: a list of values (any method), or a range {low, high, log} (random and tpe)."""

    key: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False

    @property
    def is_range(self) -> bool:
        return self.values is None

    @property
    def is_int_range(self) -> bool:
        return self.is_range and isinstance(self.low, int) and isinstance(self.high, int)

    def labels(self) -> list[Any]:
        """The values as Optuna can store them (str, int, float, bool); a list or table becomes its TOML text."""
        return [label_of(v) for v in self.values or ()]


@dataclass
class SweepSpec:
    method: str = "grid"
    trials: int = 0  # configurations to sample (random / tpe); each is trained once per seed
    seeds: int = 1
    metric: str | None = None  # None: the task's metric (val_accuracy or val_r2)
    direction: str | None = None  # None: minimize for a loss, else maximize
    prune: bool = False
    workers: int = 0  # 0: one per CPU core
    params: dict[str, Param] = field(default_factory=dict)

    def resolved_direction(self, metric: str) -> str:
        return self.direction or ("minimize" if metric.endswith("loss") else "maximize")

    def grid(self) -> dict[str, list[Any]]:
        return {key: p.labels() for key, p in self.params.items()}

    def configurations(self) -> int:
        if self.method == "grid":
            return math.prod(len(p.values or ()) for p in self.params.values())
        return self.trials

    def total_runs(self) -> int:
        return self.configurations() * self.seeds


@dataclass
class Sweep:
    """A parsed sweep file: the preset every trial starts from, and how to vary it."""

    preset: Preset  # the base preset (data paths absolute), without the sweep table
    spec: SweepSpec
    source: str

    @property
    def name(self) -> str:
        return self.preset.name

    def trial_preset(self, params: dict[str, Any], seed: int) -> Preset:
        """The preset one trial trains: the base with `params` (keys -> values) applied like `--set`, and `seed`."""
        return apply_params(self.preset, params, seed, source=self.source)

    def to_toml(self) -> str:
        """The resolved sweep file (written into the sweep folder; `--resume` reads it back)."""
        s = self.spec
        lines = [dump_preset(self.preset).rstrip("\n"), "", "[sweep]", f'method = "{s.method}"', f"trials = {s.trials}",
                 f"seeds = {s.seeds}"]
        if s.metric:
            lines.append(f'metric = "{s.metric}"')
        if s.direction:
            lines.append(f'direction = "{s.direction}"')
        lines += [f"prune = {'true' if s.prune else 'false'}", f"workers = {s.workers}", "", "[sweep.params]"]
        for key, p in s.params.items():
            if p.is_range:
                value = f"{{ low = {toml_value(p.low)}, high = {toml_value(p.high)}, log = {toml_value(p.log)} }}"
            else:
                value = toml_value(list(p.values or ()))
            lines.append(f"{toml_value(key)} = {value}")
        return "\n".join(lines) + "\n"


def load_sweep(path: str | Path, overrides: list[str] | None = None, *, trials: int | None = None,
               workers: int | None = None) -> Sweep:
    """Read and check a sweep file (with `--set` overrides, `--trials` and `--workers` applied). Every mistake is
    a UserError naming the file and the key."""
    path = Path(path)
    raw = read_toml(path)
    source = str(path)
    if overrides:
        raw = apply_overrides(raw, overrides)
        source += " (with --set)"
    if "sweep" not in raw:
        raise UserError("no [sweep] table: a sweep file is a preset with a [sweep] table (see README, Sweeps)",
                        source=source, key="sweep")
    raw = dict(raw)
    table = raw.pop("sweep")
    if trials is not None and isinstance(table, dict):
        table = {**table, "trials": trials}
    if workers is not None and isinstance(table, dict):
        table = {**table, "workers": workers}
    preset = parse_preset(raw, source=source, default_name=path.stem)
    preset.base_dir = path.resolve().parent
    preset = with_absolute_paths(preset)
    spec = parse_spec(table, preset, source=source)
    return Sweep(preset, spec, source)


def with_absolute_paths(preset: Preset) -> Preset:
    from nn_tui.core.datasets import absolute_path_options

    out = preset.copy()
    out.data.options = absolute_path_options(preset.data.dataset, preset.data.options, preset.base_dir)
    return out


def parse_spec(table: Any, preset: Preset, *, source: str) -> SweepSpec:
    """Check the [sweep] table against the preset it varies."""
    from nn_tui.core.datasets import get_dataset_info

    if not isinstance(table, dict):
        raise UserError(f"expected a table, got {shown(table)}", source=source, key="sweep")
    for key in table:
        if key not in SWEEP_KEYS:
            raise UserError(f"unknown key {shown(key)}; allowed keys: {', '.join(SWEEP_KEYS)}", source=source,
                            key=f"sweep.{key}")
    spec = SweepSpec()
    spec.method = _choice(table, "method", METHODS, "grid", source)
    spec.trials = _int(table, "trials", 0, 0, MAX_RUNS, source)
    spec.seeds = _int(table, "seeds", 1, 1, 1000, source)
    spec.workers = _int(table, "workers", 0, 0, 1024, source)
    prune = table.get("prune", False)
    if not isinstance(prune, bool):
        raise UserError(f"{shown(prune)} is not allowed; expected true or false", source=source, key="sweep.prune")
    spec.prune = prune
    task = get_dataset_info(preset.data.dataset).task
    if "metric" in table:
        metric = _choice(table, "metric", METRICS, None, source)
        other = {"classification": "val_r2", "regression": "val_accuracy"}.get(task or "")
        if metric == other:
            allowed = [m for m in METRICS if m != other]
            raise UserError(f"{shown(metric)} is not a metric of this {task} dataset; expected one of: "
                            f"{', '.join(allowed)}", source=source, key="sweep.metric")
        spec.metric = metric
    if "direction" in table:
        spec.direction = _choice(table, "direction", DIRECTIONS, None, source)
    if spec.method in ("random", "tpe") and spec.trials < 1:
        raise UserError(f"method {spec.method!r} needs the number of trials: set sweep.trials (1 or more) or give --trials",
                        source=source, key="sweep.trials")
    params = table.get("params")
    if not isinstance(params, dict) or not params:
        raise UserError('needs at least one key to vary, e.g. "training.lr" = [0.001, 0.01, 0.1]',
                        source=source, key="sweep.params")
    for key, value in params.items():
        spec.params[key] = parse_param(key, value, spec.method, preset, source=source)
    if spec.total_runs() > MAX_RUNS:
        raise UserError(f"{spec.total_runs()} runs (configurations x seeds); at most {MAX_RUNS} are allowed",
                        source=source, key="sweep.params" if spec.method == "grid" else "sweep.trials")
    return spec


def parse_param(key: str, value: Any, method: str, preset: Preset, *, source: str) -> Param:
    """One entry of [sweep.params], with every value it can take checked as a preset (so an unknown key or a bad
    value fails now, naming the key, not in the middle of the sweep)."""
    name = f"sweep.params.{toml_value(key)}"
    parts = [p for p in key.split(".") if p]
    if not parts or parts[0] in ("seed", "sweep", "name", "description"):
        raise UserError("this key cannot be varied (vary seeds with sweep.seeds); use a dotted preset key such as "
                        '"training.lr" or "model.layers.0.units"', source=source, key=name)
    if isinstance(value, list):
        if not value:
            raise UserError("an empty list: give at least one value", source=source, key=name)
        labels = [label_of(v) for v in value]
        if len(set(map(repr, labels))) != len(labels):
            raise UserError(f"a value is listed twice in {toml_value(value)}", source=source, key=name)
        param = Param(key, values=tuple(value))
        for v in value:
            _check_value(preset, key, v, name, source)
        return param
    if isinstance(value, dict):
        extra = [k for k in value if k not in ("low", "high", "log")]
        if extra or "low" not in value or "high" not in value:
            raise UserError(f"a range is {{ low = ..., high = ..., log = true|false }}; got {toml_value(value)}",
                            source=source, key=name)
        low, high, log = value["low"], value["high"], value.get("log", False)
        for what, v in (("low", low), ("high", high)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise UserError(f"{what} must be a number, got {shown(v)}", source=source, key=name)
        if not isinstance(log, bool):
            raise UserError(f"log must be true or false, got {shown(log)}", source=source, key=name)
        if low > high:
            raise UserError(f"low ({low:g}) is above high ({high:g})", source=source, key=name)
        if log and low <= 0:
            raise UserError(f"a log range needs low > 0 (got {low:g})", source=source, key=name)
        if method == "grid":
            raise UserError("a range needs method random or tpe; a grid takes a list of values", source=source, key=name)
        for v in (low, high):
            _check_value(preset, key, v, name, source)
        return Param(key, low=low, high=high, log=log)
    raise UserError(f"expected a list of values or a range {{ low, high, log }}, got {shown(value)}", source=source,
                    key=name)


def _check_value(preset: Preset, key: str, value: Any, name: str, source: str) -> None:
    try:
        apply_params(preset, {key: value}, preset.seed, source=source)
    except UserError as exc:
        raise UserError(f"value {toml_value(value)}: {exc.detail}" + (f" ({exc.key})" if exc.key else ""),
                        source=source, key=name) from None


def apply_params(preset: Preset, params: dict[str, Any], seed: int, *, source: str | None = None) -> Preset:
    raw = preset_to_dict(preset)
    overrides = [f"{k}={toml_value(v)}" for k, v in params.items()] + [f"seed={int(seed)}"]
    out = parse_preset(apply_overrides(raw, overrides), source=source, default_name=preset.name)
    out.base_dir = preset.base_dir
    return out


def grid_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every combination of a grid's values, in file order (what a grid sweep trains, once per seed)."""
    keys = list(spec.params)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(spec.params[k].values or () for k in keys))]


def label_of(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) else toml_value(value)


def value_of(param: Param, label: Any) -> Any:
    """The preset value an Optuna label stands for."""
    if param.values is not None:
        for v in param.values:
            if label_of(v) == label:
                return v
    return label


def short_label(value: Any) -> str:
    """A value as a leaderboard shows it: a list of layers as its widths ("32-32", "16x8 tanh"), else as written."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list) and value and all(isinstance(v, dict) and "units" in v for v in value):
        units = [v["units"] for v in value]
        text = f"{units[0]}x{len(units)}" if len(units) > 2 and len(set(units)) == 1 else "-".join(map(str, units))
        acts = {v.get("activation", "relu") for v in value}
        return text + (f" {acts.pop()}" if len(acts) == 1 else " mixed")
    if isinstance(value, list) and not value:
        return "none"
    return value if isinstance(value, str) else toml_value(value)


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_value(v: Any) -> str:
    """A value as TOML text (inline tables and arrays included)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        text = repr(v)
        return text if any(c in text for c in ".eninf") else text + ".0"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        items = (f"{k if _BARE.match(str(k)) else toml_value(str(k))} = {toml_value(x)}" for k, x in v.items())
        return "{ " + ", ".join(items) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _choice(table: dict, key: str, allowed: tuple[str, ...], default: Any, source: str) -> Any:
    value = table.get(key, default)
    if value not in allowed:
        raise UserError(f"{shown(value)} is not allowed; expected one of: {', '.join(allowed)}", source=source,
                        key=f"sweep.{key}")
    return value


def _int(table: dict, key: str, default: int, low: int, high: int, source: str) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UserError(f"{shown(value)} is not allowed; expected a whole number from {low} to {high}", source=source,
                        key=f"sweep.{key}")
    return value


def read_sweep_table(path: Path) -> dict[str, Any]:
    """The raw [sweep] table of a file (or {} without one)."""
    table = read_toml(path).get("sweep")
    return table if isinstance(table, dict) else {}
