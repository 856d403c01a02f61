"""Soak test: train a tiny model for a million steps and check that memory and the live chart's cost stay flat.

Not part of the unit suite (it runs for minutes). It trains through the same `Run` the CLI and the app use,
with a real run folder (metrics.csv gets every epoch, checkpoints are written as usual), while a sampler
thread records the process's resident memory and the trainer's step count. The app's chart data is
simulated by feeding every epoch and progress event into the app's bounded `Series` and timing how long
preparing (and, when plotext is installed, drawing) the chart takes as the run goes on.

    python benchmarks/soak.py                 # 1,000,000 steps
    python benchmarks/soak.py --steps 50000   # a quick look
    python benchmarks/soak.py --json soak.json

Verdict: memory is "flat" when, after a warm-up (the first 20% of steps), resident memory grows by less
than max(8 MB, 3%) between the first and last tenth of the samples; the chart is "constant" when drawing
it draws a bounded number of points and costs at the end at most twice what it did mid-run (plus 2 ms).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SAMPLES = 2000  # moons; 80% train = 1600 rows
BATCH = 4  # 400 steps an epoch


def soak_preset(epochs: int):
    from nn_tui.core.preset import parse_preset

    return parse_preset(
        {
            "name": "soak",
            "data": {"dataset": "moons", "samples": SAMPLES, "batch_size": BATCH},
            "model": {"layers": [{"units": 8, "activation": "tanh"}]},
            "training": {"epochs": epochs, "optimizer": "adam", "lr": 0.001, "threads": 1, "device": "cpu"},
        },
        source="soak",
    )


class ChartProbe:
    """What the app does with events: bounded Series per curve; times building the chart now and then."""

    def __init__(self) -> None:
        try:
            from nn_tui.tui.series import Series, thin
        except ImportError:  # the app is not built here: measure a plain list instead, to show the difference
            Series, thin = None, None
        self.thin = thin
        self.loss = Series(1024) if Series else None
        self.steps = Series(1024) if Series else None
        self.samples: list[dict] = []
        try:
            import plotext

            self.plotext = plotext
        except ImportError:
            self.plotext = None

    def on_event(self, event) -> None:
        from nn_tui.core.training.events import EpochEnd, StepProgress

        if self.loss is None:
            return
        if isinstance(event, EpochEnd):
            self.loss.append(event.epoch, event.val_loss)
        elif isinstance(event, StepProgress):
            self.steps.append(event.global_step, event.running_loss)

    def measure(self, step: int) -> None:
        if self.loss is None:
            return
        t0 = time.perf_counter()
        xs, ys = self.thin(self.loss.xs, self.loss.ys, 240)  # about 2 points per column of a wide chart
        sx, sy = self.thin(self.steps.xs, self.steps.ys, 240)
        prepared = time.perf_counter() - t0
        drawn = None
        if self.plotext is not None and xs:
            plt = self.plotext
            t1 = time.perf_counter()
            plt.clear_figure()
            plt.plotsize(120, 20)
            plt.plot(xs, ys)
            plt.plot(sx, sy)
            plt.build()
            drawn = time.perf_counter() - t1
        self.samples.append(
            {"step": step, "points_kept": len(self.loss) + len(self.steps), "points_drawn": len(xs) + len(sx),
             "prepare_ms": prepared * 1000, "draw_ms": None if drawn is None else drawn * 1000}
        )


def rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def soak(steps: int, every: float, out_dir: Path) -> dict:
    from nn_tui.core.run.runner import Run, prepare_run

    steps_per_epoch = math.ceil(SAMPLES * 0.8 / BATCH)
    epochs = math.ceil(steps / steps_per_epoch)
    prepared = prepare_run(soak_preset(epochs), source="soak")
    chart = ChartProbe()
    run = Run(prepared, out_dir=out_dir, on_event=chart.on_event, progress_interval=0.25)
    samples: list[dict] = []
    done = threading.Event()
    t0 = time.perf_counter()

    def sample() -> None:
        next_chart = 0.0
        while not done.wait(every):
            trainer = run.trainer
            step = trainer.global_step if trainer is not None else 0
            samples.append({"t": time.perf_counter() - t0, "step": step, "rss": rss()})
            if time.perf_counter() >= next_chart:
                chart.measure(step)
                next_chart = time.perf_counter() + 5 * every

    sampler = threading.Thread(target=sample, daemon=True)
    start_rss = rss()
    sampler.start()
    finished = run.execute()
    done.set()
    sampler.join()
    gc.collect()
    wall = time.perf_counter() - t0
    rows = sum(1 for _ in open(run.run_dir.path / "metrics.csv")) - 1
    return {
        "status": finished.status,
        "steps": run.trainer.global_step,
        "epochs": finished.epochs_run,
        "wall_seconds": round(wall, 1),
        "steps_per_second": round(run.trainer.global_step / wall),
        "rss_start": start_rss,
        "rss_end": rss(),
        "samples": samples,
        "chart": chart.samples,
        "metrics_rows_on_disk": rows,
        "metrics_bytes_on_disk": (run.run_dir.path / "metrics.csv").stat().st_size,
        "checkpoint_writes": run.checkpoints.writes if run.checkpoints else 0,
        "checkpoint_seconds": round(run.checkpoints.write_seconds, 3) if run.checkpoints else 0,
        "trainer_history": {"final": len(run.trainer.final), "best": len(run.trainer.best)},
    }


def verdict(result: dict) -> dict:
    samples = [s for s in result["samples"] if s["step"] >= 0.2 * result["steps"]]
    out: dict = {}
    if len(samples) >= 10:
        tenth = max(1, len(samples) // 10)
        first = statistics.median(s["rss"] for s in samples[:tenth])
        last = statistics.median(s["rss"] for s in samples[-tenth:])
        growth = last - first
        steps = [s["step"] for s in samples]
        mems = [s["rss"] for s in samples]
        mean_s, mean_m = statistics.fmean(steps), statistics.fmean(mems)
        var = sum((x - mean_s) ** 2 for x in steps) or 1.0
        slope = sum((x - mean_s) * (m - mean_m) for x, m in zip(steps, mems)) / var
        out["memory"] = {
            "after_warmup_mb": round(first / 2**20, 1),
            "at_end_mb": round(last / 2**20, 1),
            "growth_mb": round(growth / 2**20, 2),
            "slope_kb_per_100k_steps": round(slope * 1e5 / 1024, 1),
            "peak_mb": round(max(mems) / 2**20, 1),
            "flat": growth < max(8 * 2**20, 0.03 * first),
        }
    chart = result["chart"]
    mid = [c for c in chart if 0.4 * result["steps"] <= c["step"] <= 0.6 * result["steps"]]
    end = [c for c in chart if c["step"] >= 0.9 * result["steps"]] or chart[-1:]
    if mid and end:
        key = "draw_ms" if all(c["draw_ms"] is not None for c in mid + end) else "prepare_ms"
        at_mid = statistics.median(c[key] for c in mid)
        at_end = statistics.median(c[key] for c in end)
        out["chart"] = {
            "measured": key,
            "mid_run_ms": round(at_mid, 2),
            "at_end_ms": round(at_end, 2),
            "points_drawn_mid_run": mid[len(mid) // 2]["points_drawn"],
            "points_drawn_at_end": end[-1]["points_drawn"],
            "points_kept_at_end": end[-1]["points_kept"],
            "prepare_ms_mid_run": round(statistics.median(c["prepare_ms"] for c in mid), 2),
            "prepare_ms_at_end": round(statistics.median(c["prepare_ms"] for c in end), 2),
            # Bounded: two curves of at most ~240 drawn points each, whatever the run's length.
            "constant": end[-1]["points_drawn"] <= 2 * 242 and at_end <= 2 * at_mid + 2.0,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=1_000_000, help="training steps (default 1,000,000)")
    ap.add_argument("--every", type=float, default=1.0, help="seconds between memory samples")
    ap.add_argument("--json", type=Path, help="also write the full result (all samples) here")
    ap.add_argument("--keep", action="store_true", help="keep the run folder (printed at the end)")
    args = ap.parse_args(argv)

    out_dir = Path(tempfile.mkdtemp(prefix="nn-tui-soak-"))
    try:
        result = soak(args.steps, args.every, out_dir)
    finally:
        if not args.keep:
            shutil.rmtree(out_dir, ignore_errors=True)
    result["verdict"] = verdict(result)
    result["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    summary = {k: v for k, v in result.items() if k not in ("samples", "chart")}
    print(json.dumps(summary, indent=2))
    if args.keep:
        print(f"run folder: {out_dir}")
    v = result["verdict"]
    flat = v.get("memory", {}).get("flat", False) and v.get("chart", {}).get("constant", True)
    return 0 if flat else 1


if __name__ == "__main__":
    raise SystemExit(main())
