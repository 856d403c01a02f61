"""The preset package: schema and parser (load), the `--set` language (overrides), the TOML writer (write),
and the bundled presets (bundled). Import from here."""

from nn_tui.core.preset.bundled import bundled_presets, bundled_presets_dir, resolve_preset_path
from nn_tui.core.preset.load import (
    ACTIVATIONS,
    CLASSIFICATION_LOSSES,
    DATA_FIELDS,
    EXPECT_FIELDS,
    LAYER_FIELDS,
    TOP_FIELDS,
    TRAINING_FIELDS,
    LOSSES,
    MAX_LAYERS,
    MAX_UNITS,
    MOMENTUM_OPTIMIZERS,
    OPTIMIZERS,
    REGRESSION_LOSSES,
    SCHEDULERS,
    DataSpec,
    LayerSpec,
    Preset,
    TrainingSpec,
    check_device,
    check_loss_for_task,
    load_preset,
    parse_preset,
    read_toml,
)
from nn_tui.core.preset.overrides import apply_overrides, option_overrides, parse_override_value
from nn_tui.core.preset.write import dump_preset, preset_to_dict, save_preset

__all__ = [
    "ACTIVATIONS", "CLASSIFICATION_LOSSES", "DATA_FIELDS", "EXPECT_FIELDS", "LAYER_FIELDS", "TOP_FIELDS",
    "TRAINING_FIELDS", "LOSSES", "MAX_LAYERS", "MAX_UNITS", "MOMENTUM_OPTIMIZERS", "OPTIMIZERS",
    "REGRESSION_LOSSES", "SCHEDULERS", "DataSpec", "LayerSpec", "Preset", "TrainingSpec", "apply_overrides",
    "bundled_presets", "bundled_presets_dir", "check_device", "check_loss_for_task", "dump_preset", "load_preset",
    "option_overrides", "parse_override_value", "parse_preset", "preset_to_dict", "read_toml", "resolve_preset_path",
    "save_preset",
]
