"""Real datasets: scikit-learn's bundled sets, MNIST-family IDX files through torchvision, and the bundled presets."""

from __future__ import annotations

import gzip
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from nn_tui.core.datasets import CLASSIFICATION, REGRESSION, all_datasets, load_dataset
from nn_tui.core.datasets import images
from nn_tui.core.errors import UserError
from nn_tui.core.preset import bundled_presets, load_preset
from nn_tui.core.run.rundir import read_summary
from nn_tui.core.run.runner import train_preset
from tests.conftest import ROOT
from tests.core.mnist_files import FILES, write_mnist

SKLEARN_SETS = {
    # name: (task, samples, features, label names or None)
    "iris": (CLASSIFICATION, 150, 4, ["setosa", "versicolor", "virginica"]),
    "wine": (CLASSIFICATION, 178, 13, ["class_0", "class_1", "class_2"]),
    "breast_cancer": (CLASSIFICATION, 569, 30, ["malignant", "benign"]),
    "digits": (CLASSIFICATION, 1797, 64, [str(i) for i in range(10)]),
    "diabetes": (REGRESSION, 442, 10, None),
}


def test_registering_imports_no_numpy_sklearn_or_torch():
    code = (
        "import sys\n"
        "from nn_tui.core.datasets import all_datasets\n"
        "from nn_tui.core.datasets.catalog import catalog\n"
        "names = set(all_datasets()); catalog()\n"
        "assert {'iris', 'digits', 'diabetes', 'mnist', 'fashion_mnist', 'kmnist', 'csv'} <= names, names\n"
        "heavy = [m for m in ('numpy', 'sklearn', 'torch', 'torchvision') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("name", sorted(SKLEARN_SETS))
def test_sklearn_sets_load_with_the_right_shapes(name):
    task, samples, features, labels = SKLEARN_SETS[name]
    d = load_dataset(name, {}, seed=0, test_fraction=0.2)
    assert d.task == task
    assert len(d.X_train) + len(d.X_test) == samples
    assert len(d.X_test) == pytest.approx(samples * 0.2, abs=len(labels or []) + 1)
    assert d.X_train.shape[1] == d.X_test.shape[1] == features == len(d.feature_names)
    assert d.X_train.dtype == np.float32
    # Standardised with the training split's statistics only.
    np.testing.assert_allclose(d.X_train.mean(0), 0, atol=1e-4)
    stds = d.X_train.std(0)
    assert np.all((np.abs(stds - 1) < 1e-3) | (stds < 1e-6))  # constant pixels (digits) stay 0
    assert abs(float(d.X_test.mean())) > 1e-6  # the test split was not standardised on itself
    info = all_datasets()[name]
    assert (info.task, info.samples, info.features) == (task, samples, features)
    if task == CLASSIFICATION:
        assert d.label_names == labels == list(info.label_names)
        assert d.y_train.dtype == np.int64
        assert set(np.unique(d.y_test)) == set(range(len(labels)))  # stratified: every class held out
    else:
        assert d.y_train.shape == (len(d.X_train), 1) and d.target_names == ["disease progression"]
        assert d.y_train.min() > 10  # raw targets, not pre-scaled


def test_sklearn_split_is_seeded():
    a = load_dataset("wine", {}, seed=3, test_fraction=0.25)
    b = load_dataset("wine", {}, seed=3, test_fraction=0.25)
    c = load_dataset("wine", {}, seed=4, test_fraction=0.25)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.X_test, c.X_test)


# ---------------------------------------------------------------- MNIST family through torchvision


