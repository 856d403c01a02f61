"""The preset format: validation messages, defaults, overrides and round-trips."""

from __future__ import annotations


import pytest

from nn_tui.core.errors import UserError
from nn_tui.core.preset import (
    apply_overrides,
    bundled_presets,
    dump_preset,
    load_preset,
    parse_preset,
)
from nn_tui.core.toml import tomllib


def test_bundled_presets_exist_and_round_trip():
    presets = bundled_presets()
    for name in ("and", "xor", "linear", "circles", "moons", "spiral", "blobs", "sine"):
        assert name in presets, name
    for name, path in presets.items():
        p = load_preset(path)
        assert p.description, f"{name} has no description"
        again = parse_preset(tomllib.loads(dump_preset(p)), default_name="x")
        assert again == p, name
        assert dump_preset(again) == dump_preset(p)


def test_defaults_filled_in(make_preset):
    p = make_preset("moons", layers=[{"units": 8}])
    assert p.data.batch_size == 32 and p.data.test_fraction == 0.2
    assert p.data.options == {"samples": 1000, "noise": 0.1}
    assert p.layers[0].activation == "relu" and p.layers[0].dropout == 0.0
    assert p.training.optimizer == "adam" and p.training.loss is None
    assert p.name == "preset" and p.seed == 0


def test_round_trip_with_awkward_values(make_preset):
    p = make_preset(
        "blobs",
        layers=[{"units": 3, "activation": "gelu", "dropout": 0.25, "batch_norm": True}],
        data={"features": 5, "classes": 4, "noise": 1e-7},
        training={"optimizer": "momentum", "momentum": 0.5, "lr": 1e-5, "scheduler": "cosine", "device": "cuda:1"},
        name='quote " and \\ back\nslash ✓',
        description="tab\there",
        seed=123456789,
    )
    assert parse_preset(tomllib.loads(dump_preset(p))) == p


@pytest.mark.parametrize(
    "raw, key, words",
    [
        ({"data": {"dataset": "nope"}}, "data.dataset", "expected one of: and, or, xor"),
        ({"data": {}}, "data.dataset", "missing required key"),
        ({}, "data", "missing [data]"),
        ({"data": {"dataset": "xor"}, "bogus": 1}, "bogus", "allowed top-level keys"),
        ({"data": {"dataset": "moons", "sample": 10}}, "data.sample", "allowed keys: samples, noise"),
        ({"data": {"dataset": "moons", "samples": "many"}}, "data.samples", "expected an integer"),
        ({"data": {"dataset": "moons", "samples": 1}}, "data.samples", ">= 4"),
        ({"data": {"dataset": "moons", "noise": -1.0}}, "data.noise", ">= 0"),
        ({"data": {"dataset": "moons", "test_fraction": 1.5}}, "data.test_fraction", "<= 0.9"),
        ({"data": {"dataset": "moons", "batch_size": -3}}, "data.batch_size", ">= 0"),
        ({"data": {"dataset": "xor"}, "model": {"layers": [{"units": 0}]}}, "model.layers[0].units", ">= 1"),
        ({"data": {"dataset": "xor"}, "model": {"layers": [{}]}}, "model.layers[0].units", "missing required key"),
        (
            {"data": {"dataset": "xor"}, "model": {"layers": [{"units": 2, "activation": "relux"}]}},
            "model.layers[0].activation",
            "relu, leaky_relu, sigmoid, tanh, gelu, elu, silu, linear",
        ),
        ({"data": {"dataset": "xor"}, "model": {"layers": [{"units": 2, "batch_norm": 1}]}}, "model.layers[0].batch_norm", "true or false"),
        ({"data": {"dataset": "xor"}, "model": {"layer": []}}, "model.layer", "allowed keys: layers"),
        ({"data": {"dataset": "xor"}, "training": {"optimizer": "adm"}}, "training.optimizer", "sgd, momentum, rmsprop, adam, adamw, adagrad"),
        ({"data": {"dataset": "xor"}, "training": {"lr": 0}}, "training.lr", "> 0"),
        ({"data": {"dataset": "xor"}, "training": {"lr": "fast"}}, "training.lr", "a number"),
        ({"data": {"dataset": "xor"}, "training": {"epochs": 0}}, "training.epochs", ">= 1"),
        ({"data": {"dataset": "xor"}, "training": {"scheduler": "exp"}}, "training.scheduler", "none, step, cosine, plateau"),
        ({"data": {"dataset": "xor"}, "training": {"device": "gpu"}}, "training.device", "auto, cpu, cuda, cuda:N"),
        ({"data": {"dataset": "xor"}, "training": {"loss": "mse"}}, "training.loss", "does not fit a classification"),
        ({"data": {"dataset": "linear"}, "training": {"loss": "cross_entropy"}}, "training.loss", "does not fit a regression"),
        ({"data": {"dataset": "xor"}, "training": {"momentum": 0.9}}, "training.momentum", "only to optimizers sgd, momentum, rmsprop"),
        ({"data": {"dataset": "blobs", "samples": 5, "classes": 4}}, "data.samples", "at least 2 per class"),
        ({"data": {"dataset": "xor"}, "expect": {"accuracy": 1.0}}, "expect.accuracy", "allowed keys"),
    ],
)
def test_validation_errors_name_file_key_and_allowed_values(raw, key, words):
    with pytest.raises(UserError) as info:
        parse_preset(raw, source="my.toml")
    text = str(info.value)
    assert text.startswith(f"my.toml: {key}"), text
    assert words in text, text


def test_bce_needs_two_classes(make_preset):
    from nn_tui.core.datasets import load_dataset
    from nn_tui.core.run.runner import resolve_preset

    p = make_preset("blobs", data={"classes": 3}, training={"loss": "bce"})
    data = load_dataset("blobs", p.data.options, 0, 0.2)
    with pytest.raises(UserError, match="needs exactly 2 classes"):
        resolve_preset(p, data, source="b.toml")


def test_toml_syntax_error_has_line_number(tmp_path):
    f = tmp_path / "broken.toml"
    f.write_text('[data]\ndataset = "xor"\n[training\nlr = 1\n')
    with pytest.raises(UserError) as info:
        load_preset(f)
    assert str(f) in str(info.value) and "line 3" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="file not found"):
        load_preset(tmp_path / "nope.toml")


def test_overrides_apply_to_nested_keys_and_layers(tmp_path):
    raw = {"data": {"dataset": "xor"}, "model": {"layers": [{"units": 4}]}, "training": {"lr": 0.1}}
    out = apply_overrides(
        raw,
        ["training.lr=0.5", "model.layers.0.units=9", 'training.optimizer="sgd"', "training.scheduler=cosine", "seed=7"],
    )
    assert out["training"] == {"lr": 0.5, "optimizer": "sgd", "scheduler": "cosine"}
    assert out["model"]["layers"][0]["units"] == 9 and out["seed"] == 7
    assert raw["training"] == {"lr": 0.1}  # the input is not modified
    assert apply_overrides(raw, ["model.layers=[]"])["model"]["layers"] == []
    with pytest.raises(UserError, match="not a layer index"):
        apply_overrides(raw, ["model.layers.3.units=2"])
    with pytest.raises(UserError, match="KEY.PATH=VALUE"):
        apply_overrides(raw, ["training.lr"])


def test_override_errors_name_the_key(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('[data]\ndataset = "xor"\n')
    with pytest.raises(UserError) as info:
        load_preset(f, ["training.lr=abc"])
    assert "training.lr" in str(info.value) and "(with --set)" in str(info.value)
