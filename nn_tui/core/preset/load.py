"""The preset: the TOML file that describes a dataset, a network and how to train it — its schema and parser.

The app, `nn-tui run` and users' own files all go through `load_preset` / `parse_preset`
and `dump_preset` (nn_tui.core.preset.write), so every preset round-trips: load -> dump -> load gives the same.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nn_tui.core.errors import UserError
from nn_tui.core.preset import choices
from nn_tui.core.preset.overrides import apply_overrides
from nn_tui.core.schema import Field, check_table, shown
from nn_tui.core.toml import tomllib

ACTIVATIONS = tuple(choices.ACTIVATIONS)
LOSSES = tuple(choices.LOSSES)
CLASSIFICATION_LOSSES = choices.CLASSIFICATION_LOSSES
REGRESSION_LOSSES = choices.REGRESSION_LOSSES
OPTIMIZERS = tuple(choices.OPTIMIZERS)
MOMENTUM_OPTIMIZERS = tuple(choices.DEFAULT_MOMENTUM)
SCHEDULERS = choices.SCHEDULER_NAMES
MAX_UNITS = 65536
MAX_LAYERS = 64

TOP_FIELDS = (
    Field("name", str, None, help="display name; default: the file name"),
    Field("description", str, "", help="one line shown by `nn-tui presets`"),
    Field("seed", int, 0, min=0, max=2**32 - 1, help="seed for data, weights and shuffling"),
)
DATA_FIELDS = (
    Field("dataset", str, None, help="dataset name, see `nn-tui datasets`"),
    Field("test_fraction", float, 0.2, min=0.0, max=0.9, help="held-out share used for validation metrics"),
    Field("batch_size", int, 32, min=0, max=10_000_000, help="samples per step; 0 = full batch"),
    Field("extra_features", list, None, item_type=str,
          help='extra inputs computed from the features: "x1^2", "x1*x2", "sin(x1)" ...'),
)
LAYER_FIELDS = (
    Field("units", int, None, min=1, max=MAX_UNITS, help="neurons in the layer"),
    Field("activation", str, "relu", choices=ACTIVATIONS),
    Field("dropout", float, 0.0, min=0.0, max=0.95),
    Field("batch_norm", bool, False),
)
TRAINING_FIELDS = (
    Field("loss", str, None, choices=LOSSES, help="default: bce (2 classes), cross_entropy, or mse (regression)"),
    Field("optimizer", str, "adam", choices=OPTIMIZERS),
    Field("lr", float, 0.01, min=0.0, max=100.0, min_exclusive=True, help="learning rate"),
    Field("momentum", float, None, min=0.0, max=0.999, help="sgd/momentum/rmsprop only; default 0.9 for momentum"),
    Field("weight_decay", float, 0.0, min=0.0, max=10.0),
    Field("l1", float, 0.0, min=0.0, max=10.0,
          help="L1 penalty: l1 × the sum of |weight| over the Linear layers' weights is added to the loss; 0 = off"),
    Field("epochs", int, 100, min=1, max=10_000_000),
    Field("scheduler", str, "none", choices=SCHEDULERS),
    Field("grad_clip", float, 0.0, min=0.0, max=1e6, help="max gradient norm, 0 = off"),
    Field("early_stopping", int, 0, min=0, max=1_000_000, help="patience in epochs on validation loss, 0 = off"),
    Field("device", str, "auto", help="auto | cpu | cuda | cuda:N | mps"),
    Field("threads", int, 0, min=0, max=1024, help="CPU threads for torch; 0 = nn-tui's measured default"),
    Field("checkpoint_every", int, 10, min=0, max=10_000_000,
          help="epochs between checkpoints for --resume (spaced to cost under 1% of training); 0 = only at the end"),
)
EXPECT_FIELDS = (
    Field("val_accuracy", float, None, min=0.0, max=1.0, help="minimum best validation accuracy"),
    Field("val_r2", float, None, min=-1e9, max=1.0, help="minimum best validation R²"),
    Field("val_loss", float, None, min=0.0, max=1e12, help="maximum best validation loss"),
    Field("train_loss", float, None, min=0.0, max=1e12, help="maximum best training loss"),
)


@dataclass
class LayerSpec:
    """One hidden layer: Linear(units) -> [BatchNorm] -> activation -> [Dropout]."""

    units: int
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False


@dataclass
class DataSpec:
    dataset: str
    test_fraction: float = 0.2
    batch_size: int = 32
    options: dict[str, Any] = field(default_factory=dict)  # dataset-specific keys (samples, noise, ...)
    extra_features: list[str] = field(default_factory=list)  # feature crosses (nn_tui.core.datasets.crosses)


@dataclass
class TrainingSpec:
    loss: str | None = None
    optimizer: str = "adam"
    lr: float = 0.01
    momentum: float | None = None
    weight_decay: float = 0.0
    l1: float = 0.0
    epochs: int = 100
    scheduler: str = "none"
    grad_clip: float = 0.0
    early_stopping: int = 0
    device: str = "auto"
    threads: int = 0
    checkpoint_every: int = 10


@dataclass
class Preset:
    name: str
    data: DataSpec
    layers: list[LayerSpec] = field(default_factory=list)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    description: str = ""
    seed: int = 0
    expect: dict[str, float] = field(default_factory=dict)
    # Folder that relative paths in the preset (e.g. a CSV file) resolve against. Not saved.
    base_dir: Path | None = field(default=None, compare=False, repr=False)

    def copy(self) -> Preset:
        return copy.deepcopy(self)

    def with_training(self, **changes: Any) -> Preset:
        return replace(self.copy(), training=replace(self.training, **changes))


def check_device(value: str, *, source: str | None) -> str:
    ok = value in ("auto", "cpu", "cuda", "mps")
    if not ok and value.startswith("cuda:"):
        ok = value[5:].isdigit()
    if not ok:
        raise UserError(
            f"{shown(value)} is not allowed; expected one of: auto, cpu, cuda, cuda:N (N = GPU index), mps",
            source=source,
            key="training.device",
        )
    return value


def parse_preset(raw: dict[str, Any], *, source: str | None = None, default_name: str = "preset") -> Preset:
    """Validate a preset given as a TOML-shaped dict. Raises UserError naming the source and key."""
    from nn_tui.core.datasets import get_dataset_info
    from nn_tui.core.datasets.crosses import check_crosses

    if not isinstance(raw, dict):
        raise UserError("a preset must be a TOML table", source=source)
    # `lesson` holds a lesson's text (nn_tui.core.preset.lessons checks it); training ignores it.
    allowed = ("name", "description", "seed", "data", "model", "training", "expect", "lesson")
    top_raw = {k: v for k, v in raw.items() if k in ("name", "description", "seed")}
    for key in raw:
        if key not in allowed:
            raise UserError(f"unknown key {shown(key)}; allowed top-level keys: {', '.join(allowed)}", source=source, key=key)
    top = check_table(top_raw, TOP_FIELDS, source=source, prefix="")

    if "data" not in raw:
        raise UserError("missing [data] table with at least `dataset = \"...\"`", source=source, key="data")
    data_raw = raw["data"]
    if not isinstance(data_raw, dict):
        raise UserError(f"expected a table, got {shown(data_raw)}", source=source, key="data")
    common_names = {f.name for f in DATA_FIELDS}
    common = check_table(
        {k: v for k, v in data_raw.items() if k in common_names},
        DATA_FIELDS,
        source=source,
        prefix="data.",
        required=("dataset",),
    )
    info = get_dataset_info(common["dataset"], source=source, key="data.dataset")
    options = check_table(
        {k: v for k, v in data_raw.items() if k not in common_names},
        info.options,
        source=source,
        prefix="data.",
    )
    options = {k: v for k, v in options.items() if v is not None}
    info.check_options(options, source=source)
    extra = check_crosses(common["extra_features"] or [], info.known_features(options), source=source)
    data = DataSpec(common["dataset"], common["test_fraction"], common["batch_size"], options, extra)

    model_raw = raw.get("model", {})
    if not isinstance(model_raw, dict):
        raise UserError(f"expected a table, got {shown(model_raw)}", source=source, key="model")
    for key in model_raw:
        if key != "layers":
            raise UserError(f"unknown key {shown(key)}; allowed keys: layers", source=source, key=f"model.{key}")
    layers_raw = model_raw.get("layers", [])
    if not isinstance(layers_raw, list):
        raise UserError("expected a list of [[model.layers]] tables", source=source, key="model.layers")
    if len(layers_raw) > MAX_LAYERS:
        raise UserError(f"{len(layers_raw)} hidden layers; at most {MAX_LAYERS} are allowed", source=source, key="model.layers")
    layers = []
    for i, layer_raw in enumerate(layers_raw):
        vals = check_table(layer_raw, LAYER_FIELDS, source=source, prefix=f"model.layers[{i}].", required=("units",))
        layers.append(LayerSpec(**vals))

    training_vals = check_table(raw.get("training", {}), TRAINING_FIELDS, source=source, prefix="training.")
    check_device(training_vals["device"], source=source)
    training = TrainingSpec(**training_vals)
    if training.momentum is not None and training.optimizer not in MOMENTUM_OPTIMIZERS:
        raise UserError(
            f"momentum applies only to optimizers {', '.join(MOMENTUM_OPTIMIZERS)}; "
            f"remove it or change training.optimizer (now {training.optimizer!r})",
            source=source,
            key="training.momentum",
        )
    if training.loss is not None and info.task is not None:
        check_loss_for_task(training.loss, info.task, source=source)

    expect_vals = check_table(raw.get("expect", {}), EXPECT_FIELDS, source=source, prefix="expect.")
    expect = {k: v for k, v in expect_vals.items() if v is not None}

    return Preset(
        name=top["name"] or default_name,
        description=top["description"],
        seed=top["seed"],
        data=data,
        layers=layers,
        training=training,
        expect=expect,
    )


def check_loss_for_task(loss: str, task: str, *, source: str | None, n_classes: int | None = None) -> None:
    allowed = CLASSIFICATION_LOSSES if task == "classification" else REGRESSION_LOSSES
    if loss not in allowed:
        raise UserError(
            f"{loss!r} does not fit a {task} dataset; expected one of: {', '.join(allowed)}",
            source=source,
            key="training.loss",
        )
    if loss == "bce" and n_classes is not None and n_classes != 2:
        raise UserError(
            f"'bce' needs exactly 2 classes but the dataset has {n_classes}; use 'cross_entropy'",
            source=source,
            key="training.loss",
        )


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Windows editors) is accepted, as in CSV files
    except FileNotFoundError:
        raise UserError("file not found", source=str(path)) from None
    except IsADirectoryError:
        raise UserError("is a folder, not a preset file", source=str(path)) from None
    except UnicodeDecodeError:
        raise UserError("not a UTF-8 text file", source=str(path)) from None
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"TOML syntax error: {exc}", source=str(path)) from None
    except RecursionError:
        raise UserError("TOML nesting is too deep (arrays or tables inside each other)", source=str(path)) from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise UserError(f"TOML value error: {exc}", source=str(path)) from None


def load_preset(path: str | Path, overrides: list[str] | None = None) -> Preset:
    """Read and validate a preset file, applying `key.path=value` overrides first."""
    path = Path(path)
    raw = read_toml(path)
    source = str(path)
    if overrides:
        raw = apply_overrides(raw, overrides)
        source += " (with --set)"
    preset = parse_preset(raw, source=source, default_name=path.stem)
    preset.base_dir = path.resolve().parent
    return preset
