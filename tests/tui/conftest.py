"""Fixtures for the app tests: a scripted fake trainer, fixed device readings, and a clean working folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nn_tui.core.preset import Preset
from nn_tui.tui.app import NNTuiApp
from tests.tui.fake_trainer import FakeTrainer
from tests.tui.helpers import fixed_devices


@pytest.fixture(autouse=True)
def in_tmp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test works in its own folder, so saved presets and runs/ never land in the repo."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., NNTuiApp]:
    def make(preset: Preset | None = None, trainer=None, **kwargs) -> NNTuiApp:
        return NNTuiApp(
            preset,
            trainer=trainer if trainer is not None else FakeTrainer(),
            device_source=kwargs.pop("device_source", fixed_devices),
            runs_dir=tmp_path / "runs",
            warm_torch=False,
            **kwargs,
        )

    return make
