"""Which fields the Data and Network tabs show for a preset, and which choices are valid (e.g. losses for the task)."""

from __future__ import annotations

from dataclasses import dataclass

from nn_tui.core.datasets import CLASSIFICATION, REGRESSION, DatasetInfo
from nn_tui.core.model.build import default_loss
from nn_tui.core.preset import (
    CLASSIFICATION_LOSSES,
    DATA_FIELDS,
    LOSSES,
    MOMENTUM_OPTIMIZERS,
    OPTIMIZERS,
    REGRESSION_LOSSES,
    SCHEDULERS,
    TOP_FIELDS,
    TRAINING_FIELDS,
    Preset,
)
from nn_tui.tui.widgets.field_form import FieldSpec

_TRAINING = {f.name: f for f in TRAINING_FIELDS}
_DATA = {f.name: f for f in DATA_FIELDS}
_TOP = {f.name: f for f in TOP_FIELDS}

TRAINING_LABELS = {
    "loss": "loss",
    "optimizer": "optimizer",
    "lr": "learning rate",
    "momentum": "momentum",
    "weight_decay": "weight decay",
    "l1": "L1",
    "epochs": "epochs",
    "scheduler": "lr schedule",
    "grad_clip": "grad clip",
    "early_stopping": "early stop",
    "device": "device",
    "threads": "CPU threads",
}

# What 0 means, beside the fields where 0 is not a number of things.
ZERO_MEANS = {"l1": "off", "grad_clip": "off", "early_stopping": "off", "threads": "default: 1"}


def valid_losses(task: str | None, n_classes: int | None) -> tuple[str, ...]:
    if task == CLASSIFICATION:
        if n_classes is not None and n_classes != 2:
            return tuple(loss for loss in CLASSIFICATION_LOSSES if loss != "bce")
        return CLASSIFICATION_LOSSES
    if task == REGRESSION:
        return REGRESSION_LOSSES
    return LOSSES


def loss_choices(task: str | None, n_classes: int | None) -> list[tuple[str, str]]:
    """'auto' (the preset leaves the loss out) first, then each loss that fits the task."""
    auto = "auto"
    if task is not None:
        auto = f"auto ({default_loss(task, n_classes)})"
    return [(auto, "auto")] + [(loss, loss) for loss in valid_losses(task, n_classes)]


def effective_loss(preset: Preset, task: str | None, n_classes: int | None) -> str:
    return preset.training.loss or default_loss(task or REGRESSION, n_classes)


def training_specs(preset: Preset, task: str | None, n_classes: int | None, devices: list[str]) -> list[FieldSpec]:
    t = preset.training
    device_list = list(devices)
    if t.device not in device_list:
        device_list.append(t.device)
    specs = []
    for name in TRAINING_LABELS:
        field = _TRAINING[name]
        value = getattr(t, name)
        choices = None
        disabled = False
        tooltip = field.help or None
        if name == "loss":
            choices = loss_choices(task, n_classes)
            value = value or "auto"
            tooltip = "the loss the network is trained on; only the ones that fit this dataset are listed"
        elif name == "optimizer":
            choices = [(o, o) for o in OPTIMIZERS]
        elif name == "scheduler":
            choices = [(s, s) for s in SCHEDULERS]
        elif name == "device":
            choices = [(d, d) for d in device_list]
            tooltip = "auto picks a GPU when there is one; more devices appear once PyTorch has loaded"
        elif name == "momentum":
            disabled = t.optimizer not in MOMENTUM_OPTIMIZERS
            tooltip = "for sgd, momentum and rmsprop; blank = the optimizer's default"
        specs.append(FieldSpec(name, field, value, TRAINING_LABELS[name], choices, disabled, tooltip, ZERO_MEANS.get(name)))
    return specs


def data_specs(preset: Preset, info: DatasetInfo) -> list[FieldSpec]:
    specs = []
    for field in info.options:
        value = preset.data.options.get(field.name, field.default)
        choices = None
        if field.type is bool:
            choices = [("yes", True), ("no", False)]
        elif field.choices:
            choices = [(c, c) for c in field.choices]
        specs.append(FieldSpec(field.name, field, value, field.name.replace("_", " "), choices, tooltip=field.help or None))
    from nn_tui.core.datasets.crosses import allowed_words

    allowed = allowed_words(info.known_features(preset.data.options))
    specs.append(FieldSpec("extra_features", _DATA["extra_features"], list(preset.data.extra_features), "extra inputs",
                           tooltip=f"feature crosses added as inputs, comma-separated; allowed: {allowed}"))
    specs.append(FieldSpec("test_fraction", _DATA["test_fraction"], preset.data.test_fraction, "test split"))
    specs.append(FieldSpec("batch_size", _DATA["batch_size"], preset.data.batch_size, "batch size"))
    specs.append(FieldSpec("seed", _TOP["seed"], preset.seed, "seed"))
    return specs


@dataclass(frozen=True)
class DataShape:
    """What is known of the dataset being edited: from the registry at once, exact once it is loaded.
    Replaced whole when the dataset or its options change, or when loading it tells more."""

    n_features: int | None
    n_classes: int | None
    task: str | None
    split: tuple[int, int] | None = None  # (train rows, test rows), once loaded
    labels: list[str] | None = None

    @classmethod
    def known(cls, info: DatasetInfo, options: dict) -> DataShape:
        return cls(*known_shape(info, options), info.task)


def known_shape(info: DatasetInfo, options: dict) -> tuple[int | None, int | None]:
    """Features and classes from the registry and the options alone (None where only loading can tell)."""
    features = info.features
    classes = info.classes
    names = {f.name: f for f in info.options}
    if features is None and "features" in names:
        features = options.get("features", names["features"].default)
    if classes is None and info.task == CLASSIFICATION:
        for key in ("classes", "arms"):
            if key in names:
                classes = options.get(key, names[key].default)
    return features, classes
