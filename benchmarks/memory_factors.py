"""Measure the peak memory factors behind nn-tui's "would not fit in memory" checks (nn_tui/core/limits.py).

Each case is one real `nn-tui run` in a fresh process; its peak resident memory comes from the kernel
(`os.wait4` rusage, ru_maxrss). Two sizes per case give a slope, so the fixed cost of Python, torch and
the app's imports cancels out:

- network: xor with two hidden layers of U units (Adam, then SGD), 2 epochs, with a run folder (the
  checkpoint and weight writes are part of the peak). Slope: bytes per parameter.
- CSV: files of random numbers with long cells (`%.6f`, ~9 bytes) and short cells (one or two digits),
  each at two row counts. Slope: bytes per file byte, and per cell.

    python benchmarks/memory_factors.py            # about a minute, peaks under 1.5 GB
    python benchmarks/memory_factors.py --json

Sizes are small on purpose (the machine is shared); the slopes are what limits.py uses.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def peak_rss(args: list[str], cwd: Path) -> int:
    """Peak RSS in bytes of `python -m nn_tui ARGS` (the child alone)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "nn_tui", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode()
    if proc.returncode not in (0, 3):
        raise SystemExit(f"nn-tui {' '.join(args)} failed ({proc.returncode}): {err}")
    return usage.ru_maxrss * 1024


def network_case(units: int, optimizer: str, work: Path) -> tuple[int, int]:
    layers = f"model.layers=[{{units={units}}},{{units={units}}}]"
    params = (2 * units + units) + (units * units + units) + (units + 1)
    peak = peak_rss(["run", "xor", "--epochs", "2", "--quiet", "--out", str(work / "runs"), "--set", layers,
                     "--set", f'training.optimizer="{optimizer}"'], work)
    return params, peak


def write_csv(path: Path, rows: int, short: bool) -> int:
    import numpy as np

    rng = np.random.default_rng(0)
    cols = 8
    with open(path, "w") as fh:
        fh.write(",".join(f"f{i}" for i in range(cols)) + ",y\n")
        for start in range(0, rows, 10000):
            n = min(10000, rows - start)
            if short:
                block = rng.integers(0, 100, size=(n, cols))
                lines = "\n".join(",".join(map(str, r)) + f",{r[0] % 2}" for r in block.tolist())
            else:
                block = rng.normal(size=(n, cols))
                lines = "\n".join(",".join(f"{v:.6f}" for v in r) + f",{int(r[0] > 0)}" for r in block.tolist())
            fh.write(lines + "\n")
    return path.stat().st_size


def csv_case(rows: int, short: bool, work: Path) -> tuple[int, int, int]:
    data = work / f"data_{rows}_{int(short)}.csv"
    size = write_csv(data, rows, short)
    preset = work / "p.toml"
    preset.write_text(f'[data]\ndataset = "csv"\npath = "{data}"\ntarget = "y"\n[[model.layers]]\nunits = 4\n'
                      "[training]\nepochs = 1\n")
    peak = peak_rss(["run", str(preset), "--quiet", "--out", str(work / "runs")], work)
    return size, rows * 9, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for opt in ("adam", "sgd"):
            (p1, m1), (p2, m2) = network_case(1500, opt, work), network_case(4000, opt, work)
            out[f"network_{opt}"] = {"params": [p1, p2], "peak_rss": [m1, m2], "bytes_per_param": (m2 - m1) / (p2 - p1)}
        for short in (False, True):
            (s1, c1, m1), (s2, c2, m2) = csv_case(50_000, short, work), csv_case(400_000, short, work)
            out[f"csv_{'short' if short else 'long'}_cells"] = {
                "file_bytes": [s1, s2], "cells": [c1, c2], "peak_rss": [m1, m2],
                "bytes_per_file_byte": (m2 - m1) / (s2 - s1), "bytes_per_cell": (m2 - m1) / (c2 - c1),
            }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for name, r in out.items():
        slope = {k: v for k, v in r.items() if k.startswith("bytes_per")}
        peaks = ", ".join(f"{m / 2**20:.0f} MB" for m in r["peak_rss"])  # type: ignore[index]
        print(f"{name}: peaks {peaks}; " + ", ".join(f"{k} {v:.1f}" for k, v in slope.items()))


if __name__ == "__main__":
    main()
