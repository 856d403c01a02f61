"""The `csv` dataset: task inference, label encoding, path resolution, and a clear message for each mistake."""

from __future__ import annotations

import numpy as np
import pytest

from nn_tui.core.datasets import CLASSIFICATION, REGRESSION, load_dataset
from nn_tui.core.errors import UserError
from nn_tui.core.preset import bundled_presets, bundled_presets_dir, load_preset, parse_preset
from nn_tui.core.run.rundir import PRESET_FILE
from nn_tui.core.run.runner import train_preset
from tests.conftest import ROOT


def load(tmp_path, text, name="t.csv", **options):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    opts = {"path": name, "delimiter": ",", **options}
    return load_dataset("csv", opts, seed=0, test_fraction=0.25, base_dir=tmp_path)


def rows(n, make):
    return "".join(make(i) for i in range(n))


def error(tmp_path, text, **options) -> UserError:
    with pytest.raises(UserError) as e:
        load(tmp_path, text, **options)
    return e.value


def test_bundled_fruit_csv_with_string_labels():
    p = load_preset(bundled_presets()["csv_example"])
    d = load_dataset(p.data.dataset, p.data.options, p.seed, p.data.test_fraction, p.base_dir)
    assert d.task == CLASSIFICATION
    assert d.label_names == ["apple", "lemon", "orange", "pear"]  # sorted words, names kept
    assert d.feature_names == ["weight_g", "width_cm", "height_cm", "color_score", "sugar_brix"]  # text `origin` left out
    assert len(d.X_train) + len(d.X_test) == 240 and len(d.X_test) == 48
    np.testing.assert_allclose(d.X_train.mean(0), 0, atol=1e-4)  # standardised on the training split
    assert d.source == str(bundled_presets_dir() / "data" / "fruit.csv")


def test_string_labels_are_encoded_in_sorted_order(tmp_path):
    d = load(tmp_path, "a,b,label\n" + rows(20, lambda i: f"{i},{i % 3},{['cat', 'dog'][i % 2]}\n"), target="label")
    assert d.task == CLASSIFICATION and d.label_names == ["cat", "dog"]
    assert d.feature_names == ["a", "b"]
    all_y = np.concatenate([d.y_train, d.y_test])
    assert sorted(np.bincount(all_y)) == [10, 10]


def test_few_whole_numbers_are_classes_sorted_as_numbers(tmp_path):
    d = load(tmp_path, "x,y\n" + rows(30, lambda i: f"{i * 0.1},{[2, 10, 7][i % 3]}\n"), target="y")
    assert d.task == CLASSIFICATION and d.label_names == ["2", "7", "10"]


def test_real_valued_or_many_valued_target_is_regression(tmp_path):
    d = load(tmp_path, "x,y\n" + rows(30, lambda i: f"{i},{i * 1.5 + 0.25}\n"), target="y")
    assert d.task == REGRESSION and d.target_names == ["y"] and d.y_train.shape[1] == 1
    d = load(tmp_path, "x,y\n" + rows(40, lambda i: f"{i},{i * 3}\n"), target="y")  # 40 distinct integers
    assert d.task == REGRESSION


def test_task_can_be_forced(tmp_path):
    text = "x,y\n" + rows(30, lambda i: f"{i},{i % 3}\n")
    assert load(tmp_path, text, target="y", task="regression").task == REGRESSION
    text = "x,y\n" + rows(60, lambda i: f"{i},{i % 30}\n")
    assert load(tmp_path, text, target="y").task == REGRESSION
    assert load(tmp_path, text, target="y", task="classification").n_classes == 30


def test_explicit_features_order_and_subset(tmp_path):
    d = load(tmp_path, "a,b,c,y\n" + rows(20, lambda i: f"{i},{2 * i},{3 * i},{i % 2}\n"), target="y", features=["c", "a"])
    assert d.feature_names == ["c", "a"] and d.n_features == 2


def test_semicolon_delimiter_and_byte_order_mark(tmp_path):
    text = "\ufeffx;y\n" + rows(20, lambda i: f"{i};{i % 2}\n")
    d = load(tmp_path, text, target="y", delimiter=";")
    assert d.feature_names == ["x"]


def test_blank_lines_are_skipped(tmp_path):
    d = load(tmp_path, "x,y\n\n" + rows(20, lambda i: f"{i},{i % 2}\n\n"), target="y")
    assert len(d.X_train) + len(d.X_test) == 20


# ---------------------------------------------------------------- mistakes, each with a clear message


def test_missing_file(tmp_path):
    with pytest.raises(UserError) as e:
        load_dataset("csv", {"path": "nope.csv", "target": "y"}, 0, 0.2, tmp_path)
    assert "not found" in str(e.value) and str(tmp_path / "nope.csv") in str(e.value) and e.value.key == "data.path"


def test_empty_file(tmp_path):
    e = error(tmp_path, "", target="y")
    assert "empty" in str(e) and "t.csv" in str(e)
    e = error(tmp_path, "\n\n  \n", target="y")
    assert "empty" in str(e)


