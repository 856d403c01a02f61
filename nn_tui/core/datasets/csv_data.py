"""The user's own table: a CSV file with a header row, one target column and numeric feature columns."""

from __future__ import annotations

import csv
import math
import re
import stat
from pathlib import Path
from typing import Any

from nn_tui.core.datasets import CLASSIFICATION, REGRESSION, Dataset, DatasetInfo, make_dataset, register, resolve_path
from nn_tui.core.errors import UserError
from nn_tui.core.schema import Field

# Cells read as "no value". A value is missing, never silently a number.
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})
# A numeric target with at most this many distinct whole-number values is taken as class labels.
MAX_INFERRED_CLASSES = 20
# "1,234" or "12,345.6": a number written with thousands separators, which float() does not read.
THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
FLOAT32_MAX = 3.4028234663852886e38  # the network computes in float32; a larger value becomes infinity


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_missing(text: str) -> bool:
    return text.strip().lower() in MISSING


def _not_finite(text: str) -> bool:
    """inf, -Infinity, 1e999: parses as a float but is not a finite number."""
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return False


def _why_not_a_number(text: str) -> str:
    if _not_finite(text):
        return "is not a finite number"
    if THOUSANDS.fullmatch(text):
        return "has thousands separators (write 1234, not 1,234)"
    return "is not a number"


def _check_regular_file(path: Path) -> None:
    """Refuse a FIFO, device or socket before opening it: reading one can block for ever or never end."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise UserError("CSV file not found", source=str(path), key="data.path") from None
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror or exc}", source=str(path), key="data.path") from None
    if stat.S_ISDIR(mode):
        raise UserError("is a folder, not a CSV file", source=str(path), key="data.path")
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device or socket"
        raise UserError(f"is {kind}, not a regular file; give a CSV file", source=str(path), key="data.path")


def read_table(path: Path, delimiter: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows as stripped strings, and each row's line number (header = line 1).

    UserError for anything a person must fix: no file, no header, ragged rows.
    """
    source = str(path)
    _check_regular_file(path)
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise UserError("CSV file not found", source=source, key="data.path") from None
    except IsADirectoryError:
        raise UserError("is a folder, not a CSV file", source=source, key="data.path") from None
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror or exc}", source=source, key="data.path") from None
    with fh:
        try:
            reader = csv.reader(fh, delimiter=delimiter)
            lines = [(reader.line_num, row) for row in reader]
        except UnicodeDecodeError:
            raise UserError("not a UTF-8 text file", source=source, key="data.path") from None
        except csv.Error as exc:
            raise UserError(f"CSV syntax error: {exc}", source=source, key="data.path") from None
    lines = [(n, row) for n, row in lines if any(cell.strip() for cell in row)]  # blank lines are not rows
    if not lines:
        raise UserError("the CSV file is empty; expected a header row and data rows", source=source, key="data.path")
    header = [cell.strip() for cell in lines[0][1]]
    for i, name in enumerate(header):
        if not name:
            raise UserError(f"column {i + 1} has no name in the header row", source=source, key="data.path")
        if name in header[:i]:
            raise UserError(f"column name {name!r} appears twice in the header row", source=source, key="data.path")
    if len(lines) == 1:
        raise UserError("the CSV file has a header row but no data rows", source=source, key="data.path")
    rows = []
    for line_no, row in lines[1:]:
        if len(row) != len(header):
            raise UserError(
                f"line {line_no} has {len(row)} fields but the header has {len(header)}"
                + (f" (is the delimiter {delimiter!r} right?)" if len(header) == 1 or len(row) == 1 else ""),
                source=source,
                key="data.path",
            )
        rows.append([cell.strip() for cell in row])
    return header, rows, [n for n, _ in lines[1:]]


def _column_kind(values: list[str]) -> str:
    """'numeric' when most present values are numbers, 'text' otherwise, 'empty' when none are present."""
    present = [v for v in values if not _is_missing(v)]
    if not present:
        return "empty"
    numbers = sum(_number(v) is not None for v in present)
    return "numeric" if numbers * 2 > len(present) else "text"


