"""The import contracts in pyproject.toml ([tool.importlinter]) hold: `lint-imports` passes on this tree."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_lint_imports_keeps_every_contract():
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("import-linter is not installed: pip install '.[dev]'")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # Run with this interpreter's path first, so the tree under test is the one analysed.
    r = subprocess.run([exe, "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def test_a_forbidden_import_breaks_the_contracts(tmp_path):
    """The check can fail: a copy of the package whose core imports the app is refused."""
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("import-linter is not installed: pip install '.[dev]'")
    shutil.copytree(ROOT / "nn_tui", tmp_path / "nn_tui", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    errors = tmp_path / "nn_tui" / "core" / "errors.py"
    errors.write_text(errors.read_text() + "\n\ndef _app():\n    from nn_tui.tui.app import NNTuiApp\n\n    return NNTuiApp\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    r = subprocess.run([exe, "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert "nn_tui.core.errors -> nn_tui.tui.app" in r.stdout
