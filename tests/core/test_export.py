"""Export: the training script recreates nn-tui's data exactly and reaches the stated result; ONNX,
TorchScript and safetensors files load and give the model's outputs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from nn_tui.core.datasets import load_dataset
from nn_tui.core.errors import UserError
from nn_tui.core.export.formats import export_run, load_run, sidecar_path
from nn_tui.core.export.script import training_script
from nn_tui.core.preset import load_preset, parse_preset, resolve_preset_path
from nn_tui.core.run.runner import Run, prepare_run, resolve_preset

# A network with every kind of module nn-tui builds: batch norm, dropout, two activations, softmax head.
MIXED = {
    "name": "mixed",
    "data": {"dataset": "blobs", "samples": 200, "features": 3, "classes": 3, "batch_size": 50},
    "model": {"layers": [{"units": 8, "activation": "leaky_relu", "batch_norm": True, "dropout": 0.1},
                         {"units": 4, "activation": "gelu"}]},
    "training": {"epochs": 3},
}


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    run = Run(prepare_run(parse_preset(MIXED)), out_dir=out)
    assert run.execute().status == "completed"
    return run.run_dir.path


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    run = Run(prepare_run(load_preset(resolve_preset_path("xor"))), out_dir=out)
    assert run.execute().status == "completed"
    return run.run_dir.path


def inputs(n_features: int) -> torch.Tensor:
    return torch.randn(7, n_features, generator=torch.Generator().manual_seed(0))


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_gives_the_models_outputs(mixed_run, tmp_path):
    run = load_run(mixed_run)
    path = export_run(mixed_run, "torchscript", tmp_path / "m.pt")
    loaded = torch.jit.load(str(path))
    for x in (inputs(3), inputs(3)[:1]):  # any batch size
        torch.testing.assert_close(loaded(x), run.model(x), rtol=1e-5, atol=1e-6)


def test_onnx_gives_the_models_outputs_with_a_free_batch_size(mixed_run, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    run = load_run(mixed_run)
    path = export_run(mixed_run, "onnx", tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx.data").exists()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, out.name) == ("features", "logits")
    assert not isinstance(inp.shape[0], int) and inp.shape[1] == 3
    for x in (inputs(3), inputs(3)[:1]):
        got = session.run(None, {"features": x.numpy()})[0]
        np.testing.assert_allclose(got, run.model(x).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_safetensors_and_the_architecture_sidecar_rebuild_the_model(mixed_run, tmp_path):
    from safetensors.torch import load_file
    from torch import nn  # noqa: F401 - used by the sidecar's expression

    run = load_run(mixed_run)
    path = export_run(mixed_run, "safetensors", tmp_path)
    assert path == tmp_path / "mixed.safetensors"
    arch = json.loads(sidecar_path(path).read_text())
    assert arch["input_features"] == 3 and arch["output_units"] == 3 and arch["loss"] == "cross_entropy"
    assert [m["type"] for m in arch["modules"]] == ["Linear", "BatchNorm1d", "LeakyReLU", "Dropout", "Linear", "GELU", "Linear"]
    assert arch["label_names"] == ["0", "1", "2"]
    rebuilt = eval(arch["pytorch"])  # noqa: S307 - our own file
    rebuilt.load_state_dict(load_file(str(path)))
    rebuilt.eval()
    x = inputs(3)
    torch.testing.assert_close(rebuilt(x), run.model(x))


def test_bad_run_folders_and_formats_are_user_errors(tmp_path, mixed_run):
    with pytest.raises(UserError, match="no such run folder"):
        export_run(tmp_path / "missing", "script")
    with pytest.raises(UserError, match="not a run folder"):
        export_run(tmp_path, "script")
    with pytest.raises(UserError, match="unknown format"):
        export_run(mixed_run, "pickle")


@pytest.mark.parametrize("name, options", [
    ("xor", {}), ("or", {}), ("xor_points", {"noise": 0.1}), ("circles", {}), ("moons", {}),
    ("spiral", {"arms": 3}), ("blobs", {"features": 5, "classes": 4}), ("linear", {}), ("sine", {}), ("plane", {}),
    ("iris", {}), ("diabetes", {}),
])
def test_the_script_recreates_nn_tuis_data_exactly(name, options):
    preset = parse_preset({"seed": 3, "data": {"dataset": name, **options}, "model": {"layers": [{"units": 4}]}})
    data = load_dataset(name, preset.data.options, preset.seed, preset.data.test_fraction)
    source = training_script(resolve_preset(preset, data))
    assert "nn_tui" not in source
    namespace: dict = {}
    exec(compile(source.split("# 2. Model")[0], "train.py", "exec"), namespace)  # noqa: S102 - our own script
    for key, expected in (("X_train", data.X_train), ("X_test", data.X_test),
                          ("y_train", data.y_train), ("y_test", data.y_test)):
        got = namespace[key].numpy()
        assert np.array_equal(got.reshape(len(got), -1), expected.reshape(len(expected), -1).astype(got.dtype)), key


def test_the_script_reads_a_csv_as_nn_tui_does():
    preset = load_preset(resolve_preset_path("csv_example"))
    data = load_dataset("csv", preset.data.options, preset.seed, preset.data.test_fraction, preset.base_dir)
    source = training_script(resolve_preset(preset, data))
    namespace: dict = {}
    exec(compile(source.split("# 2. Model")[0], "train.py", "exec"), namespace)  # noqa: S102 - our own script
    assert np.array_equal(namespace["X_train"].numpy(), data.X_train)
    assert np.array_equal(namespace["y_test"].numpy(), data.y_test)
    assert namespace["CLASS_NAMES"] == data.label_names


def test_the_exported_script_runs_and_solves_xor(xor_run, tmp_path):
    path = export_run(xor_run, "script", tmp_path / "train.py")
    source = path.read_text()
    assert "import nn_tui" not in source and "from nn_tui" not in source
    assert "class XorNet(nn.Module):" in source and "loss.backward()" in source and "optimizer.step()" in source
    compile(source, "train.py", "exec")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    final = re.search(r"Final: val_loss ([\d.]+), val_accuracy ([\d.]+)", done.stdout)
    assert final and float(final.group(2)) == 1.0, done.stdout  # the preset's stated result
    assert "Predictions: [0, 1, 1, 0]" in done.stdout
    summary = json.loads((xor_run / "summary.json").read_text())
    assert float(final.group(1)) == pytest.approx(summary["final"]["val_loss"], abs=5e-4)  # comparable to nn-tui's


def test_the_script_adds_the_l1_penalty_to_the_loss():
    preset = parse_preset({"data": {"dataset": "xor"}, "model": {"layers": [{"units": 4}]},
                           "training": {"l1": 0.001, "epochs": 2}})
    data = load_dataset("xor", {}, 0, 0.2)
    source = training_script(resolve_preset(preset, data))
    assert "L1 = 0.001" in source and "(loss + L1 * penalty).backward()" in source
    namespace: dict = {"__name__": "exported"}
    exec(compile(source, "train.py", "exec"), namespace)  # noqa: S102 - our own script, 2 epochs
    assert namespace["penalty"].item() > 0


def test_the_script_computes_the_same_extra_features():
    preset = parse_preset({"data": {"dataset": "moons", "extra_features": ["x1^2", "x1*x2", "sin(x2)"]},
                           "model": {"layers": []}})
    data = load_dataset("moons", {}, 0, 0.2, None, preset.data.extra_features)
    assert data.n_features == 5 and data.feature_names[2:] == ["x1^2", "x1*x2", "sin(x2)"]
    source = training_script(resolve_preset(preset, data))
    assert "nn.Linear(5, 1)" in source
    namespace: dict = {}
    exec(compile(source.split("# 2. Model")[0], "train.py", "exec"), namespace)  # noqa: S102 - our own script
    assert np.array_equal(namespace["X_train"].numpy(), data.X_train)
    assert np.array_equal(namespace["X_test"].numpy(), data.X_test)
