"""Vectorised trials: many small networks trained together (nn_tui.core.run.together) against the same networks
trained one after another through nn-tui's own trainer, a hand-written NumPy loop as the floor, how the cost grows
with the group, and the mechanism (batched matmuls vs torch.func vmap) with a profile. One torch thread.

    python benchmarks/vectorized.py                  # everything, ~4-6 minutes on a 2-core machine
    python benchmarks/vectorized.py --only xor64,scaling
    python benchmarks/vectorized.py --json

Each comparison is measured once, both sides in the same process one after the other (ratios from one run).
"With folders" is what a sweep does: every trial writes its run folder (metrics.csv row per epoch, checkpoints,
model.safetensors, summary.json). "Engine" leaves the folders out (`Run(..., out_dir=None)`) on both sides.
Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

XOR_LRS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0]
SPIRAL_LRS = [0.001, 0.003, 0.01, 0.03]


def setup() -> None:
    import torch

    torch.set_num_threads(1)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # imports torch._dynamo once, before any clock


def xor_presets(n: int, epochs: int = 2000):
    from nn_tui.core.preset import load_preset

    grid = [(s, lr) for s in range(max(8, n // len(XOR_LRS) + 1)) for lr in XOR_LRS][:n]
    return [load_preset(ROOT / "presets" / "xor.toml", [
        f"seed={s}", f"training.lr={lr}", f"training.epochs={epochs}", "expect={}",
        "model.layers=[{units=4,activation='tanh'}]"]) for s, lr in grid]


def spiral_presets(n: int = 16, epochs: int = 100):
    from nn_tui.core.preset import load_preset

    grid = [(s, lr) for s in range(4) for lr in SPIRAL_LRS][:n]
    return [load_preset(ROOT / "presets" / "spiral.toml", [
        f"seed={s}", f"training.lr={lr}", f"training.epochs={epochs}", "expect={}", "data.samples=1000",
        "data.batch_size=32", "model.layers=[{units=16,activation='relu'},{units=16,activation='relu'}]"])
        for s, lr in grid]


def one_after_another(prepared, out) -> float:
    from nn_tui.core.run.runner import Run

    t0 = time.perf_counter()
    for p in prepared:
        Run(p, out_dir=out).execute()
    return time.perf_counter() - t0


def together(prepared, out) -> float:
    from nn_tui.core.run.runner import Run
    from nn_tui.core.run.together import execute_together

    t0 = time.perf_counter()
    results = execute_together([Run(p, out_dir=out) for p in prepared])
    took = time.perf_counter() - t0
    assert all(r.status in ("completed", "early_stopped", "diverged") for r in results), [r.message for r in results]
    return took


def compare(name: str, presets) -> dict:
    from nn_tui.core.run.runner import prepare_run

    prepared = [prepare_run(p) for p in presets]
    out = Path(tempfile.mkdtemp(prefix="nn-tui-bench-"))
    row = {"case": name, "trials": len(prepared)}
    for label, folder in (("folders", out), ("engine", None)):
        alone = one_after_another(prepared, folder and out / "alone")
        grouped = together(prepared, folder and out / "together")
        row[label] = {"one_after_another_s": round(alone, 3), "together_s": round(grouped, 3),
                      "speedup": round(alone / grouped, 2)}
    return row


def numpy_floor(epochs: int = 2000, repeats: int = 3) -> dict:
    """A hand-written 2-4-1 tanh network with BCE on a sigmoid, manual gradients and Adam, full batch on XOR."""
    import numpy as np

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    best = float("inf")
    for r in range(repeats):
        rng = np.random.default_rng(r)
        params = [rng.uniform(-0.7, 0.7, (2, 4)).astype(np.float32), np.zeros(4, np.float32),
                  rng.uniform(-0.5, 0.5, (4, 1)).astype(np.float32), np.zeros(1, np.float32)]
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
        t0 = time.perf_counter()
        for t in range(1, epochs + 1):
            W1, b1_, W2, b2_ = params
            h = np.tanh(X @ W1 + b1_)
            z = h @ W2 + b2_
            p = 1 / (1 + np.exp(-z))
            loss = float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
            dz = (p - y) / len(X)
            dh = (dz @ W2.T) * (1 - h * h)
            grads = [X.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)]
            for k, g in enumerate(grads):
                m[k] = b1 * m[k] + (1 - b1) * g
                v[k] = b2 * v[k] + (1 - b2) * g * g
                params[k] = params[k] - lr / (1 - b1**t) * m[k] / (np.sqrt(v[k] / (1 - b2**t)) + eps)
        best = min(best, time.perf_counter() - t0)
    assert loss < 0.7
    return {"case": "numpy_floor", "epochs": epochs, "seconds": round(best, 4),
            "us_per_network_epoch": round(best / epochs * 1e6, 2)}


def scaling_one(n: int) -> dict:
    """In a fresh process (see main): a group of n XOR trials, 2000 epochs, engine only; wall time and how far the
    process's resident memory rose above where it stood before the group was built (sampled every 2 ms)."""
    import threading

    import psutil

    from nn_tui.core.run.runner import prepare_run

    setup()
    prepared = [prepare_run(p) for p in xor_presets(n)]
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    peak = [rss0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.002):
            peak[0] = max(peak[0], proc.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    took = together(prepared, None)
    done.set()
    sampler.join()
    peak[0] = max(peak[0], proc.memory_info().rss)
    return {"trials": n, "seconds": round(took, 3), "us_per_network_epoch": round(took / n / 2000 * 1e6, 2),
            "rss_before_mb": round(rss0 / 2**20, 1), "peak_rss_growth_mb": round((peak[0] - rss0) / 2**20, 2)}


def scaling(sizes=(1, 4, 16, 64, 256)) -> dict:
    rows = []
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for n in sizes:
        done = subprocess.run([sys.executable, "-W", "ignore", __file__, "--scaling-one", str(n)],
                              capture_output=True, text=True, env=env, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {"case": "scaling", "rows": rows}


def mechanism(n: int = 64, epochs: int = 500) -> dict:
    """The training step alone, 64 XOR nets, full batch, Adam: batched matmuls over stacked weights (what nn-tui
    uses) against torch.func.vmap over functional_call with grad_and_value and one foreach Adam step."""
    import copy

    import torch
    from torch.func import functional_call, grad_and_value, stack_module_state, vmap

    from nn_tui.core.model.build import build_model
    from nn_tui.core.preset import LayerSpec

    X = torch.tensor([[0.0, 0], [0, 1], [1, 0], [1, 1]])
    y = torch.tensor([[0.0], [1], [1], [0]])
    models = []
    for s in range(n):
        torch.manual_seed(s)
        models.append(build_model(2, [LayerSpec(units=4, activation="tanh")], 1))
    lrs = torch.tensor([XOR_LRS[i % len(XOR_LRS)] for i in range(n)])
    loss_fn = torch.nn.BCEWithLogitsLoss()

    # vmap: the PyTorch model-ensembling recipe.
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")

    def one(p, b, x, t):
        return loss_fn(functional_call(base, (p, b), (x,)), t)

    step = vmap(grad_and_value(one), in_dims=(0, 0, None, None))
    keys = list(params)
    plist = [params[k].detach() for k in keys]
    m = [torch.zeros_like(p) for p in plist]
    v = [torch.zeros_like(p) for p in plist]
    shaped = [lrs.view(-1, *([1] * (p.dim() - 1))) for p in plist]

    def vmap_epochs() -> float:
        t0 = time.perf_counter()
        for t in range(1, epochs + 1):
            grads, _ = step(dict(zip(keys, plist)), buffers, X, y)
            g = [grads[k] for k in keys]
            torch._foreach_lerp_(m, g, 0.1)
            torch._foreach_mul_(v, 0.999)
            torch._foreach_addcmul_(v, g, g, 0.001)
            denom = torch._foreach_add(torch._foreach_div(torch._foreach_sqrt(v), (1 - 0.999**t) ** 0.5), 1e-8)
            upd = torch._foreach_div(torch._foreach_mul(m, shaped), denom)
            torch._foreach_sub_(plist, torch._foreach_div(upd, 1 - 0.9**t))
        return time.perf_counter() - t0

    # Batched matmuls: nn-tui's BatchedTrainer, its step only (forward, loss, one backward, the fused step).
    from nn_tui.core.training import batched as B  # noqa: F401 - imported before the clock

    W1 = torch.stack([mdl[0].weight.detach() for mdl in models]).requires_grad_()
    b1 = torch.stack([mdl[0].bias.detach() for mdl in models]).requires_grad_()
    W2 = torch.stack([mdl[2].weight.detach() for mdl in models]).requires_grad_()
    b2 = torch.stack([mdl[2].bias.detach() for mdl in models]).requires_grad_()
    ps = [W1, b1, W2, b2]
    mb = [torch.zeros_like(p) for p in ps]
    vb = [torch.zeros_like(p) for p in ps]
    Xe, ye = X.expand(n, 4, 2), y.expand(n, 4, 1)

    def bmm_step(t):
        h = torch.tanh(torch.baddbmm(b1.unsqueeze(1), Xe, W1.transpose(1, 2)))
        out = torch.baddbmm(b2.unsqueeze(1), h, W2.transpose(1, 2))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(out, ye, reduction="none").flatten(1).mean(1)
        grads = torch.autograd.grad(loss.sum(), ps)
        with torch.no_grad():
            for p, g, mm, vv, s in zip(ps, grads, mb, vb, [lrs.view(-1, 1, 1), lrs.view(-1, 1)] * 2):
                mm.lerp_(g, 0.1)
                vv.mul_(0.999).addcmul_(g, g, value=0.001)
                p.sub_(s / (1 - 0.9**t) * mm / ((vv.sqrt() / (1 - 0.999**t) ** 0.5).add_(1e-8)))

    def bmm_epochs() -> float:
        t0 = time.perf_counter()
        for t in range(1, epochs + 1):
            bmm_step(t)
        return time.perf_counter() - t0

    vmap_epochs(), bmm_epochs()  # warm up both
    tv, tb = min(vmap_epochs() for _ in range(3)), min(bmm_epochs() for _ in range(3))
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for t in range(1, 101):
            bmm_step(t)
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12)
    return {"case": "mechanism", "trials": n, "epochs": epochs,
            "vmap_us_per_step": round(tv / epochs * 1e6, 1), "bmm_us_per_step": round(tb / epochs * 1e6, 1),
            "vmap_over_bmm": round(tv / tb, 2), "profile_bmm_100_steps": table}


def backward_cases(repeats: int = 3) -> dict:
    """The group's own step with its hand-written backward (nn_tui.core.training.backprop) against the same group
    with autograd (backprop.supports switched off), no run folders, alternated, best of `repeats` each."""
    from nn_tui.core.run.runner import prepare_run
    from nn_tui.core.training import backprop

    rows = []
    real = backprop.supports
    for name, presets in (("xor64", xor_presets(64)), ("spiral16", spiral_presets(16))):
        prepared = [prepare_run(p) for p in presets]
        together(prepared, None)  # warm-up
        hand, auto = [], []
        for _ in range(repeats):
            hand.append(together(prepared, None))
            backprop.supports = lambda *a: False
            try:
                auto.append(together(prepared, None))
            finally:
                backprop.supports = real
        rows.append({"case": name, "hand_written_s": round(min(hand), 3), "autograd_s": round(min(auto), 3),
                     "autograd_over_hand_written": round(min(auto) / min(hand), 2)})
    return {"case": "backward", "rows": rows}


CASES = {
    "mechanism": mechanism,
    "backward": backward_cases,
    "xor64": lambda: compare("xor64 (2-4-1 tanh, full batch, 2000 epochs, 8 seeds x 8 lrs)", xor_presets(64)),
    "spiral16": lambda: compare("spiral16 (2-16-16-2, 1000 points, batch 32, 100 epochs)", spiral_presets(16)),
    "numpy": numpy_floor,
    "scaling": scaling,
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=",".join(CASES))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--scaling-one", type=int)
    args = ap.parse_args()
    if args.scaling_one is not None:
        print(json.dumps(scaling_one(args.scaling_one)))
        return
    setup()
    load = os.getloadavg()[0]
    results = []
    for name in args.only.split(","):
        result = CASES[name]()
        results.append(result)
        if not args.json:
            shown = {k: v for k, v in result.items() if k != "profile_bmm_100_steps"}
            print(json.dumps(shown, indent=1))
            if "profile_bmm_100_steps" in result:
                print(result["profile_bmm_100_steps"])
            sys.stdout.flush()
    summary = {"load_average_start": load, "load_average_end": os.getloadavg()[0], "results": results}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"load average: {summary['load_average_start']:.2f} at start, {summary['load_average_end']:.2f} at end")


if __name__ == "__main__":
    main()