@pytest.mark.parametrize(
    "name, class_name, gz, first_label",
    [("mnist", "MNIST", False, "0"), ("fashion_mnist", "FashionMNIST", True, "T-shirt/top"), ("kmnist", "KMNIST", True, "o")],
)
def test_idx_files_load_through_torchvision(tmp_path, name, class_name, gz, first_label):
    raw = write_mnist(tmp_path, class_name, train=50, test=20, gz=gz)
    d = load_dataset(name, {"root": str(tmp_path), "download": False}, seed=0, test_fraction=0.5)
    assert f"torchvision.datasets.{class_name}" in d.source
    assert d.X_train.shape == (50, 784) and d.X_test.shape == (20, 784)  # official test file; test_fraction ignored
    assert d.X_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert d.label_names[0] == first_label and len(d.label_names) == 10
    assert sorted(np.unique(d.y_train)) == list(range(10))
    # [0, 1] scaling then one mean/std from the training images
    assert abs(float(d.X_train.mean())) < 1e-4 and abs(float(d.X_train.std()) - 1) < 1e-3
    assert d.feature_names[0] == "pixel_0_0" and d.feature_names[-1] == "pixel_27_27"
    if gz:  # torchvision reads unpacked files; the .gz files were unpacked next to themselves
        assert all((raw / f).is_file() for f in FILES)


def test_subsets_take_random_images(tmp_path):
    write_mnist(tmp_path, train=60, test=30)
    opts = {"root": str(tmp_path), "download": False, "train_subset": 25, "test_subset": 10}
    d = load_dataset("mnist", opts, seed=0, test_fraction=0.2)
    assert d.X_train.shape == (25, 784) and d.X_test.shape == (10, 784)
    again = load_dataset("mnist", opts, seed=0, test_fraction=0.2)
    np.testing.assert_array_equal(d.y_train, again.y_train)
    big = load_dataset("mnist", {**opts, "train_subset": 10_000}, seed=0, test_fraction=0.2)
    assert len(big.X_train) == 60  # more than there is: all of it


def test_missing_files_without_download_say_where_to_put_them(tmp_path):
    import torchvision.datasets  # noqa: F401 - time the check, not the import

    t0 = time.perf_counter()
    with pytest.raises(UserError) as e:
        load_dataset("fashion_mnist", {"root": str(tmp_path), "download": False}, seed=0, test_fraction=0.2)
    assert time.perf_counter() - t0 < 5
    msg = str(e.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in msg
    for f in FILES:
        assert f in msg
    assert "data.download = true" in msg


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_download_fails_fast_with_instructions(tmp_path, monkeypatch):
    """The preflight finds no mirror reachable: a clear message in well under a second, no urllib wait."""
    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [f"http://127.0.0.1:{_closed_port()}/mnist/"])
    monkeypatch.delenv(images.OFFLINE_ENV, raising=False)
    t0 = time.perf_counter()
    with pytest.raises(UserError) as e:
        load_dataset("mnist", {"root": str(tmp_path), "download": True}, seed=0, test_fraction=0.2)
    assert time.perf_counter() - t0 < 3
    msg = str(e.value)
    assert "no network connection" in msg and str(tmp_path / "MNIST" / "raw") in msg
    assert "train-images-idx3-ubyte.gz" in msg


def test_failed_torchvision_download_becomes_a_user_error(tmp_path, monkeypatch):
    """Past the preflight, torchvision's own download raising is caught and explained too."""
    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets.KMNIST, "mirrors", [f"http://127.0.0.1:{_closed_port()}/kmnist/"])
    monkeypatch.setattr(images, "_reachable", lambda url, timeout: None)
    monkeypatch.delenv(images.OFFLINE_ENV, raising=False)
    t0 = time.perf_counter()
    with pytest.raises(UserError) as e:
        load_dataset("kmnist", {"root": str(tmp_path), "download": True}, seed=0, test_fraction=0.2)
    assert time.perf_counter() - t0 < 10
    assert "downloading KMNIST failed" in str(e.value) and "KMNIST/raw" in str(e.value)


def test_offline_env_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv(images.OFFLINE_ENV, "1")
    monkeypatch.setattr(images, "_reachable", lambda url, timeout: pytest.fail("must not touch the network"))
    with pytest.raises(UserError, match=images.OFFLINE_ENV):
        load_dataset("mnist", {"root": str(tmp_path), "download": True}, seed=0, test_fraction=0.2)


def test_truncated_files_are_a_user_error(tmp_path):
    raw = write_mnist(tmp_path)
    data = (raw / "train-images-idx3-ubyte").read_bytes()
    (raw / "train-images-idx3-ubyte").write_bytes(data[:1000])
    with pytest.raises(UserError, match="cannot read the MNIST files"):
        load_dataset("mnist", {"root": str(tmp_path), "download": False}, seed=0, test_fraction=0.2)


