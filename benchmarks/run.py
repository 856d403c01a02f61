"""nn-tui benchmarks: the tutorial PyTorch loop vs nn-tui's trainer, the app's overhead, start-up, memory.

    python benchmarks/run.py            # everything: 25-40 minutes on a 2-core machine
    python benchmarks/run.py --quick    # tiny sizes and fewer configurations: checks the suite itself runs
    python benchmarks/run.py --only mnist,tiny --pairs 5 --json > results.json

Every comparison runs baseline and nn-tui interleaved (A B A B ...), each sample in a fresh process
(benchmarks/workers.py), and reports the median of each side and the ratio of the medians; the spread of
the per-pair ratios shows how noisy the machine was. Not part of the unit tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "workers.py"
CASE_NAMES = ("mnist", "tiny", "app", "startup", "memory", "chart", "gpu", "threads")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def worker(spec: dict, timeout: float = 1800) -> dict:
    """Run one sample in a fresh interpreter and return its JSON result."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, str(WORKER), json.dumps(spec)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=str(ROOT))
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed for {spec}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def timed_command(cmd: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env, cwd=str(ROOT))
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return seconds


def nn_tui_command() -> list[str]:
    """The installed console script if there is one, else `python -m nn_tui` from this checkout."""
    exe = shutil.which("nn-tui")
    return [exe] if exe else [sys.executable, "-m", "nn_tui"]


@dataclass
class Row:
    """One line of the results table."""

    case: str
    config: str
    metric: str  # what the medians measure, e.g. "samples/s", "s"
    a_name: str = ""
    b_name: str = ""
    a: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    higher_is_better: bool = True
    target: str = ""
    met: bool | None = None
    extra: dict = field(default_factory=dict)

    @property
    def a_median(self) -> float | None:
        return statistics.median(self.a) if self.a else None

    @property
    def b_median(self) -> float | None:
        return statistics.median(self.b) if self.b else None

    @property
    def ratio(self) -> float | None:
        """How many times better B is than A (speed-up for both throughput and times)."""
        a, b = self.a_median, self.b_median
        if not a or not b:
            return None
        return b / a if self.higher_is_better else a / b

    @property
    def pair_ratios(self) -> list[float]:
        out = []
        for a, b in zip(self.a, self.b):
            if a and b:
                out.append(b / a if self.higher_is_better else a / b)
        return out

    def as_dict(self) -> dict:
        pr = self.pair_ratios
        return {
            "case": self.case,
            "config": self.config,
            "metric": self.metric,
            "a": {"name": self.a_name, "samples": self.a, "median": self.a_median},
            "b": {"name": self.b_name, "samples": self.b, "median": self.b_median},
            "ratio": self.ratio,
            "pair_ratio_min": min(pr) if pr else None,
            "pair_ratio_max": max(pr) if pr else None,
            "target": self.target,
            "met": self.met,
            **({"extra": self.extra} if self.extra else {}),
        }


