"""The data part of an exported training script: the dataset made or loaded exactly as nn-tui does, split
and scaled. Synthetic data, the split and the scaling are nn-tui's own functions with their source inlined."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from nn_tui.core.datasets import CLASSIFICATION, get_dataset_info, split, standardize
from nn_tui.core.datasets.generators import GATE_INPUTS, GATE_WORDS, GATES, GENERATORS
from nn_tui.core.preset import Preset

SKLEARN_LOADERS = {
    "iris": "load_iris",
    "wine": "load_wine",
    "breast_cancer": "load_breast_cancer",
    "digits": "load_digits",
    "diabetes": "load_diabetes",
}
IMAGE_CLASSES = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "kmnist": "KMNIST"}

# The split and scaling nn-tui uses, inlined (their numpy import stays inside them, as in nn-tui).
SPLIT_CODE = "\n" + inspect.getsource(split)
STANDARDIZE_CODE = "\n" + inspect.getsource(standardize)


def num(v: Any) -> str:
    """A Python literal for a number, as a person would write it."""
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return f"{v:.1f}"
        return repr(v)
    return repr(v)


class Script:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.imports: set[str] = set()

    def add(self, text: str = "") -> None:
        self.lines.extend(text.split("\n") if text else [""])

    def block(self, text: str) -> None:
        self.lines.extend(text.strip("\n").split("\n"))


# ---------------------------------------------------------------- data


def data_code(preset: Preset, out: Script, options: dict[str, Any]) -> tuple[list[str], bool]:
    """Code that leaves numpy arrays X_train, y_train, X_test, y_test. Returns (helpers needed, uses math)."""
    name = preset.data.dataset
    o = options
    helpers: list[str] = []
    uses_math = False
    if name in GATES:
        out.block(f'''
# The {GATE_WORDS[name]}. Four rows and nothing to hold out,
# so the model is checked on the same four rows it learns from.
X = np.array({[list(row) for row in GATE_INPUTS]}, dtype=np.float32)
y = np.array({list(GATES[name])})
X_train, y_train, X_test, y_test = X, y, X, y''')
        return helpers, uses_math

    info = get_dataset_info(name)
    if name in GENERATORS:
        fn, scale = GENERATORS[name]
        code = inspect.getsource(fn)
        uses_math = "math." in code
        keys = [p for p in inspect.signature(fn).parameters if p != "seed"]
        for key in keys:
            out.add(f"{key.upper()} = {num(o[key])}")
        helpers.append("\n" + code)  # the very function nn-tui calls (nn_tui.core.datasets.generators)
        out.add(f"X, y = {fn.__name__}({', '.join(k.upper() for k in keys)}, seed=SEED)")
        classification = info.task == CLASSIFICATION
        out.add("X = X.astype(np.float32)")
        if not classification:
            out.add("y = y.astype(np.float32)")
        helpers.append(SPLIT_CODE)
        out.add(f"X_train, y_train, X_test, y_test = split(X, y, TEST_FRACTION, SEED, stratify={classification})")
        if scale:
            helpers.append(STANDARDIZE_CODE)
            out.add("X_train, X_test = standardize(X_train, X_test)")
        return helpers, uses_math

    if name in SKLEARN_LOADERS:
        loader = SKLEARN_LOADERS[name]
        out.imports.add(f"from sklearn.datasets import {loader}")
        classification = info.task == CLASSIFICATION
        helpers += [SPLIT_CODE, STANDARDIZE_CODE]
        out.add(f"# {info.description} (bundled with scikit-learn, no download).")
        out.add(f"bunch = {loader}({'scaled=False' if name == 'diabetes' else ''})")
        out.add("X = bunch.data.astype(np.float32)")
        if classification:
            out.add("y = bunch.target.astype(np.int64)")
            out.add("CLASS_NAMES = [str(name) for name in bunch.target_names]")
        else:
            out.add("y = bunch.target.astype(np.float32)[:, None]")
        out.add(f"X_train, y_train, X_test, y_test = split(X, y, TEST_FRACTION, SEED, stratify={classification})")
        out.add("X_train, X_test = standardize(X_train, X_test)")
        return helpers, uses_math

    if name in IMAGE_CLASSES:
        from nn_tui.core.datasets import resolve_path
        from nn_tui.core.datasets.images import default_data_root

        cls = IMAGE_CLASSES[name]
        root = resolve_path(o["root"], preset.base_dir) if o.get("root") else default_data_root()
        home = Path.home()
        root_code = repr(str(root))
        if root.is_relative_to(home):
            root_code = f'os.path.expanduser("~/{root.relative_to(home).as_posix()}")'
            out.imports.add("import os")
        out.imports.add("from torchvision import datasets")
        out.block(f'''
# {info.description.split(":")[0]}: 28x28 grey images flattened to 784 features.
DATA_ROOT = {root_code}
TRAIN_SUBSET = {int(o.get("train_subset", 0))}  # 0 = all 60000 training images
TEST_SUBSET = {int(o.get("test_subset", 0))}  # 0 = all 10000 test images
train_set = datasets.{cls}(DATA_ROOT, train=True, download=True)
test_set = datasets.{cls}(DATA_ROOT, train=False, download=True)
CLASS_NAMES = list(train_set.classes)
X_train = train_set.data.numpy().reshape(len(train_set.data), -1)
y_train = train_set.targets.numpy().astype(np.int64)
X_test = test_set.data.numpy().reshape(len(test_set.data), -1)
y_test = test_set.targets.numpy().astype(np.int64)
rng = np.random.default_rng([SEED, 2])
if 0 < TRAIN_SUBSET < len(X_train):
    keep = rng.choice(len(X_train), size=TRAIN_SUBSET, replace=False)
    X_train, y_train = X_train[keep], y_train[keep]
if 0 < TEST_SUBSET < len(X_test):
    keep = rng.choice(len(X_test), size=TEST_SUBSET, replace=False)
    X_test, y_test = X_test[keep], y_test[keep]
# Pixels to [0, 1], then one mean and standard deviation for all pixels of the training images.
X_train = X_train.astype(np.float32) / 255.0
X_test = X_test.astype(np.float32) / 255.0
mean, std = float(X_train.mean(dtype=np.float64)), float(X_train.std(dtype=np.float64))
X_train = ((X_train - mean) / std).astype(np.float32)
X_test = ((X_test - mean) / std).astype(np.float32)''')
        return helpers, uses_math

    if name == "csv":
        return _csv_code(preset, out, o), False
    raise ValueError(f"no script template for dataset {name!r}")


def _csv_code(preset: Preset, out: Script, o: dict[str, Any]) -> list[str]:
    """Read the user's CSV with the csv module; the feature columns and class names are those nn-tui found."""
    from nn_tui.core.datasets import load_dataset, resolve_path

    data = load_dataset("csv", o, preset.seed, preset.data.test_fraction, preset.base_dir)
    path = resolve_path(o["path"], preset.base_dir)
    out.imports.add("import csv")
    classification = data.task == CLASSIFICATION
    out.block(f'''
# Your table: {path.name}, predicting {o["target"]!r} from {len(data.feature_names)} numeric columns.
CSV_PATH = {str(path)!r}
TARGET = {o["target"]!r}
FEATURES = {data.feature_names!r}
with open(CSV_PATH, newline="", encoding="utf-8-sig") as f:
    table = [[cell.strip() for cell in row] for row in csv.reader(f, delimiter={(o.get("delimiter") or ",")!r}) if any(c.strip() for c in row)]
header, rows = table[0], table[1:]
columns = {{name: [row[i] for row in rows] for i, name in enumerate(header)}}
X = np.array([[float(v) for v in columns[name]] for name in FEATURES], dtype=np.float64).T.astype(np.float32)''')
    if classification:
        from nn_tui.core.datasets.csv_data import _number, read_table

        header, rows, _ = read_table(path, o.get("delimiter") or ",")
        column = header.index(o["target"])
        numeric = all(_number(row[column]) is not None for row in rows)
        names = list(data.label_names or [])
        if numeric:  # nn-tui reads number labels by value: "1.0" and "1" are one class
            out.block(f'''
CLASS_NAMES = {names!r}


def label_text(text):
    """The class of a number label: "1.0" and "1" are the same class."""
    value = float(text)
    return str(int(value)) if value.is_integer() else repr(value)


y = np.array([CLASS_NAMES.index(label_text(v)) for v in columns[TARGET]], dtype=np.int64)''')
        else:
            out.block(f'''
CLASS_NAMES = {names!r}  # the labels as written, sorted
y = np.array([CLASS_NAMES.index(v) for v in columns[TARGET]], dtype=np.int64)''')
    else:
        out.add("y = np.array([float(v) for v in columns[TARGET]], dtype=np.float32)[:, None]")
    out.add(f"X_train, y_train, X_test, y_test = split(X, y, TEST_FRACTION, SEED, stratify={classification})")
    out.add("X_train, X_test = standardize(X_train, X_test)")
    return [SPLIT_CODE, STANDARDIZE_CODE]


def crosses_code(preset: Preset, out: Script) -> list[str]:
    """Code that appends the preset's extra inputs (feature crosses) to X_train and X_test, as nn-tui does."""
    from nn_tui.core.datasets.crosses import add_crosses

    names = preset.data.extra_features
    if not names:
        return []
    out.add()
    out.add(f"EXTRA_FEATURES = {list(names)!r}  # extra inputs computed from the features (feature crosses)")
    out.add("X_train, X_test = add_crosses(X_train, EXTRA_FEATURES), add_crosses(X_test, EXTRA_FEATURES)")
    return ["\n" + inspect.getsource(add_crosses)]


# ---------------------------------------------------------------- model, loss, optimizer
