"""Turn what a user typed into a checked preset value, with a short message when it is not allowed."""

from __future__ import annotations

from typing import Any

from nn_tui.core.errors import UserError
from nn_tui.core.schema import Field
from nn_tui.core.toml import tomllib


class InputRefused(ValueError):
    """The text cannot be used; `str(exc)` is a short message to show next to the field."""


def parse_field_text(field: Field, text: str) -> Any:
    """The value for `field` from typed text. Blank means "default" for fields whose default is None."""
    text = text.strip()
    if text == "":
        if field.default is None and field.name not in ("units",):
            return None
        raise InputRefused(f"required: {field.describe()}")
    value: Any
    if field.type is int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                raise InputRefused(f"{text!r} is not a whole number") from None
            if not as_float.is_integer():
                raise InputRefused(f"{text!r} is not a whole number")
            value = int(as_float)
    elif field.type is float:
        try:
            value = float(text)
        except ValueError:
            raise InputRefused(f"{text!r} is not a number") from None
    elif field.type is bool:
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            value = True
        elif lowered in ("false", "no", "off", "0"):
            value = False
        else:
            raise InputRefused("expected yes or no")
    elif field.type is list:
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            if field.item_type is not str:
                raise InputRefused(f"expected {field.describe()}, e.g. [1, 2]") from None
            # Words need no quotes: `x1^2, x2^2` or `[x1^2, x2^2]`.
            words = (w.strip().strip("\"'").strip() for w in text.removeprefix("[").removesuffix("]").split(","))
            value = [w for w in words if w]
    else:
        value = text
    try:
        return field.check(value, source=None, key=field.name)
    except UserError:
        raise InputRefused(f"must be {field.describe()}") from None


def format_value(value: Any) -> str:
    """How a preset value is shown in an input box."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 1e-4 or value == 0 else repr(value)
    if isinstance(value, list):
        if not value:
            return ""
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)