class Suite:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick = args.quick
        self.pairs = args.pairs or 3
        self.rows: list[Row] = []
        self.notes: list[str] = []

    # ------------------------------------------------------------ helpers

    def ab(self, row: Row, spec_a: dict, spec_b: dict, key: str, pairs: int | None = None,
           collect: tuple[str, ...] = ()) -> Row:
        """Interleave A and B `pairs` times; keep result[key] of each, and medians of `collect` keys."""
        extra_a: dict[str, list] = {k: [] for k in collect}
        extra_b: dict[str, list] = {k: [] for k in collect}
        for i in range(pairs or self.pairs):
            ra = worker(spec_a)
            rb = worker(spec_b)
            row.a.append(ra[key])
            row.b.append(rb[key])
            for k in collect:
                if ra.get(k) is not None:
                    extra_a[k].append(ra[k])
                if rb.get(k) is not None:
                    extra_b[k].append(rb[k])
            log(f"  {row.case} {row.config}: pair {i + 1}: {row.a_name} {ra[key]:.4g}  {row.b_name} {rb[key]:.4g}")
        for k in collect:
            if extra_a[k]:
                row.extra[f"{row.a_name} {k} median"] = statistics.median(extra_a[k])
            if extra_b[k]:
                row.extra[f"{row.b_name} {k} median"] = statistics.median(extra_b[k])
        row.extra["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
        self.rows.append(row)
        return row

    # ------------------------------------------------------------ cases

    def case_mnist(self, device: str = "cpu", case: str = "mnist") -> None:
        train, test = (2_000, 500) if self.quick else (60_000, 10_000)
        thread_counts = (1,) if device != "cpu" or self.quick else (1, 2)
        for threads in thread_counts:
            for batch in (64,) if self.quick else (64, 128, 512):
                base = {"case": "mnist", "batch": batch, "threads": threads, "train": train, "test": test,
                        "device": device}
                row = Row(case, f"784-256-128-10, batch {batch}, {threads} thread{'s' * (threads > 1)}, {device}",
                          "samples/s", "tutorial", "nn-tui", target="≥ 1.3×")
                collect = ("cpu_seconds", "gpu_util") if device != "cpu" else ("cpu_seconds",)
                self.ab(row, {**base, "impl": "tutorial"}, {**base, "impl": "nn-tui"}, "samples_per_sec",
                        collect=collect)
                row.met = row.ratio is not None and row.ratio >= 1.3
                cpu_a = row.extra.get("tutorial cpu_seconds median")
                cpu_b = row.extra.get("nn-tui cpu_seconds median")
                if cpu_a and cpu_b:
                    row.extra["cpu_time_ratio"] = cpu_a / cpu_b

    def case_tiny(self, device: str = "cpu", case: str = "tiny") -> None:
        nets = {"xor": "XOR 2-4-1, full batch, 2,000 epochs", "spiral": "spiral 2-16-16-2, batch 32, 100 epochs"}
        for net, label in nets.items():
            if self.quick and net == "spiral":
                continue
            spec = {"case": "tiny", "net": net, "device": device, "threads": 1}
            if self.quick:
                spec["epochs"] = 100
            # Three-way interleave: the tutorial with its per-epoch test pass (the same work nn-tui does),
            # the tutorial without it (a lower bound for the baseline), and nn-tui.
            rows = {
                "tutorial": Row(case, f"{label}, {device}", "s", "tutorial", "nn-tui", higher_is_better=False,
                                target="≥ 1.8×"),
                "tutorial-train-only": Row(case, f"{label}, {device} (baseline without per-epoch evaluation)", "s",
                                           "tutorial, train only", "nn-tui", higher_is_better=False, target="(ref)"),
            }
            cpu: dict[str, list[float]] = {"tutorial": [], "tutorial-train-only": [], "nn-tui": []}
            for i in range(self.pairs):
                ra = worker({**spec, "impl": "tutorial"})
                rb = worker({**spec, "impl": "nn-tui"})
                ra0 = worker({**spec, "impl": "tutorial-train-only"})
                rows["tutorial"].a.append(ra["seconds"])
                rows["tutorial"].b.append(rb["seconds"])
                rows["tutorial-train-only"].a.append(ra0["seconds"])
                rows["tutorial-train-only"].b.append(rb["seconds"])
                for name, r in (("tutorial", ra), ("nn-tui", rb), ("tutorial-train-only", ra0)):
                    cpu[name].append(r["cpu_seconds"])
                log(f"  {case} {net}: round {i + 1}: tutorial {ra['seconds']:.3f}s  nn-tui {rb['seconds']:.3f}s  "
                    f"train-only {ra0['seconds']:.3f}s")
            for name, row in rows.items():
                row.extra["cpu_time_ratio"] = statistics.median(cpu[name]) / statistics.median(cpu["nn-tui"])
                row.extra["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
                self.rows.append(row)
            rows["tutorial"].met = rows["tutorial"].ratio is not None and rows["tutorial"].ratio >= 1.8

    def case_app(self) -> None:
        epochs = 10 if self.quick else 300
        pairs = 1 if self.quick else max(self.pairs, 9)
        row = Row("app", f"spiral preset 2-32-32-2, batch 32, {epochs} epochs: headless vs in the app "
                  "(alternated in one process)", "samples/s", "headless", "app", target="≥ 0.95×")
        r = worker({"case": "app_pairs", "epochs": epochs, "pairs": pairs}, timeout=3600)
        row.a, row.b = r["headless"], r["app"]
        for i, (a, b) in enumerate(zip(row.a, row.b)):
            log(f"  app: pair {i + 1}: headless {a:,.0f}/s  app {b:,.0f}/s  ({b / a:.3f})")
        pr = row.pair_ratios
        row.extra["median of the pair ratios"] = statistics.median(pr)
        row.extra["app: training thread's share of the process CPU, median"] = statistics.median(r["train_share"])
        row.extra["app: chart builds per second, median"] = statistics.median(r["chart_builds_per_sec"])
        row.extra["app: readout redraws per second, median"] = statistics.median(r["redraws_per_sec"])
        row.extra["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
        row.met = row.ratio is not None and row.ratio >= 0.95
        self.rows.append(row)

    def case_startup(self) -> None:
        cmd = nn_tui_command()
        n = 3 if self.quick else 7
        row = Row("startup", f"`{' '.join(Path(c).name for c in cmd)} --help` vs `--help` + `presets`", "s",
                  "--help", "presets", higher_is_better=False, target="--help < 0.3 s")
        for i in range(n):
            row.a.append(timed_command(cmd + ["--help"]))
            row.b.append(timed_command(cmd + ["presets"]))
        row.met = row.a_median is not None and row.a_median < 0.3
        ref = [timed_command([sys.executable, "-c", "pass"]) for _ in range(n)]
        torch_ref = [timed_command([sys.executable, "-c", "import torch"]) for _ in range(3)]
        row.extra = {"bare python start, median s": statistics.median(ref),
                     "python -c 'import torch', median s": statistics.median(torch_ref)}
        log(f"  startup: --help {row.a_median:.3f}s presets {row.b_median:.3f}s")
        self.rows.append(row)

        frame = Row("startup", "`nn-tui` (no preset) until the first frame, 120x40 pseudo-terminal", "s",
                    "first frame", "", higher_is_better=False, target="< 1.0 s")
        for i in range(n):
            r = worker({"case": "first_frame", "cmd": cmd, "marker": "Network"})
            frame.a.append(r["seconds"])
            log(f"  startup: first frame {r['seconds']:.3f}s")
        frame.met = frame.a_median is not None and frame.a_median < 1.0
        probe = worker({"case": "torch_at_first_frame"})
        frame.extra = {f"in-process (run_test): {k}": v for k, v in probe.items()}
        self.rows.append(frame)

    def case_memory(self) -> None:
        steps = 20_000 if self.quick else 1_000_000
        r = worker({"case": "memory", "steps": steps}, timeout=7200)
        row = Row("memory", f"spiral 2-16-16-2, batch 8, {r['steps']:,} steps through the core Run", "MB",
                  "RSS after warm-up", "RSS peak (sampled)", higher_is_better=False,
                  target="flat: growth after warm-up ≤ a few MB")
        row.a, row.b = [r["rss_after_warmup_mb"]], [r["rss_peak_sampled_mb"]]
        row.extra = {k: r[k] for k in ("growth_after_warmup_mb", "rss_end_mb", "ru_maxrss_mb", "seconds", "samples")}
        row.met = r["growth_after_warmup_mb"] <= 5.0
        log(f"  memory: {r}")
        self.rows.append(row)

        h = worker({"case": "app_memory", "steps": steps})
        hrow = Row("memory", f"app run history fed {steps:,} steps of events ({h['progress_points_fed']:,} progress "
                   "points)", "KB", "at 25% of steps", "at the end", higher_is_better=False,
                   target="bounded: 25%..100% within 2x")
        hrow.a, hrow.b = [h["history_kb_at_25pct"]], [h["history_kb_end"]]
        hrow.extra = {k: v for k, v in h.items() if k not in ("history_kb_at_25pct", "history_kb_end")}
        later = [h[f"history_kb_at_{p}pct"] for p in (25, 50, 75)] + [h["history_kb_end"]]
        hrow.met = max(later) <= 2 * min(later)  # Series halves at 2x capacity, so it swings within 2x
        self.rows.append(hrow)

    def case_chart(self) -> None:
        big = 10_000 if self.quick else 100_000
        row = Row("chart", f"loss chart rebuild (100x20 cells), history of 100 vs {big:,} steps", "s",
                  "100 steps", f"{big:,} steps", higher_is_better=False, target="flat")
        row.extra = {}
        ui: dict[str, list[float]] = {"small": [], "big": []}
        # 30,000 steps (300 epochs): already more points per curve than the chart draws (2 per column)
        capped: list[float] = []
        for i in range(self.pairs):
            ra = worker({"case": "chart", "impl": "app", "points": 100})
            rc = worker({"case": "chart", "impl": "app", "points": 30_000})
            rb = worker({"case": "chart", "impl": "app", "points": big})
            row.a.append(ra["seconds"])
            row.b.append(rb["seconds"])
            capped.append(rc["seconds"])
            row.extra["points_drawn_30000"] = rc["points_drawn"]
            row.extra["points_drawn_small"] = ra["points_drawn"]
            row.extra["points_drawn_big"] = rb["points_drawn"]
            for size, r in (("small", ra), ("big", rb)):
                if r.get("ui_thread_seconds") is not None:
                    ui[size].append(r["ui_thread_seconds"])
            log(f"  chart: round {i + 1}: 100 steps {ra['seconds'] * 1000:.1f} ms, 30,000 steps {rc['seconds'] * 1000:.1f} ms, "
                f"{big:,} steps {rb['seconds'] * 1000:.1f} ms")
        for size, label in (("small", "100 steps"), ("big", f"{big:,} steps")):
            if ui[size]:
                row.extra[f"UI-thread part (snapshot + thinning), {label}, s"] = statistics.median(ui[size])
        raw = worker({"case": "chart", "impl": "plotext", "points": big, "reps": 3})
        row.extra[f"plain plotext, {big:,} points unthinned, s"] = raw["seconds"]
        # Flat: once the history holds more points than the chart draws (2 per column; 100 steps hold fewer),
        # a longer history costs no more to draw.
        row.extra["30,000 steps, s"] = statistics.median(capped)
        row.met = row.b_median is not None and row.b_median <= 1.5 * statistics.median(capped)
        self.rows.append(row)

    def case_gpu(self) -> None:
        check = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                               capture_output=True, text=True)
        if check.stdout.strip() != "True":
            msg = "GPU section skipped: CUDA is not available on this machine (torch.cuda.is_available() is False)"
            log("  " + msg)
            self.notes.append(msg)
            return
        self.case_mnist(device="cuda", case="gpu")
        self.case_tiny(device="cuda", case="gpu")

    def case_threads(self) -> None:
        """nn-tui at 1 vs 2 threads, on idle cores and with one core kept busy by another process."""
        train, test = (2_000, 500) if self.quick else (10_000, 2_000)
        configs = [
            ({"case": "mnist", "batch": 64, "train": train, "test": test, "impl": "nn-tui"},
             f"MNIST-shaped batch 64, {train:,} samples"),
            ({"case": "mnist", "batch": 512, "train": train, "test": test, "impl": "nn-tui"},
             f"MNIST-shaped batch 512, {train:,} samples"),
            ({"case": "tiny", "net": "spiral", "impl": "nn-tui", **({"epochs": 5} if self.quick else {})},
             "spiral 2-16-16-2 batch 32"),
        ]
        if self.quick:
            configs = configs[2:]
        for busy in (False, True):
            hog = None
            if busy:
                hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                time.sleep(0.5)
            try:
                for spec, label in configs:
                    row = Row("threads", f"{label}, {'one core busy' if busy else 'no extra load'}", "samples/s",
                              "1 thread", "2 threads", target="(choose the default)")
                    self.ab(row, {**spec, "threads": 1}, {**spec, "threads": 2}, "samples_per_sec")
                    for side, values in (("1 thread", row.a), ("2 threads", row.b)):
                        if len(values) > 1:
                            row.extra[f"{side} spread max/min"] = max(values) / min(values)
            finally:
                if hog is not None:
                    hog.terminate()
                    hog.wait()
        # The realistic case for the app: its own UI thread is the "other load".
        epochs = 10 if self.quick else 200
        row = Row("threads", f"spiral preset trained in the app, {epochs} epochs", "samples/s", "1 thread",
                  "2 threads", target="(choose the default)")
        self.ab(row, {"case": "app", "impl": "app", "epochs": epochs, "threads": 1},
                {"case": "app", "impl": "app", "epochs": epochs, "threads": 2}, "samples_per_sec")

    # ------------------------------------------------------------ output

    def machine(self) -> dict:
        model = ""
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                               capture_output=True, text=True)
        return {
            "cpu": model or platform.processor(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "torch": probe.stdout.strip(),
            "platform": platform.platform(),
        }

    def table(self) -> str:
        lines = []
        head = f"{'case':8} {'config':78} {'A':>20} {'B':>20} {'ratio':>7} {'pairs':>13}  target"
        lines.append(head)
        lines.append("-" * len(head))
        for r in self.rows:
            def fmt(name, v):
                if v is None:
                    return ""
                if r.metric == "s":
                    s = f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"
                elif r.metric == "samples/s":
                    s = f"{v:,.0f}/s"
                else:
                    s = f"{v:,.1f} {r.metric}"
                return f"{name} {s}" if name else s
            pr = r.pair_ratios
            spread = f"{min(pr):.2f}–{max(pr):.2f}" if len(pr) > 1 else ""
            ratio = f"{r.ratio:.2f}×" if r.ratio is not None and r.b else ""
            mark = "" if r.met is None else (" ✓" if r.met else " ✗")
            lines.append(f"{r.case:8} {r.config[:78]:78} {fmt(r.a_name, r.a_median):>20} "
                         f"{fmt(r.b_name, r.b_median):>20} {ratio:>7} {spread:>13}  {r.target}{mark}")
            for k, v in r.extra.items():
                if k == "load_avg_1m_after":
                    continue
                lines.append(f"{'':8}   {k}: {v:.4g}" if isinstance(v, float) else f"{'':8}   {k}: {v}")
        for n in self.notes:
            lines.append(n)
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes: checks the suite runs, not a measurement")
    ap.add_argument("--json", action="store_true", help="print the results as one JSON object on stdout")
    ap.add_argument("--only", default="", help=f"comma-separated cases: {', '.join(CASE_NAMES)}")
    ap.add_argument("--pairs", type=int, default=0, help="A/B pairs per comparison (default 3)")
    args = ap.parse_args(argv)
    chosen = [c.strip() for c in args.only.split(",") if c.strip()] or list(CASE_NAMES)
    unknown = [c for c in chosen if c not in CASE_NAMES]
    if unknown:
        ap.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASE_NAMES)}")
    suite = Suite(args)
    t0 = time.perf_counter()
    machine = suite.machine()
    log(f"nn-tui benchmarks on {machine['cpu']} ({machine['cores']} cores), torch {machine['torch']}, "
        f"load average {os.getloadavg()[0]:.2f}{' (quick)' if args.quick else ''}")
    for name in chosen:
        log(f"== {name}")
        getattr(suite, f"case_{name}")()
    result = {
        "machine": machine,
        "quick": args.quick,
        "pairs": suite.pairs,
        "seconds": time.perf_counter() - t0,
        "rows": [r.as_dict() for r in suite.rows],
        "notes": suite.notes,
    }
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(suite.table())
        print(f"({result['seconds']:.0f} s; medians of {suite.pairs} interleaved pairs; ratio = how many times "
              f"better B is than A)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
