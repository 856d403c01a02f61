"""The Experiments view's cost: the same 4-trial sweep (spiral, 2 workers) run headless by the sweep engine, and
started from the app's Experiments view (Textual headless, 160x50, the real SweepController and charts), alternated
in fresh processes.

    python benchmarks/experiments.py            # 3 pairs, about 2-3 minutes on a 2-core machine
    python benchmarks/experiments.py --pairs 5 --json

"Engine time" is from the moment both workers are ready (have imported torch) to the last trial's end, read from the
engine's own events, so starting Python, the app and the workers is left out. The ratio is headless time / app
time (1.0: the app costs the trials nothing; the target is >= 0.9). Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

LRS = "0.003, 0.01, 0.03, 0.1"


def bench_preset():
    from nn_tui.core.preset import DataSpec, LayerSpec, Preset, TrainingSpec

    return Preset("bench_spiral", DataSpec("spiral", batch_size=32, options={"samples": 1000, "noise": 0.05}),
                  [LayerSpec(32, "relu"), LayerSpec(32, "relu")], TrainingSpec(epochs=150, checkpoint_every=0))


def timing_runner(times: dict):
    """The real SweepRunner, noting when the workers are ready and when the sweep ends."""
    from nn_tui.core.sweep.runner import SweepRunner

    def make(plan, on_event, stop):
        def note(event):
            if event.kind in ("ready", "end"):
                times[event.kind] = time.monotonic()
            on_event(event)

        return SweepRunner(plan, on_event=note, stop=stop)

    return make


def sample_headless(out: Path) -> float:
    from nn_tui.core.sweep.runner import plan_sweep
    from nn_tui.tui.experiments.vary import build_sweep

    times: dict = {}
    sweep = build_sweep(bench_preset(), {"training.lr": LRS}, workers=2)
    timing_runner(times)(plan_sweep(sweep, out), lambda e: None, __import__("threading").Event()).execute()
    return times["end"] - times["ready"]


async def sample_app(out: Path) -> float:
    from textual.widgets import Input

    from nn_tui.tui.app import NNTuiApp

    times: dict = {}
    app = NNTuiApp(bench_preset(), runs_dir=out / "runs", warm_torch=False, sweep_runner=timing_runner(times))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("E")
        await pilot.pause(0.5)
        screen = app.screen
        screen.query_one("#vary-0", Input).value = LRS
        screen.query_one("#exp-workers", Input).value = "2"
        await pilot.press("ctrl+r")
        while app.sweeps.state != "finished":
            await asyncio.sleep(0.2)
        status = app.sweeps.status
    if status != "completed":
        raise RuntimeError(f"the sweep in the app ended {status}")
    return times["end"] - times["ready"]


def run_sample(kind: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, __file__, "--sample", kind], capture_output=True, text=True, env=env,
                              cwd=tmp, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} sample failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sample", choices=("headless", "app"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sample:
        out = Path.cwd()
        seconds = sample_headless(out / "sweeps") if args.sample == "headless" else asyncio.run(sample_app(out))
        print(json.dumps({"seconds": seconds}))
        return
    headless, app = [], []
    load = os.getloadavg()[0]
    for i in range(args.pairs):
        headless.append(run_sample("headless"))
        app.append(run_sample("app"))
        print(f"pair {i + 1}: headless {headless[-1]:.2f} s, app {app[-1]:.2f} s", file=sys.stderr, flush=True)
    ratio = statistics.median(headless) / statistics.median(app)
    result = {"case": "experiments", "config": f"4 trials (spiral 2-32-32-2, 150 epochs, lr {LRS}), 2 workers",
              "headless_s": headless, "app_s": app, "ratio": round(ratio, 3), "target": ">= 0.9",
              "load_start": round(load, 2), "load_end": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"experiments: median engine time headless {statistics.median(headless):.2f} s, in the app "
              f"{statistics.median(app):.2f} s, ratio {ratio:.2f}x (target >= 0.9x); load average "
              f"{result['load_start']} -> {result['load_end']} on {result['cpus']} CPUs")


if __name__ == "__main__":
    main()
