"""Declarative field checks shared by the preset sections and the dataset options."""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass
from typing import Any

from nn_tui.core.errors import UserError

_SHORT = reprlib.Repr()  # keyword arguments need Python 3.12
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 2, 60, 60, 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 4


def shown(value: Any) -> str:
    """A value for an error message: its repr, shortened, so a hostile value cannot flood the message."""
    try:
        return _SHORT.repr(value)
    except (RecursionError, ValueError):
        return f"<{type(value).__name__}>"


_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string", list: "a list"}


@dataclass(frozen=True)
class Field:
    """One key of a preset table: its type, default, and allowed values or range."""

    name: str
    type: type
    default: Any = None
    choices: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    help: str = ""
    item_type: type | None = None  # for list fields

    def describe(self) -> str:
        """The allowed values in words, for error messages and the app."""
        if self.choices:
            return "one of: " + ", ".join(self.choices)
        words = _TYPE_NAMES.get(self.type, self.type.__name__)
        if self.type is list and self.item_type is not None:
            words = f"a list of {_TYPE_NAMES.get(self.item_type, 'values').removeprefix('a ').removeprefix('an ')}s"
        if self.min is not None and self.max is not None:
            lo = ">" if self.min_exclusive else ">="
            words += f" {lo} {_fmt(self.min)} and <= {_fmt(self.max)}"
        elif self.min is not None:
            words += f" {'>' if self.min_exclusive else '>='} {_fmt(self.min)}"
        elif self.max is not None:
            words += f" <= {_fmt(self.max)}"
        return words

    def check(self, value: Any, *, source: str | None, key: str) -> Any:
        """Return the value converted to the field's type, or raise a UserError naming the key."""
        problem = f"{shown(value)} is not allowed; expected {self.describe()}"
        if self.type is bool:
            if not isinstance(value, bool):
                raise UserError(problem, source=source, key=key)
            return value
        if self.type is int:
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
                    value = int(value)
                else:
                    raise UserError(problem, source=source, key=key)
        elif self.type is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UserError(problem, source=source, key=key)
            try:
                value = float(value)
            except OverflowError:  # an integer with hundreds of digits
                raise UserError(problem, source=source, key=key) from None
            if not math.isfinite(value):
                raise UserError(problem, source=source, key=key)
        elif self.type is str:
            if not isinstance(value, str):
                raise UserError(problem, source=source, key=key)
            if self.choices is not None:
                if value not in self.choices:
                    raise UserError(problem, source=source, key=key)
            return value
        elif self.type is list:
            if not isinstance(value, list) or (
                self.item_type is not None and not all(isinstance(v, self.item_type) for v in value)
            ):
                raise UserError(problem, source=source, key=key)
            return list(value)
        if self.min is not None and (value < self.min or (self.min_exclusive and value == self.min)):
            raise UserError(problem, source=source, key=key)
        if self.max is not None and value > self.max:
            raise UserError(problem, source=source, key=key)
        return value


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def check_table(
    table: Any, fields: tuple[Field, ...], *, source: str | None, prefix: str, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Validate a TOML table against fields: no unknown keys, required keys present, defaults filled in."""
    if not isinstance(table, dict):
        raise UserError(f"expected a table, got {shown(table)}", source=source, key=prefix.rstrip(".") or None)
    by_name = {f.name: f for f in fields}
    unknown = [k for k in table if k not in by_name]
    if unknown:
        raise UserError(
            f"unknown key {shown(unknown[0])}; allowed keys: {', '.join(by_name)}",
            source=source,
            key=prefix + unknown[0],
        )
    out: dict[str, Any] = {}
    for f in fields:
        if f.name in table:
            out[f.name] = f.check(table[f.name], source=source, key=prefix + f.name)
        elif f.name in required:
            raise UserError(f"missing required key; expected {f.describe()}", source=source, key=prefix + f.name)
        else:
            out[f.name] = f.default
    return out
