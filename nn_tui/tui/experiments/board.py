"""The trials of one sweep as the Experiments view shows them: each trial's curve and result, grouped into
configurations (the same settings, different seeds), ranked. Fed with the sweep engine's events; no Textual."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from nn_tui.core.sweep.spec import Sweep, short_label, value_of

RANKED = ("completed", "early_stopped")


@dataclass
class TrialLine:
    number: int
    params: dict[str, Any]  # key -> label, as the sweep engine stores them
    seed: int | None
    status: str = "running"
    value: float | None = None  # the metric's best value when the trial ended
    curve: list[tuple[float, float]] = field(default_factory=list)  # (epoch, metric)
    epochs: int | None = None  # planned, while running
    run_dir: str | None = None

    @property
    def config(self) -> tuple:
        return tuple(sorted((k, repr(v)) for k, v in self.params.items()))


@dataclass
class Band:
    """One configuration's curves over its seeds: the mean per epoch, and the lowest and highest value."""

    label: str
    color: int
    xs: list[float]
    mean: list[float]
    low: list[float]
    high: list[float]


class Board:
    def __init__(self, sweep: Sweep, metric: str = "", direction: str = "maximize") -> None:
        self.sweep = sweep
        self.metric = metric
        self.direction = direction
        self.trials: dict[int, TrialLine] = {}
        self.configs: list[tuple] = []  # in the order they first appeared: a configuration keeps its colour
        self.total = sweep.spec.total_runs()
        self.done = 0
        self.status = "idle"
        self.sweep_dir: str | None = None

    @property
    def keys(self) -> list[str]:
        return list(self.sweep.spec.params)

    def label(self, key: str, value: Any) -> str:
        param = self.sweep.spec.params.get(key)
        return short_label(value_of(param, value)) if param is not None else str(value)

    def config_label(self, trial: TrialLine) -> str:
        return " ".join(f"{k.split('.')[-1]}={self.label(k, trial.params.get(k))}" for k in self.keys)

    def color_of(self, trial: TrialLine) -> int:
        return self.configs.index(trial.config) if trial.config in self.configs else 0

    # ------------------------------------------------------------ events in

    def apply(self, kind: str, number: int | None, data: dict[str, Any]) -> None:
        if kind == "start":
            self.metric = data.get("metric", self.metric)
            self.direction = data.get("direction", self.direction)
            self.total, self.done = data.get("total", self.total), data.get("done", self.done)
            self.sweep_dir = data.get("sweep_dir", self.sweep_dir)
            self.status = "running"
        elif kind in ("trial_start", "trial_end") and number is not None:
            trial = self.trials.get(number)
            if trial is None:
                trial = self.trials[number] = TrialLine(number, dict(data.get("params") or {}), data.get("seed"))
                if trial.config not in self.configs:
                    self.configs.append(trial.config)
            trial.run_dir = data.get("run_dir") or trial.run_dir
            if kind == "trial_end":
                trial.status, trial.value = data.get("status", "failed"), data.get("value")
                if data.get("curve"):
                    trial.curve = list(data["curve"])
                self.done = data.get("done", self.done)
        elif kind == "trial_epoch" and number in self.trials:
            trial = self.trials[number]
            trial.epochs = data.get("epochs")
            value = data.get("value")
            if value is not None and math.isfinite(value):
                trial.curve.append((float(data["epoch"]), float(value)))
        elif kind == "end":
            self.status = data.get("status", "completed")
            self.done = data.get("done", self.done)

    # ------------------------------------------------------------ views out

    def ranked(self) -> list[TrialLine]:
        """Finished trials best first, then running ones, then the rest (failed, diverged, stopped)."""
        sign = 1.0 if self.direction == "minimize" else -1.0

        def key(t: TrialLine) -> tuple:
            good = t.status in RANKED and t.value is not None and math.isfinite(t.value)
            group = 0 if good else 1 if t.status == "running" else 2
            return (group, sign * t.value if good else 0.0, t.number)

        return sorted(self.trials.values(), key=key)

    def best(self) -> TrialLine | None:
        first = next(iter(self.ranked()), None)
        return first if first is not None and first.status in RANKED and first.value is not None else None

    def params_of(self, trial: TrialLine) -> dict[str, Any]:
        """The trial's settings as preset values (a layer list, not its TOML text)."""
        return {k: value_of(self.sweep.spec.params[k], v) for k, v in trial.params.items() if k in self.sweep.spec.params}

    def bands(self) -> list[Band]:
        out = []
        for index, config in enumerate(self.configs):
            members = [t for t in self.trials.values() if t.config == config and t.curve]
            if not members:
                continue
            by_epoch: dict[float, list[float]] = {}
            for t in members:
                for x, y in t.curve:
                    by_epoch.setdefault(x, []).append(y)
            xs = sorted(by_epoch)
            out.append(Band(self.config_label(members[0]), index, xs,
                            [sum(by_epoch[x]) / len(by_epoch[x]) for x in xs],
                            [min(by_epoch[x]) for x in xs], [max(by_epoch[x]) for x in xs]))
        return out

    def against(self, key: str) -> tuple[list[Any], list[float], bool]:
        """The metric of every finished trial against one varied setting: (x values, metric, log axis?)."""
        xs, ys = [], []
        for t in self.trials.values():
            if t.status in RANKED and t.value is not None and math.isfinite(t.value) and key in t.params:
                xs.append(t.params[key])
                ys.append(t.value)
        numeric = [x for x in xs if isinstance(x, (int, float)) and not isinstance(x, bool)]
        if len(numeric) < len(xs):  # words on the axis: as the leaderboard writes them ("32-32 relu")
            xs = [self.label(key, x) for x in xs]
        log = (len(numeric) == len(xs) and bool(xs) and min(numeric) > 0
               and (key.endswith("lr") or max(numeric) / min(numeric) >= 100))
        return xs, ys, log
