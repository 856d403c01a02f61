"""Python 3.10 is supported (pyproject's requires-python): checked with a real 3.10 interpreter when one is installed.

The 3.10 interpreter need not have torch: the check compiles the whole package with it (no 3.11-only syntax)
and loads every bundled preset through nn_tui.core.preset, which reads TOML with tomli there.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nn_tui.core.toml import tomllib

ROOT = Path(__file__).resolve().parents[2]


def python310() -> str | None:
    pyenv = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python")))
    return os.environ.get("NN_TUI_PYTHON310") or (pyenv[-1] if pyenv else shutil.which("python3.10"))


def test_pyproject_declares_310_and_tomli_for_it():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"
    assert 'tomli>=1.1; python_version < "3.11"' in project["dependencies"]


def test_the_package_compiles_and_presets_load_on_python_310(tmp_path):
    py = python310()
    if py is None:
        pytest.skip("no Python 3.10 interpreter here")
    if subprocess.run([py, "-c", "import tomli"], capture_output=True).returncode != 0:
        pytest.skip(f"{py} has no tomli (pip install tomli)")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(tmp_path))  # no .pyc in the checkout
    script = (
        "import sys, compileall\n"
        "assert sys.version_info[:2] == (3, 10), sys.version\n"
        f"assert compileall.compile_dir({str(ROOT / 'nn_tui')!r}, quiet=1, force=True)\n"
        "from nn_tui.core.preset import bundled_presets, load_preset\n"
        "names = [load_preset(p).name for p in bundled_presets().values()]\n"
        "print(len(names))\n"
    )
    r = subprocess.run([py, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) >= 10