def test_header_only(tmp_path):
    assert "no data rows" in str(error(tmp_path, "x,y\n", target="y"))


def test_unknown_target_lists_the_columns(tmp_path):
    e = error(tmp_path, "x,label\n1,a\n2,b\n", target="species")
    assert "'species'" in str(e) and "x, label" in str(e) and e.key == "data.target"


def test_unknown_feature_column(tmp_path):
    e = error(tmp_path, "x,y\n1,0\n2,1\n", target="y", features=["x", "z"])
    assert "'z'" in str(e) and e.key == "data.features"


def test_target_as_a_feature(tmp_path):
    assert "target" in str(error(tmp_path, "x,y\n1,0\n2,1\n", target="y", features=["y"]))


def test_missing_feature_value_names_column_and_line(tmp_path):
    text = "x,z,y\n1,2,0\n2,3,1\n3,,0\n4,5,1\n"
    e = error(tmp_path, text, target="y")
    assert "missing value in column 'z' at line 4" in str(e) and "t.csv" in str(e)
    e = error(tmp_path, "x,y\n1,0\nNA,1\n", target="y")
    assert "column 'x' at line 3" in str(e)


def test_missing_target_value_names_the_line(tmp_path):
    e = error(tmp_path, "x,y\n1,a\n2,\n3,b\n", target="y")
    assert "target column 'y' at line 3" in str(e)


def test_non_numeric_feature_column_chosen_explicitly(tmp_path):
    e = error(tmp_path, "x,color,y\n1,red,0\n2,blue,1\n", target="y", features=["x", "color"])
    assert "column 'color' is not numeric: line 2 has 'red'" in str(e)


def test_stray_word_in_a_numeric_column_is_not_silently_dropped(tmp_path):
    text = "w,x,y\n" + rows(10, lambda i: f"{i},{i * 2},{i % 2}\n") + "3,twelve,1\n"
    e = error(tmp_path, text, target="y")
    assert "column 'x' is not numeric: line 12 has 'twelve'" in str(e)


def test_text_only_features_leave_nothing(tmp_path):
    e = error(tmp_path, "color,y\nred,0\nblue,1\n", target="y")
    assert "no numeric feature columns" in str(e)


def test_ragged_row_names_the_line(tmp_path):
    e = error(tmp_path, "x,y\n1,0\n2,1,9\n", target="y")
    assert "line 3 has 3 fields but the header has 2" in str(e)


def test_duplicate_column_names(tmp_path):
    assert "appears twice" in str(error(tmp_path, "x,x,y\n1,2,0\n", target="y"))


def test_regression_needs_numbers(tmp_path):
    e = error(tmp_path, "x,y\n1,2.5\n2,high\n", target="y", task="regression")
    assert "line 3 has 'high'" in str(e)


def test_one_class_only(tmp_path):
    assert "at least 2 classes" in str(error(tmp_path, "x,y\n1,a\n2,a\n", target="y"))


def test_not_utf8(tmp_path):
    (tmp_path / "t.csv").write_bytes(b"x,y\n1,\xff\xfe\n")
    with pytest.raises(UserError, match="UTF-8"):
        load_dataset("csv", {"path": "t.csv", "target": "y"}, 0, 0.2, tmp_path)


@pytest.mark.parametrize(
    "data, key",
    [({"target": "y"}, "data.path"), ({"path": "t.csv"}, "data.target"), ({"path": "t.csv", "target": "y", "features": []}, "data.features"),
     ({"path": "t.csv", "target": "y", "delimiter": ";;"}, "data.delimiter"), ({"path": "t.csv", "target": "y", "task": "clustering"}, "data.task"),
     ({"path": "t.csv", "target": "y", "features": "x"}, "data.features")],
)
def test_preset_keys_are_checked_before_loading(data, key):
    with pytest.raises(UserError) as e:
        parse_preset({"data": {"dataset": "csv", **data}}, source="p.toml")
    assert e.value.key == key and "p.toml" in str(e.value)


# ---------------------------------------------------------------- paths


def test_relative_path_resolves_against_the_preset_folder_and_the_run_keeps_an_absolute_one(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "t.csv").write_text("x,y\n" + rows(40, lambda i: f"{i % 7},{int(i % 7 > 3)}\n"))
    (folder / "p.toml").write_text(
        '[data]\ndataset = "csv"\npath = "data/t.csv"\ntarget = "y"\n[[model.layers]]\nunits = 4\n[training]\nepochs = 2\n'
    )
    monkeypatch.chdir(ROOT)  # not the preset's folder
    finished, run = train_preset(load_preset(folder / "p.toml"), out_dir=tmp_path / "runs")
    assert finished.status == "completed"
    saved = load_preset(run.run_dir.path / PRESET_FILE)
    assert saved.data.options["path"] == str((folder / "data" / "t.csv").resolve())
    again, _ = train_preset(saved, out_dir=None)  # the run folder's preset.toml runs as-is
    assert again.final["val_accuracy"] == finished.final["val_accuracy"]