def test_corrupt_gz_without_download_names_the_file(tmp_path):
    raw = write_mnist(tmp_path, gz=True)
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"x" * 100)[:20])
    with pytest.raises(UserError) as e:
        load_dataset("mnist", {"root": str(tmp_path), "download": False}, seed=0, test_fraction=0.2)
    assert "t10k-labels-idx1-ubyte.gz" in str(e.value)


def test_default_root_is_a_per_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(images.ROOT_ENV, raising=False)
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        assert images.default_data_root() == tmp_path / "cache" / "nn-tui" / "datasets"
    monkeypatch.setenv(images.ROOT_ENV, str(tmp_path / "mine"))
    assert images.default_data_root() == tmp_path / "mine"


def test_relative_root_resolves_against_the_preset_folder(tmp_path, monkeypatch):
    write_mnist(tmp_path / "data", train=30, test=10)
    preset_file = tmp_path / "p.toml"
    preset_file.write_text('[data]\ndataset = "mnist"\nroot = "data"\ndownload = false\n[training]\nepochs = 1\n')
    monkeypatch.chdir(ROOT)
    p = load_preset(preset_file)
    d = load_dataset(p.data.dataset, p.data.options, p.seed, p.data.test_fraction, p.base_dir)
    assert len(d.X_train) == 30


def test_mnist_preset_trains_on_generated_files(tmp_path):
    """The bundled mnist preset end to end on tiny IDX files: a run folder with a 10x10 confusion matrix."""
    root = tmp_path / "datasets"
    write_mnist(root, train=200, test=50)
    p = load_preset(
        bundled_presets()["mnist"],
        [f'data.root="{root}"', "data.download=false", "training.epochs=3", "model.layers.0.units=32",
         "model.layers.1.units=32"],
    )
    finished, run = train_preset(p, out_dir=tmp_path / "runs")
    assert finished.status == "completed"
    summary = read_summary(run.run_dir.path)
    ev = summary["evaluation"]
    assert ev["split"] == "test" and ev["samples"] == 50
    assert np.array(ev["confusion_matrix"]).shape == (10, 10) and sum(map(sum, ev["confusion_matrix"])) == 50
    assert ev["accuracy"] == pytest.approx(finished.final["val_accuracy"])
    assert ev["accuracy"] > 0.5  # the label-dependent band is easy


def test_mnist_preset_expects_the_measured_accuracy():
    """98.71 % was measured on the real files (issue #12); the preset states the 98 % floor it should reach."""
    p = load_preset(bundled_presets()["mnist"])
    assert p.expect == {"val_accuracy": 0.98}
    assert p.training.epochs == 20


# ---------------------------------------------------------------- the bundled presets reach what they state

FAST_PRESETS = ["iris", "wine", "breast_cancer", "digits", "diabetes", "csv_example"]
# The issue's floor for each preset; a preset's own [expect] may only be stricter.
ISSUE_FLOORS = {"iris": ("val_accuracy", 0.9), "breast_cancer": ("val_accuracy", 0.95),
                "digits": ("val_accuracy", 0.95), "diabetes": ("val_r2", 0.4)}


@pytest.mark.parametrize("name", FAST_PRESETS)
def test_fast_presets_reach_their_stated_results(name, tmp_path):
    p = load_preset(bundled_presets()[name])
    assert p.description and p.expect, "each preset states what it reaches"
    t0 = time.perf_counter()
    finished, run = train_preset(p, out_dir=tmp_path)
    assert time.perf_counter() - t0 < 15
    assert finished.status == "completed"
    summary = read_summary(run.run_dir.path)
    for key, result in summary["expect"].items():
        assert result["met"], (name, key, result)
    if name in ISSUE_FLOORS:
        key, floor = ISSUE_FLOORS[name]
        assert p.expect[key] >= floor
        assert finished.best[key] >= floor


def test_image_presets_state_no_unmeasured_accuracy():
    """fashion_mnist has not been run on its real files, so it claims nothing (mnist has: see above)."""
    p = load_preset(bundled_presets()["fashion_mnist"])
    assert p.data.dataset == "fashion_mnist" and not p.expect
