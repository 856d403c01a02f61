"""Sweep benchmarks: 2 workers vs 1, the local engine's overhead, and the same 16 trials locally, vectorised, on Ray
and in a plain Optuna `study.optimize` loop. The worker and overhead cases measure the process pool, one trial at a
time per worker (`--vectorize off`); "vectorised" is the default (`--vectorize auto`: the grid's trials grouped).

    python benchmarks/sweep.py            # all three, about 3-5 minutes on a 2-core machine
    python benchmarks/sweep.py --json     # machine-readable results on stdout

Each sweep is the real `nn-tui sweep ... --json` command in a fresh process. "Engine time" is from the moment every
worker is ready (has imported torch; the first trial's start under Ray) to the last trial's end, read from the JSON
lines as they arrive: it leaves out starting Python and the workers and stopping them, which the "command" time
includes. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

SPIRAL = """
name = "bench_spiral"
[data]
dataset = "spiral"
samples = 1000
noise = 0.05
[[model.layers]]
units = 32
[[model.layers]]
units = 32
[training]
epochs = {epochs}
checkpoint_every = 0
[sweep]
method = "grid"
metric = "val_loss"
[sweep.params]
"training.lr" = [0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.03, 0.05]
"""
XOR_LRS = [round(0.01 * (i + 1), 2) for i in range(16)]
XOR = f"""
name = "bench_xor"
[data]
dataset = "xor"
batch_size = 0
[[model.layers]]
units = 8
activation = "tanh"
[training]
loss = "bce"
epochs = 300
checkpoint_every = 0
[sweep]
method = "grid"
metric = "val_loss"
[sweep.params]
"training.lr" = {XOR_LRS}
"""
OPTUNA_LOOP = """
import json, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
import optuna, torch
from nn_tui.core.preset import load_preset
from nn_tui.core.run.runner import train_preset
torch.set_num_threads(1)
optuna.logging.set_verbosity(optuna.logging.WARNING)
base = {path!r}
def objective(trial):
    lr = trial.suggest_categorical("training.lr", {lrs!r})
    finished, _ = train_preset(load_preset(base, [f"training.lr={{lr}}"]), out_dir={out!r})
    return finished.best["val_loss"]
