"""What the app and `nn-tui datasets` show about each dataset, without loading any data."""

from __future__ import annotations

import json
from typing import Any

from nn_tui.core.datasets import DatasetInfo, all_datasets, get_dataset_info


def describe(info: DatasetInfo) -> dict[str, Any]:
    """A dataset's card: task, size, classes and label names, source, and the preset keys it accepts."""
    return {
        "name": info.name,
        "task": info.task,  # None: decided by the options (csv)
        "description": info.description,
        "samples": info.samples,
        "features": info.features,
        "classes": info.classes,
        "label_names": list(info.label_names) if info.label_names else None,
        "source": info.source,
        "options": [
            {"key": f"data.{f.name}", "default": f.default, "allowed": f.describe(), "help": f.help}
            for f in info.options
        ],
    }


def catalog() -> list[dict[str, Any]]:
    return [describe(info) for info in all_datasets().values()]


def describe_name(name: str) -> dict[str, Any]:
    return describe(get_dataset_info(name, key=None))


def _cell(value: Any, what: str) -> str:
    if value is None:
        return {"task": "from data", "classes": "-", "samples": "any", "features": "any"}.get(what, "-")
    return str(value)


def format_catalog(cards: list[dict[str, Any]], *, label_width: int = 48) -> str:
    """One row per dataset: name, task, samples, features, classes with label names, source."""
    rows = [("name", "task", "samples", "features", "classes", "source")]
    for c in cards:
        classes = _cell(c["classes"], "classes")
        if c["label_names"]:
            labels = ", ".join(c["label_names"])
            if len(labels) > label_width:
                labels = labels[: label_width - 3] + "..."
            classes += f" ({labels})"
        rows.append((c["name"], _cell(c["task"], "task"), _cell(c["samples"], "samples"),
                     _cell(c["features"], "features"), classes, c["source"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    right = {2, 3}
    lines = []
    for r in rows:
        cells = [r[i].rjust(widths[i]) if i in right else r[i].ljust(widths[i]) for i in range(len(widths))]
        lines.append("  ".join(cells) + "  " + r[-1])
    return "\n".join(lines)


def format_card(card: dict[str, Any]) -> str:
    """Everything about one dataset, including the keys a preset's [data] table may set for it."""
    lines = [f"{card['name']}: {card['description']}"]
    for key in ("task", "samples", "features", "classes"):
        lines.append(f"  {key}: {_cell(card[key], key)}")
    if card["label_names"]:
        lines.append(f"  labels: {', '.join(card['label_names'])}")
    lines.append(f"  source: {card['source']}")
    if card["options"]:
        lines.append("  [data] keys:")
        for o in card["options"]:
            default = "" if o["default"] is None else f" (default {json.dumps(o['default'])})"
            help_text = f" - {o['help']}" if o["help"] else ""
            lines.append(f"    {o['key'][5:]}: {o['allowed']}{default}{help_text}")
    return "\n".join(lines)