def load_csv(o: dict[str, Any], seed: int, test_fraction: float, base_dir: Path | None) -> Dataset:
    import numpy as np

    path = resolve_path(o["path"], base_dir)
    source = str(path)
    header, rows, line_of = read_table(path, o.get("delimiter") or ",")
    columns = {name: [r[i] for r in rows] for i, name in enumerate(header)}

    target = o["target"]
    if target not in columns:
        raise UserError(
            f"no column {target!r} in the CSV file; its columns are: {', '.join(header)}", source=source, key="data.target"
        )
    if o.get("features"):
        features = list(o["features"])
        for name in features:
            if name not in columns:
                raise UserError(
                    f"no column {name!r} in the CSV file; its columns are: {', '.join(header)}",
                    source=source,
                    key="data.features",
                )
            if name == target:
                raise UserError(f"{name!r} is the target; it cannot also be a feature", source=source, key="data.features")
        if len(set(features)) != len(features):
            raise UserError("a column is listed twice", source=source, key="data.features")
        chosen_by_user = True
    else:
        # Default: every other column that holds numbers. Columns of words are left out (they would
        # need an encoding the user should choose); a numeric column with a stray word is an error below.
        features = [n for n in header if n != target and _column_kind(columns[n]) == "numeric"]
        _refuse_separated_numbers(header, columns, target, features, line_of, source)
        if not features:
            raise UserError(
                f"no numeric feature columns besides the target {target!r}; columns: {', '.join(header)}",
                source=source,
                key="data.features",
            )
        chosen_by_user = False

    X = np.empty((len(rows), len(features)), dtype=np.float64)
    for j, name in enumerate(features):
        for i, text in enumerate(columns[name]):
            if _is_missing(text):
                raise UserError(
                    f"missing value in column {name!r} at line {line_of[i]}; fill it in or remove the row"
                    + ("" if chosen_by_user else " (or leave the column out with data.features)"),
                    source=source,
                    key="data.features",
                )
            value = _number(text)
            if value is None:
                raise UserError(
                    f"column {name!r} is not numeric: line {line_of[i]} has {text!r}, which {_why_not_a_number(text)}; "
                    "features must be finite numbers (leave the column out with data.features, or encode it as numbers)",
                    source=source,
                    key="data.features",
                )
            X[i, j] = value
    _refuse_float32_overflow(X, features, line_of, source, "data.features")

    labels = columns[target]
    for i, text in enumerate(labels):
        if _is_missing(text):
            raise UserError(
                f"missing value in target column {target!r} at line {line_of[i]}; fill it in or remove the row",
                source=source,
                key="data.target",
            )
    for i, text in enumerate(labels):
        if _not_finite(text):  # inf in a numeric target would otherwise turn it into class labels
            raise UserError(
                f"target column {target!r} has {text!r} at line {line_of[i]}, which is not a finite number; "
                "fix or remove the row",
                source=source,
                key="data.target",
            )
    numeric = [_number(t) for t in labels]
    all_numeric = all(v is not None for v in numeric)
    task = o.get("task")
    if task is None:
        if not all_numeric:
            task = CLASSIFICATION
        else:
            whole = all(float(v).is_integer() for v in numeric)  # type: ignore[arg-type]
            task = CLASSIFICATION if whole and len(set(numeric)) <= MAX_INFERRED_CLASSES else REGRESSION

    if task == REGRESSION:
        if not all_numeric:
            bad = next(i for i, v in enumerate(numeric) if v is None)
            raise UserError(
                f"task is regression but target column {target!r} is not numeric: line {line_of[bad]} has {labels[bad]!r}",
                source=source,
                key="data.target",
            )
        y = np.asarray(numeric, dtype=np.float64)
        _refuse_float32_overflow(y[:, None], [target], line_of, source, "data.target")
        return make_dataset(
            "csv", REGRESSION, X, y, seed=seed, test_fraction=test_fraction,
            feature_names=features, target_names=[target], scale=True, source=source,
        )

    # Classification: numbers sort as numbers ("2" before "10"), words alphabetically.
    if all_numeric:
        distinct = sorted(set(numeric), key=float)  # type: ignore[arg-type]
        names = [_label_text(v) for v in distinct]  # type: ignore[arg-type]
        index = {v: k for k, v in enumerate(distinct)}
        y = np.asarray([index[v] for v in numeric], dtype=np.int64)
    else:
        names = sorted(set(labels))
        index = {v: k for k, v in enumerate(names)}
        y = np.asarray([index[v] for v in labels], dtype=np.int64)
    if len(names) < 2:
        raise UserError(
            f"target column {target!r} has only one value ({names[0]!r}); classification needs at least 2 classes",
            source=source,
            key="data.target",
        )
    return make_dataset(
        "csv", CLASSIFICATION, X, y, seed=seed, test_fraction=test_fraction,
        feature_names=features, label_names=names, scale=True, source=source,
    )


