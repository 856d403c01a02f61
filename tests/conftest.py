"""Shared test helpers: presets built in code, and fast in-process runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def make_preset():
    from nn_tui.core.preset import parse_preset

    def make(dataset="xor", layers=(), source="test.toml", **sections):
        raw = {"data": {"dataset": dataset, **sections.pop("data", {})}, "model": {"layers": list(layers)}}
        raw["training"] = sections.pop("training", {})
        raw.update(sections)
        return parse_preset(raw, source=source)

    return make
