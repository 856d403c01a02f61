"""Hostile presets: whatever a file or a dict holds, the loader returns a Preset or raises one clear UserError.

Hypothesis generates random TOML-shaped structures, wrong types, huge and negative numbers, unicode, deep
nesting, mutated preset text and --set overrides. Example counts are bounded so the file runs in seconds;
raise FUZZ_EXAMPLES (environment) for a longer hunt.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nn_tui.core.errors import UserError
from nn_tui.core.preset import (
    DATA_FIELDS,
    LAYER_FIELDS,
    TRAINING_FIELDS,
    Preset,
    apply_overrides,
    dump_preset,
    load_preset,
    parse_preset,
)
from nn_tui.core.toml import tomllib

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
    derandomize=os.environ.get("FUZZ_RANDOM") is None,  # the unit suite is repeatable; FUZZ_RANDOM=1 explores
)
MAX_MESSAGE = 1000  # a clear error is one readable line, not a dump of the input

VALID = {
    "name": "fuzz",
    "seed": 1,
    "data": {"dataset": "moons", "samples": 100, "noise": 0.1, "batch_size": 16},
    "model": {"layers": [{"units": 4, "activation": "tanh"}]},
    "training": {"epochs": 3, "lr": 0.05},
}
DATASETS = ["xor", "and", "moons", "spiral", "blobs", "linear", "sine", "csv", "iris", "mnist", "nope", ""]
KEYS = sorted(
    {f.name for f in DATA_FIELDS + LAYER_FIELDS + TRAINING_FIELDS}
    | {"samples", "noise", "features", "classes", "arms", "path", "target", "layers", "units", "expect", "dataset"}
)

numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, 2**53 + 1, 2**63 - 1, -(2**63), 10**400, -(10**400)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-320, 1e308, float("inf"), float("-inf"), float("nan")]),
)
scalars = st.one_of(
    numbers,
    st.booleans(),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=10),
    st.sampled_from(DATASETS + ["relu", "adam", "cuda:99", "cuda:", "\x00", "🧠" * 50, "a" * 10_000]),
    st.datetimes(),
    st.dates(),
    st.times(),
)
toml_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=12,
)


def check(load) -> Preset | None:
    """Run `load`; only a Preset or a short UserError may come out."""
    try:
        preset = load()
    except UserError as exc:
        assert len(str(exc)) <= MAX_MESSAGE, f"error message of {len(str(exc))} characters"
        assert "\n" not in exc.detail.strip() or len(exc.detail) < MAX_MESSAGE
        return None
    assert isinstance(preset, Preset)
    return preset


def round_trips(preset: Preset) -> None:
    """Anything the loader accepts can be saved and loaded back unchanged."""
    again = parse_preset(tomllib.loads(dump_preset(preset)))
    assert again == preset


@FUZZ
@given(raw=toml_values)
def test_any_structure_gives_a_preset_or_a_user_error(raw):
    preset = check(lambda: parse_preset(raw, source="fuzz.toml"))
    if preset is not None:
        round_trips(preset)


@st.composite
def mutated_presets(draw):
    """A valid preset with a few keys replaced, added or removed at random places."""
    import copy

    raw = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 4))):
        section = draw(st.sampled_from(["top", "data", "training", "layer", "model", "expect"]))
        key = draw(st.one_of(st.sampled_from(KEYS + ["name", "seed", "description"]), st.text(max_size=6)))
        value = draw(toml_values)
        if section == "top":
            target = raw
        elif section == "layer":
            layers = raw["model"].get("layers") if isinstance(raw.get("model"), dict) else None
            if not isinstance(layers, list) or not layers:
                continue
            target = layers[draw(st.integers(0, len(layers) - 1))]
            if not isinstance(target, dict):
                continue
        else:
            target = raw.setdefault(section, {})
            if not isinstance(target, dict):
                continue
        if draw(st.booleans()) and target:
            target.pop(draw(st.sampled_from(sorted(target, key=str))), None)
        else:
            target[key] = value
    return raw


@FUZZ
@given(raw=mutated_presets())
def test_mutated_presets_give_a_preset_or_a_user_error(raw):
    preset = check(lambda: parse_preset(raw, source="fuzz.toml"))
    if preset is not None:
        round_trips(preset)


def valid_text() -> str:
    return (
        'name = "fuzz"\nseed = 1\n\n[data]\ndataset = "moons"\nsamples = 100\nnoise = 0.1\n\n'
        '[[model.layers]]\nunits = 4\nactivation = "tanh"\n\n[training]\nepochs = 3\nlr = 0.05\n'
    )


@st.composite
def mutated_text(draw):
    """Preset text with characters inserted, deleted or replaced, or lines duplicated."""
    text = valid_text()
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "dup_line", "junk"]))
        if op == "insert":
            text = text[:i] + draw(st.text(min_size=1, max_size=4)) + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 8)) :]
        elif op == "replace":
            text = text[:i] + draw(st.sampled_from(list('[]{}=".,#\n\\ 0-+e_'))) + text[i + 1 :]
        elif op == "dup_line":
            lines = text.splitlines(keepends=True)
            if lines:
                j = draw(st.integers(0, len(lines) - 1))
                lines.insert(j, lines[j])
                text = "".join(lines)
        else:
            text += draw(st.sampled_from(["\n[data]\n", "\n[[model.layers]]\n", "\nx = 1e999\n", "\nseed = -1\n", "\n[expect]\n"]))
    return text


@FUZZ
@given(text=st.one_of(mutated_text(), st.text(max_size=200)))
def test_any_file_text_gives_a_preset_or_a_user_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "preset.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check(lambda: load_preset(path))


@FUZZ
@given(data=st.binary(max_size=200))
def test_any_bytes_give_a_preset_or_a_user_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "preset.toml"
    path.write_bytes(data)
    check(lambda: load_preset(path))


override_text = st.one_of(
    st.text(max_size=30),
    st.builds(
        lambda k, v: f"{k}={v}",
        st.sampled_from(
            ["training.lr", "training.epochs", "model.layers.0.units", "model.layers.9", "model.layers.x", "data",
             "data.dataset", "seed", "training", "model.layers", "a.b.c", "model.layers.0.units.x", ".", "..", "model.layers.-1"]
        ),
        st.one_of(st.sampled_from(["0.1", "[16, 8]", "{a = 1}", '"adam"', "true", "1e999", "nan", "[", "", "'", "inf"]), st.text(max_size=10)),
    ),
)


@FUZZ
@given(overrides=st.lists(override_text, max_size=4))
def test_any_set_overrides_give_a_preset_or_a_user_error(tmp_path_factory, overrides):
    path = tmp_path_factory.mktemp("fuzz") / "preset.toml"
    path.write_text(valid_text(), encoding="utf-8")
    check(lambda: load_preset(path, overrides))
    check(lambda: parse_preset(apply_overrides(tomllib.loads(valid_text()), overrides)))


@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 5000 + "]" * 5000,
        "a = " + "{b = " * 3000 + "1" + "}" * 3000,
        "[data]\ndataset = \"xor\"\n[training]\nlr = " + "9" * 5000,
        "[data]\ndataset = \"xor\"\n[training]\nlr = 1" + "0" * 400,
        "[data]\ndataset = \"blobs\"\nspread = 1" + "0" * 400,
        "[data]\ndataset = \"xor\"\n" + "[[model.layers]]\nunits = 1\n" * 1000,
        "name = \"" + "x" * 100_000 + "\"\n[data]\ndataset = \"xor\"\n",
        "[data]\ndataset = \"xor\"\n[training]\nepochs = 1e300\n",
        "[data]\ndataset = " + "[" * 3000 + "]" * 3000 + "\n",
    ],
    ids=["deep-arrays", "deep-tables", "huge-float", "int-too-big-for-float", "huge-option", "1000-layers",
         "long-name", "float-epochs", "deep-value"],
)
def test_known_hostile_files(tmp_path, text):
    path = tmp_path / "hostile.toml"
    path.write_text(text, encoding="utf-8")
    check(lambda: load_preset(path))


def test_deeply_nested_dict_is_a_user_error():
    raw: dict = {"dataset": "xor"}
    for _ in range(5000):
        raw = {"data": raw}
    check(lambda: parse_preset(raw))
    nested: list = []
    for _ in range(5000):
        nested = [nested]
    check(lambda: parse_preset({"data": {"dataset": "xor"}, "model": {"layers": nested}}))
    check(lambda: parse_preset({"data": {"dataset": "xor"}, "training": {"lr": nested}}))


def test_odd_but_valid_values_load(tmp_path):
    text = (
        'name = "🧠 net — ünïcode\\t\\"quoted\\""\ndescription = "line\\nbreak"\nseed = 4294967295\n'
        '[data]\ndataset = "xor"\n[training]\nlr = 1e-300\nepochs = 10000000\n'
    )
    path = tmp_path / "odd.toml"
    path.write_text(text, encoding="utf-8")
    preset = check(lambda: load_preset(path))
    assert preset is not None and preset.name.startswith("🧠") and preset.seed == 2**32 - 1
    round_trips(preset)
