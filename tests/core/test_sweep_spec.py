"""The sweep file: sweep.toml (what a sweep folder keeps) reads back as the same sweep; run counts; a value that is a
whole list of layers applies like `--set`."""

from __future__ import annotations

from nn_tui.core.sweep.bundled import bundled_sweeps
from nn_tui.core.sweep.spec import grid_points, load_sweep

FILE = """
name = "depth"
[data]
dataset = "moons"
samples = 200
[[model.layers]]
units = 8
[training]
epochs = 5
[sweep]
seeds = 3
[sweep.params]
"training.lr" = [0.01, 0.1]
"model.layers" = [[{ units = 32 }], [{ units = 8, activation = "tanh" }, { units = 8 }]]
"""


def test_sweep_toml_reads_back_as_the_same_sweep(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(FILE)
    sweep = load_sweep(path)
    assert sweep.spec.total_runs() == 2 * 2 * 3
    again = tmp_path / "again.toml"
    again.write_text(sweep.to_toml())
    back = load_sweep(again)
    assert back.spec == sweep.spec
    assert back.preset == sweep.preset


def test_a_list_of_layers_is_one_value(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(FILE)
    sweep = load_sweep(path)
    points = grid_points(sweep.spec)
    assert len(points) == 4
    deep = sweep.trial_preset(points[-1], seed=7)
    assert [(layer.units, layer.activation) for layer in deep.layers] == [(8, "tanh"), (8, "relu")]
    assert deep.training.lr == 0.1 and deep.seed == 7


def test_every_bundled_sweep_loads_and_stays_small():
    sweeps = bundled_sweeps()
    assert len(sweeps) >= 4
    for name, path in sweeps.items():
        sweep = load_sweep(path)
        assert sweep.preset.description, name
        assert sweep.spec.total_runs() <= 32, name
