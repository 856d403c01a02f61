"""The core and the headless CLI never import textual; `nn-tui --help` does not even import torch."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.cli.conftest import ROOT, cli_env


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(), cwd=ROOT,
                          timeout=120)


def test_core_does_not_import_textual_or_rich():
    code = """
import importlib, pkgutil, sys
import nn_tui.core
for m in pkgutil.walk_packages(nn_tui.core.__path__, "nn_tui.core."):
    importlib.import_module(m.name)
from nn_tui.core.datasets import all_datasets
all_datasets()
bad = [m for m in ("textual", "rich") if m in sys.modules]
print("BAD" if bad else "OK", bad)
"""
    r = python(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("OK"), r.stdout


def test_importing_core_does_not_import_torch():
    r = python("import sys, nn_tui.core.preset, nn_tui.core.run.runner; print('torch' in sys.modules)")
    assert r.stdout.strip() == "False", r.stderr


def test_importing_the_sweep_engine_imports_neither_optuna_nor_ray():
    r = python("import sys, nn_tui.core.sweep.runner, nn_tui.cli.sweep; "
               "print([m for m in ('optuna', 'ray', 'torch') if m in sys.modules])")
    assert r.stdout.strip() == "[]", r.stderr


def test_headless_run_never_imports_textual(tmp_path):
    code = f"""
import sys
sys.argv = ["nn-tui", "run", "xor", "--epochs", "3", "--quiet", "--out", {str(tmp_path)!r}, "--set", "expect={{}}"]
from nn_tui.cli import main
try:
    main()
except SystemExit as exc:
    assert exc.code == 0, exc.code
print("textual" in sys.modules)
"""
    r = python(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "False"


def test_help_is_fast_and_does_not_import_torch():
    code = """
import sys, time
t = time.perf_counter()
sys.argv = ["nn-tui", "--help"]
from nn_tui.cli import main
try:
    main()
except SystemExit:
    pass
print("TORCH" if "torch" in sys.modules else "NO_TORCH", "TEXTUAL" if "textual" in sys.modules else "NO_TEXTUAL",
      "SERVE" if "textual_serve" in sys.modules or "aiohttp" in sys.modules else "NO_SERVE",
      "SWEEP_ENGINES" if "optuna" in sys.modules or "ray" in sys.modules else "NO_SWEEP_ENGINES")
"""
    t0 = time.perf_counter()
    r = python(code)
    elapsed = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr
    assert "run" in r.stdout and "presets" in r.stdout and "serve" in r.stdout and "sweep" in r.stdout
    assert r.stdout.strip().splitlines()[-1] == "NO_TORCH NO_TEXTUAL NO_SERVE NO_SWEEP_ENGINES"
    assert elapsed < 5  # generous: the real figure is in benchmarks/, this only catches a torch import
