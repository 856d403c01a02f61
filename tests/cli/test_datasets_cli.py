"""`nn-tui datasets`, `nn-tui eval`, and an image preset with no files and no network, from the outside."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from typer.testing import CliRunner

from nn_tui.cli import app
from nn_tui.core.preset import bundled_presets, load_preset
from nn_tui.core.run.rundir import read_summary
from nn_tui.core.run.runner import train_preset
from tests.cli.conftest import ROOT, cli_env


def invoke(*args):
    """In-process, for the checks that do not need a fresh interpreter (torch is already imported here)."""
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_datasets_lists_name_task_samples_features_labels_source(nn_tui):
    r = nn_tui("datasets")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["name", "task", "samples", "features", "classes", "source"]
    by_name = {line.split()[0]: line for line in lines[1:] if line.strip() and not line.startswith("`")}
    assert {"iris", "wine", "breast_cancer", "digits", "diabetes", "mnist", "fashion_mnist", "kmnist", "csv", "xor"} <= set(by_name)
    iris = by_name["iris"].split()
    assert iris[1:4] == ["classification", "150", "4"] and "setosa," in by_name["iris"] and "scikit-learn" in by_name["iris"]
    assert "T-shirt/top" in by_name["fashion_mnist"] and "torchvision" in by_name["fashion_mnist"]
    assert "regression" in by_name["diabetes"]


def test_dataset_card_and_json():
    r = invoke("datasets", "mnist")
    assert r.exit_code == 0 and "train_subset" in r.stdout and "download" in r.stdout
    r = invoke("datasets", "breast_cancer", "--json")
    card = json.loads(r.stdout)
    assert card["label_names"] == ["malignant", "benign"] and card["features"] == 30
    r = invoke("datasets", "--json")
    assert any(c["name"] == "csv" and c["task"] is None for c in json.loads(r.stdout))
    r = invoke("datasets", "mnits")
    assert r.exit_code == 2 and "unknown dataset 'mnits'" in r.stderr


def test_datasets_command_does_not_import_torch_or_sklearn():
    code = (
        "import sys\n"
        "sys.argv = ['nn-tui', 'datasets']\n"
        "from nn_tui.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('torch', 'sklearn', 'numpy', 'torchvision') if m in sys.modules])\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    finished, run = train_preset(load_preset(bundled_presets()["iris"]), out_dir=out)
    return run.run_dir.path


def test_eval_reports_on_the_test_split(iris_run):
    summary = read_summary(iris_run)
    r = invoke("eval", iris_run, "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["accuracy"] == summary["evaluation"]["accuracy"]
    assert report["confusion_matrix"] == summary["evaluation"]["confusion_matrix"]


def test_eval_human_output_and_other_data(iris_run):
    r = invoke("eval", iris_run)
    assert r.exit_code == 0, r.stderr
    assert "accuracy" in r.stdout and "virginica" in r.stdout and "confusion matrix" in r.stdout
    r = invoke("eval", iris_run, "--data", "wine")
    assert r.exit_code == 2 and "cannot score this data: data features 4 → 13" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("target", ["missing_dir", "empty_dir"])
def test_eval_bad_run_dir_exits_2(nn_tui, tmp_path, target):
    (tmp_path / "empty_dir").mkdir()
    r = nn_tui("eval", tmp_path / target)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert str(tmp_path / target) in r.stderr and ("no such run folder" in r.stderr or "not a run folder" in r.stderr)


def test_image_preset_without_files_or_network_exits_2_quickly(nn_tui, tmp_path):
    env_root = tmp_path / "empty"
    t0 = time.perf_counter()
    r = nn_tui("run", "mnist", "--set", f'data.root="{env_root}"', "--set", "data.download=false", timeout=60)
    elapsed = time.perf_counter() - t0
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert str(env_root / "MNIST" / "raw") in r.stderr and "train-images-idx3-ubyte" in r.stderr
    assert elapsed < 30  # mostly importing torch and torchvision