ready = time.perf_counter()
study = optuna.create_study(sampler=optuna.samplers.GridSampler({{"training.lr": {lrs!r}}}, seed=0))
study.optimize(objective, n_trials={n})
print(json.dumps({{"optimize_seconds": time.perf_counter() - ready, "process_seconds": time.perf_counter() - t0,
                   "trials": len(study.trials)}}))
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def run_sweep(path: Path, out: Path, *args: str) -> dict:
    """One `nn-tui sweep --json` in a fresh process: command seconds, engine seconds, the sweep folder."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "nn_tui", "sweep", str(path), "--json", "--out", str(out), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=str(out.parent))
    first = end = None
    last = {}
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] in ("ready", "trial_start") and first is None:
            first = time.perf_counter()
        if event["event"] == "trial_end":
            end = time.perf_counter()
        if event["event"] == "end":
            last = event
    err = proc.stderr.read()
    proc.wait()
    command = time.perf_counter() - t0
    if proc.returncode != 0 or first is None or end is None or not last:
        raise RuntimeError(f"sweep failed ({proc.returncode}): {err[-2000:]}")
    return {"command_seconds": command, "engine_seconds": end - first, "sweep_dir": out.parent / last["sweep_dir"]}


def train_seconds(sweep_dir: Path, key: str = "train_seconds") -> list[float]:
    """Each trial's own training time, as its run measured it (kept in the study's journal); key="seconds": the
    whole trial (loading the data, training, writing its run folder)."""
    from nn_tui.core.sweep.study import STUDY_NAME, storage

    import optuna

    study = optuna.load_study(study_name=STUDY_NAME, storage=storage(sweep_dir))
    return [t.user_attrs["result"][key] for t in study.trials if "result" in t.user_attrs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--spiral-epochs", type=int, default=60)
    args = parser.parse_args()
    results: dict[str, dict] = {}
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spiral = tmp / "spiral.toml"
        spiral.write_text(SPIRAL.format(epochs=args.spiral_epochs))
        xor = tmp / "xor.toml"
        xor.write_text(XOR)

        log("8 spiral trials, 1 worker then 2 workers ...")
        one = run_sweep(spiral, tmp / "one", "--workers", "1", "--vectorize", "off")
        two = run_sweep(spiral, tmp / "two", "--workers", "2", "--vectorize", "off")
        results["workers"] = {
            "one_worker": {k: v for k, v in one.items() if k != "sweep_dir"},
            "two_workers": {k: v for k, v in two.items() if k != "sweep_dir"},
            "speedup_engine": one["engine_seconds"] / two["engine_seconds"],
            "speedup_command": one["command_seconds"] / two["command_seconds"],
            "mean_trial_train_seconds": sum(train_seconds(one["sweep_dir"])) / 8,
        }

        log("16 XOR trials, 2 workers (local) ...")
        local = run_sweep(xor, tmp / "local", "--workers", "2", "--vectorize", "off")
        own = train_seconds(local["sweep_dir"])
        whole = train_seconds(local["sweep_dir"], "seconds")
        results["overhead"] = {
            "engine_seconds": local["engine_seconds"], "command_seconds": local["command_seconds"],
            "sum_train_seconds": sum(own), "sum_trial_seconds": sum(whole), "trials": len(own),
            "ratio": local["engine_seconds"] / (sum(own) / 2),
            "ratio_to_whole_trials": local["engine_seconds"] / (sum(whole) / 2),
        }

        log("the same 16 XOR trials vectorised (--vectorize auto, 2 workers: a group each) ...")
        vec = run_sweep(xor, tmp / "vec", "--workers", "2")
        results["vectorized"] = {k: v for k, v in vec.items() if k != "sweep_dir"}

        if not args.skip_ray:
            log("the same 16 XOR trials on Ray (a local instance, 2 CPUs) ...")
            ray = run_sweep(xor, tmp / "ray", "--workers", "2", "--backend", "ray")
            results["ray"] = {k: v for k, v in ray.items() if k != "sweep_dir"}

        log("the same 16 XOR trials in a plain optuna study.optimize loop (one process) ...")
        base = tmp / "xor_preset.toml"
        base.write_text(XOR.split("[sweep]")[0])
        code = OPTUNA_LOOP.format(root=str(ROOT), path=str(base), lrs=XOR_LRS, out=str(tmp / "loop"), n=16)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env())
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        loop = json.loads(proc.stdout.strip().splitlines()[-1])
        loop["command_seconds"] = time.perf_counter() - t0
        results["optuna_loop"] = loop

    results["machine"] = {"cpus": os.cpu_count(), "load_average_at_start": load_at_start,
                          "load_average_at_end": os.getloadavg()}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    w, o = results["workers"], results["overhead"]
    print(f"2 workers vs 1, 8 spiral trials ({w['mean_trial_train_seconds']:.2f} s of training each): engine "
          f"{w['one_worker']['engine_seconds']:.1f} s vs {w['two_workers']['engine_seconds']:.1f} s = "
          f"{w['speedup_engine']:.2f}x; whole command {w['one_worker']['command_seconds']:.1f} s vs "
          f"{w['two_workers']['command_seconds']:.1f} s = {w['speedup_command']:.2f}x (target >= 1.7x)")
    print(f"overhead, 16 XOR trials on 2 workers: engine {o['engine_seconds']:.2f} s vs training "
          f"{o['sum_train_seconds']:.2f} s / 2 = {o['ratio']:.2f}x (target <= 1.25x); vs whole trials (data, "
          f"training, run folder) {o['sum_trial_seconds']:.2f} s / 2 = {o['ratio_to_whole_trials']:.2f}x; whole command "
          f"{o['command_seconds']:.1f} s")
    v = results["vectorized"]
    print(f"same 16 trials vectorised: engine {v['engine_seconds']:.2f} s, whole command {v['command_seconds']:.1f} s")
    if "ray" in results:
        r = results["ray"]
        print(f"same 16 trials on Ray: engine {r['engine_seconds']:.1f} s, whole command {r['command_seconds']:.1f} s")
    lp = results["optuna_loop"]
    print(f"same 16 trials in a plain optuna loop (1 process): optimize {lp['optimize_seconds']:.2f} s, whole "
          f"process {lp['command_seconds']:.1f} s")
    m = results["machine"]
    print(f"load average (1, 5, 15 min) at the start {m['load_average_at_start']}, at the end {m['load_average_at_end']}")


if __name__ == "__main__":
    main()