def _refuse_separated_numbers(
    header: list[str], columns: dict[str, list[str]], target: str, features: list[str], line_of: list[int], source: str
) -> None:
    """A column of numbers written "1,234" is not text to leave out silently: say how to fix it."""
    for name in header:
        if name == target or name in features:
            continue
        present = [text for text in columns[name] if not _is_missing(text)]
        separated = [i for i, text in enumerate(columns[name]) if THOUSANDS.fullmatch(text)]
        numbers = len(separated) + sum(_number(text) is not None for text in present)
        if separated and numbers * 2 > len(present):  # mostly numbers once the separators are read
            i = separated[0]
            raise UserError(
                f"column {name!r} holds numbers with thousands separators (line {line_of[i]} has {columns[name][i]!r}); "
                "remove the separators (1234, not 1,234), or list the features to use in data.features",
                source=source,
                key="data.features",
            )


def _refuse_float32_overflow(values: Any, names: list[str], line_of: list[int], source: str, key: str) -> None:
    """Values beyond float32's range would become infinity in the network (and NaN after scaling)."""
    import numpy as np

    big = np.argwhere(np.abs(values) > FLOAT32_MAX)
    if len(big):
        i, j = big[0]
        raise UserError(
            f"column {names[j]!r} has {values[i, j]:g} at line {line_of[i]}, beyond the float32 range "
            f"(±{FLOAT32_MAX:.3g}) the network computes in; rescale the column (divide it, or take a log)",
            source=source,
            key=key,
        )


def _label_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _check(o: dict[str, Any], source: str | None) -> None:
    for key in ("path", "target"):
        if not o.get(key):
            raise UserError(
                'missing required key for dataset "csv"; expected a string'
                + (" (the CSV file, relative to the preset's folder)" if key == "path" else " (the label column's name)"),
                source=source,
                key=f"data.{key}",
            )
    if "delimiter" in o and len(o["delimiter"]) != 1:
        raise UserError(f"{o['delimiter']!r} is not allowed; expected one character, e.g. \",\" or \";\"",
                        source=source, key="data.delimiter")
    if "features" in o and not o["features"]:
        raise UserError("an empty list; leave the key out to use every numeric column", source=source, key="data.features")


register(
    DatasetInfo(
        "csv",
        None,
        "Your own CSV file: a header row, a target column and numeric feature columns",
        load_csv,
        (
            Field("path", str, None, help="the CSV file; relative paths start at the preset's folder"),
            Field("target", str, None, help="name of the column to predict"),
            Field("features", list, None, item_type=str, help="feature column names; default: every other numeric column"),
            Field("task", str, None, choices=(CLASSIFICATION, REGRESSION),
                  help=f"default: classification for words or <= {MAX_INFERRED_CLASSES} whole-number values, else regression"),
            Field("delimiter", str, ",", help="one character separating the fields"),
        ),
        source="your CSV file",
        extra_check=_check,
        path_options=("path",),
    )
)
