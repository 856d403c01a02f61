"""One benchmark sample per process: `python benchmarks/workers.py '<json spec>'` prints one JSON line.

The driver (benchmarks/run.py) starts a fresh process for every sample so thread settings, imports and
allocator state never leak from one sample into the next. Imports, data generation and the first Adam
construction (which imports torch._dynamo, ~1 s) happen before the clock starts, on both sides alike;
start-up has its own case.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# ---------------------------------------------------------------- shared set-up


def set_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


def warm_up(nn_tui: bool) -> None:
    """Import what both loops import lazily, so neither pays it inside the timed region."""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset  # noqa: F401

    p = nn.Parameter(torch.zeros(2))
    opt = torch.optim.Adam([p])
    p.grad = torch.zeros(2)
    opt.step()  # first step imports torch._dynamo and friends
    if nn_tui:
        import safetensors.torch  # noqa: F401

        import nn_tui.core.run.checkpoint  # noqa: F401
        import nn_tui.core.inspection.evaluate  # noqa: F401
        import nn_tui.core.run.runner  # noqa: F401
        import nn_tui.core.training.trainer  # noqa: F401


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


class GpuSampler:
    """Mean GPU utilisation (NVML) over the timed region, sampled every 50 ms on a thread."""

    def __init__(self, device: str) -> None:
        self.values: list[float] = []
        self._stop = threading.Event()
        self._thread = None
        if not device.startswith("cuda"):
            return
        try:
            import pynvml

            pynvml.nvmlInit()
            index = int(device.split(":", 1)[1]) if ":" in device else 0
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        except Exception:  # noqa: BLE001 - no NVML: no utilisation figure
            return

        def loop() -> None:
            while not self._stop.wait(0.05):
                try:
                    self.values.append(float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu))
                except Exception:  # noqa: BLE001
                    return

        self._thread = threading.Thread(target=loop, daemon=True)

    def __enter__(self) -> GpuSampler:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def mean(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None


# ---------------------------------------------------------------- data and models


def mnist_like(train: int, test: int, seed: int = 0):
    """MNIST-shaped synthetic data: 784 features in [0, 1), 10 classes from a fixed random linear teacher."""
    import torch

    g = torch.Generator().manual_seed(seed)
    X = torch.rand(train + test, 784, generator=g)
    teacher = torch.randn(784, 10, generator=g)
    y = ((X - 0.5) @ teacher).argmax(1)
    return X[:train].contiguous(), y[:train].contiguous(), X[train:].contiguous(), y[train:].contiguous()


def tiny_spec(net: str) -> dict:
    """The tiny nets as nn-tui presets (TOML-shaped dicts)."""
    if net == "xor":  # 2-4-1, tanh, BCE on logits, full batch (4 rows), 2,000 epochs
        return {
            "name": "bench-xor",
            "data": {"dataset": "xor", "batch_size": 0},
            "model": {"layers": [{"units": 4, "activation": "tanh"}]},
            "training": {"loss": "bce", "optimizer": "adam", "lr": 0.1, "epochs": 2000, "device": "cpu"},
        }
    if net == "spiral":  # 1,000 points (800 train / 200 validation), 2-16-16-2 ReLU, batch 32, 100 epochs
        return {
            "name": "bench-spiral",
            "data": {"dataset": "spiral", "samples": 1000, "noise": 0.05, "arms": 2, "batch_size": 32},
            "model": {"layers": [{"units": 16, "activation": "relu"}, {"units": 16, "activation": "relu"}]},
            "training": {"loss": "cross_entropy", "optimizer": "adam", "lr": 0.01, "epochs": 100, "device": "cpu"},
        }
    raise ValueError(net)


def tutorial_model(n_in: int, hidden: list[tuple[int, str]], n_out: int):
    from torch import nn

    acts = {"relu": nn.ReLU, "tanh": nn.Tanh}
    layers, prev = [], n_in
    for units, act in hidden:
        layers += [nn.Linear(prev, units), acts[act]()]
        prev = units
    layers.append(nn.Linear(prev, n_out))
    return nn.Sequential(*layers)


def tutorial_loop(model, loss_fn, optimizer, train_loader, test_loader, epochs: int, device: str, *, bce: bool,
                  evaluate: bool = True) -> dict:
    """The loop every tutorial teaches (PyTorch's quickstart train() + test()): DataLoader batches moved to
    the device, zero_grad / backward / step, loss.item() every step, then a no_grad pass over the test
    loader with .item() per batch."""
    import torch

    steps = 0
    for _ in range(epochs):
        model.train()
        running = 0.0
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running += loss.item()
            steps += 1
        if evaluate:
            model.eval()
            test_loss, correct, size = 0.0, 0.0, 0
            with torch.no_grad():
                for xb, yb in test_loader:
                    xb, yb = xb.to(device), yb.to(device)
                    out = model(xb)
                    test_loss += loss_fn(out, yb).item()
                    pred = (out > 0).float() if bce else out.argmax(1)
                    correct += (pred == yb).type(torch.float).sum().item()
                    size += len(xb)
    return {"steps": steps, "last_loss": running}


def nntui_run(preset, data, device: str, threads: int, n_out: int, out_dir: str) -> dict:
    """What `nn-tui run` does after loading: the core Run, writing its run folder (metrics.csv each epoch,
    checkpoints, weights, summary.json)."""
    from nn_tui.core.model.build import summarize
    from nn_tui.core.run.runner import PreparedRun, Run

    prepared = PreparedRun(preset, data, device, threads, n_out, summarize(data.n_features, preset.layers, n_out,
                                                                         preset.training.loss))
    finished = Run(prepared, out_dir=out_dir).execute()
    if finished.status != "completed":
        raise RuntimeError(f"nn-tui run ended {finished.status}: {finished.message}")
    return {"train_seconds": finished.seconds, "final": finished.final}


# ---------------------------------------------------------------- case 1 and 6: MNIST-shaped


def case_mnist(spec: dict) -> dict:
    import torch

    impl, batch, threads = spec["impl"], spec["batch"], spec["threads"]
    device = spec.get("device", "cpu")
    set_threads(threads)
    train, test, epochs = spec["train"], spec["test"], spec.get("epochs", 1)
    Xtr, ytr, Xte, yte = mnist_like(train, test)
    warm_up(impl == "nn-tui")
    if device.startswith("cuda"):
        torch.zeros(1, device=device)  # create the CUDA context outside the clock
        sync(device)
    if impl == "tutorial":
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        with GpuSampler(device) as gpu:
            torch.manual_seed(0)
            model = tutorial_model(784, [(256, "relu"), (128, "relu")], 10).to(device)
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
            train_loader = DataLoader(TensorDataset(Xtr, ytr), batch_size=batch, shuffle=True)
            test_loader = DataLoader(TensorDataset(Xte, yte), batch_size=batch)
            tutorial_loop(model, nn.CrossEntropyLoss(), optimizer, train_loader, test_loader, epochs, device,
                          bce=False)
            sync(device)
        seconds = time.perf_counter() - t0
        extra = {}
    else:
        from nn_tui.core.datasets import Dataset
        from nn_tui.core.preset import DataSpec, LayerSpec, Preset, TrainingSpec

        data = Dataset("mnist_like", "classification", Xtr.numpy(), ytr.numpy(), Xte.numpy(), yte.numpy(),
                       [f"pixel{i}" for i in range(784)], [str(i) for i in range(10)], source="synthetic")
        preset = Preset(
            name="bench-mnist",
            data=DataSpec("blobs", batch_size=batch),  # dataset name only labels the run folder here
            layers=[LayerSpec(256, "relu"), LayerSpec(128, "relu")],
            training=TrainingSpec(loss="cross_entropy", optimizer="adam", lr=1e-3, epochs=epochs, device=device,
                                  threads=threads),
        )
        with tempfile.TemporaryDirectory() as out:
            sync(device)
            t0, c0 = time.perf_counter(), time.process_time()
            with GpuSampler(device) as gpu:
                extra = nntui_run(preset, data, device, threads, 10, out)
                sync(device)
            seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "cpu_seconds": time.process_time() - c0,
        "samples_per_sec": train * epochs / seconds,
        "gpu_util": gpu.mean,
        "torch_threads": torch.get_num_threads(),
        **({"train_seconds": extra["train_seconds"]} if extra else {}),
    }


# ---------------------------------------------------------------- case 2: tiny nets


def case_tiny(spec: dict) -> dict:
    import torch

    impl, net = spec["impl"], spec["net"]
    device = spec.get("device", "cpu")
    threads = spec.get("threads", 1)
    set_threads(threads)
    from nn_tui.core.preset import parse_preset
    from nn_tui.core.run.runner import prepare_run

    raw = tiny_spec(net)
    raw["training"]["device"] = device
    raw["training"]["threads"] = threads
    if spec.get("epochs"):
        raw["training"]["epochs"] = spec["epochs"]
    prepared = prepare_run(parse_preset(raw, source="benchmark"))  # loads the dataset, outside the clock
    preset, data = prepared.preset, prepared.data
    epochs, bs = preset.training.epochs, preset.data.batch_size
    warm_up(impl == "nn-tui")
    if device.startswith("cuda"):
        torch.zeros(1, device=device)
        sync(device)
    if impl.startswith("tutorial"):
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        bce = preset.training.loss == "bce"
        X, y = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
        Xv, yv = torch.from_numpy(data.X_test), torch.from_numpy(data.y_test)
        if bce:
            y, yv = y.float().unsqueeze(1), yv.float().unsqueeze(1)
        hidden = [(layer.units, layer.activation) for layer in preset.layers]
        sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        with GpuSampler(device) as gpu:
            torch.manual_seed(0)
            model = tutorial_model(data.n_features, hidden, prepared.n_out).to(device)
            optimizer = torch.optim.Adam(model.parameters(), lr=preset.training.lr)
            loss_fn = nn.BCEWithLogitsLoss() if bce else nn.CrossEntropyLoss()
            train_loader = DataLoader(TensorDataset(X, y), batch_size=bs or len(X), shuffle=True)
            test_loader = DataLoader(TensorDataset(Xv, yv), batch_size=bs or len(Xv))
            tutorial_loop(model, loss_fn, optimizer, train_loader, test_loader, epochs, device, bce=bce,
                          evaluate=impl == "tutorial")
            sync(device)
        seconds = time.perf_counter() - t0
    else:
        with tempfile.TemporaryDirectory() as out:
            sync(device)
            t0, c0 = time.perf_counter(), time.process_time()
            with GpuSampler(device) as gpu:
                nntui_run(preset, data, device, threads, prepared.n_out, out)
                sync(device)
            seconds = time.perf_counter() - t0
    steps_per_epoch = 1 if not bs else -(-len(data.X_train) // bs)
    return {
        "seconds": seconds,
        "cpu_seconds": time.process_time() - c0,
        "samples_per_sec": len(data.X_train) * epochs / seconds,
        "steps": steps_per_epoch * epochs,
        "gpu_util": gpu.mean,
    }


# ---------------------------------------------------------------- case 3: app overhead


def app_preset(epochs: int, threads: int = 0):
    from nn_tui.core.preset import load_preset, resolve_preset_path

    return load_preset(resolve_preset_path("spiral"), [f"training.epochs={epochs}", 'training.device="cpu"',
                                                        f"training.threads={threads}"])


async def wait_for_run(view) -> None:
    """Until the app's run has finished, without polling: a harness that woke the UI thread 20 times a
    second would itself take the GIL from the training thread it is measuring."""
    import asyncio

    worker = view.controller.worker  # the run belongs to the view's RunController
    if worker is not None:
        await worker.wait()
    while view.history is None or view.history.finished is None or view.active:
        await asyncio.sleep(0.05)


SPIRAL_TRAIN_ROWS = 800  # the spiral preset's training rows


def process_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def headless_sps(preset) -> float:
    """Samples/s of the core Run on this thread, as `nn-tui run` trains, by the trainer's own clock."""
    from nn_tui.core.run.runner import Run, prepare_run

    with tempfile.TemporaryDirectory() as out:
        finished = Run(prepare_run(preset), out_dir=out).execute()
    return SPIRAL_TRAIN_ROWS * preset.training.epochs / finished.seconds


def app_run(preset) -> dict:
    """The same run in the app (Textual headless via run_test, 120x40, the real worker thread), started as
    the t key starts it. Samples/s by the trainer's clock; the training thread's share of the process CPU
    while that clock ran (the rest: UI thread, chart builds, device sampling); chart builds and readout
    redraws per second."""
    import asyncio

    from nn_tui.core.training.events import RunFinished, RunStarted
    from nn_tui.tui.app import NNTuiApp
    from nn_tui.tui.training.trainers import train_with_torch
    from nn_tui.tui.widgets.loss_chart import LossChart
    from nn_tui.tui.widgets.metric_chart import MetricChart
    from nn_tui.tui.widgets.train_view import TrainView

    cpu: dict[str, float] = {}

    def trainer(preset, *, on_event, **kwargs):
        def event(e) -> None:  # on the training thread: its CPU clock, from the trainer's clock start to end
            if isinstance(e, RunStarted):
                cpu["p0"], cpu["t0"] = process_cpu(), time.thread_time()
            elif isinstance(e, RunFinished):
                cpu["train"], cpu["process"] = time.thread_time() - cpu["t0"], process_cpu() - cpu["p0"]
            on_event(e)

        return train_with_torch(preset, on_event=event, **kwargs)

    async def drive(out: str):
        app = NNTuiApp(preset=preset, runs_dir=out, warm_torch=False, trainer=trainer)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            app.screen.action_train()  # what the t key does (pilot.press would poll for idleness at 50 Hz)
            view = app.screen.query_one(TrainView)
            await wait_for_run(view)
            builds = app.screen.query_one(LossChart).builds + app.screen.query_one(MetricChart).builds
            return view.history.finished, builds, view.redraws

    with tempfile.TemporaryDirectory() as out:
        finished, builds, redraws = asyncio.run(drive(out))
    if finished.status != "completed":
        raise RuntimeError(f"run ended {finished.status}: {finished.message}")
    return {"sps": SPIRAL_TRAIN_ROWS * preset.training.epochs / finished.seconds,
            "train_share": cpu["train"] / cpu["process"],
            "chart_builds_per_sec": builds / finished.seconds, "redraws_per_sec": redraws / finished.seconds}


def case_app(spec: dict) -> dict:
    """The bundled spiral preset (2-32-32-2, batch 32, 800 training rows) trained headless or by the app,
    one run per process (the threads case compares the app at 1 and 2 threads this way)."""
    preset = app_preset(spec["epochs"], spec.get("threads", 0))  # 0: nn-tui's default, as a user gets it
    warm_up(True)
    import nn_tui.tui.app  # noqa: F401 - both sides import the same things, outside the clock

    if spec["impl"] == "headless":
        return {"samples_per_sec": headless_sps(preset)}
    r = app_run(preset)
    return {"samples_per_sec": r["sps"], "chart_builds_per_sec": r["chart_builds_per_sec"]}


def case_app_pairs(spec: dict) -> dict:
    """Headless and in-app runs of the spiral preset alternated in ONE process (after one warm-up run of
    each), the order flipping every pair: this machine's speed drifts by up to +-20% over tens of seconds,
    so two runs next to each other in one process compare best."""
    preset = app_preset(spec["epochs"], spec.get("threads", 0))
    warm_up(True)
    app_run(preset)  # warm-up: the first app in a process pays one-off costs (styles, imports)
    headless_sps(preset)
    a: list[float] = []
    b: list[dict] = []
    for i in range(spec["pairs"]):
        if i % 2 == 0:
            a.append(headless_sps(preset))
            b.append(app_run(preset))
        else:
            b.append(app_run(preset))
            a.append(headless_sps(preset))
        print(f"pair {i + 1}: headless {a[-1]:.0f}  app {b[-1]['sps']:.0f}", file=sys.stderr, flush=True)
    return {"headless": a, "app": [r["sps"] for r in b],
            **{k: [r[k] for r in b] for k in ("train_share", "chart_builds_per_sec", "redraws_per_sec")}}


# ---------------------------------------------------------------- case 4: first frame


def case_first_frame(spec: dict) -> dict:
    """Time from process start (the driver's clock, passed in) until the app has mounted its main screen
    and rendered it once, in a real pseudo-terminal; and whether torch was imported by then."""
    import pty
    import select
    import subprocess

    master, slave = pty.openpty()
    try:
        import fcntl
        import struct
        import termios

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    except Exception:  # noqa: BLE001
        pass
    env = dict(os.environ, TERM="xterm-256color", PYTHONPATH=str(ROOT), COLUMNS="120", LINES="40")
    env.pop("TEXTUAL", None)
    cmd = spec["cmd"]
    marker = spec.get("marker", "Network").encode()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=spec.get("cwd", str(ROOT)),
                            close_fds=True)
    os.close(slave)
    buf = b""
    seen_at = None
    deadline = t0 + 30
    while time.perf_counter() < deadline:
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            if seen_at is None and marker in buf:
                seen_at = time.perf_counter() - t0
                break
    # quit politely (ctrl+q), then make sure
    try:
        os.write(master, b"\x11")
    except OSError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    os.close(master)
    if seen_at is None:
        raise RuntimeError(f"no first frame within 30 s (marker {marker!r} not seen; {len(buf)} bytes read)")
    return {"seconds": seen_at}


def case_torch_at_first_frame(spec: dict) -> dict:
    """In-process, headless: where the time to the first frame goes (imports, then mount to first refresh),
    and whether torch is already imported when the main screen is first drawn (it should come later)."""
    import asyncio

    t0 = time.perf_counter()
    from nn_tui.tui.app import NNTuiApp

    result = {"import_app_seconds": time.perf_counter() - t0}

    class Probe(NNTuiApp):
        CSS_PATH = str(Path(sys.modules[NNTuiApp.__module__].__file__).parent / NNTuiApp.CSS_PATH)

        def on_mount(self) -> None:
            super().on_mount()
            self.call_after_refresh(self._first_refresh)

        def _first_refresh(self) -> None:
            result.setdefault("to_first_refresh_seconds", time.perf_counter() - t0)
            result.setdefault("torch_imported_at_first_frame", "torch" in sys.modules)

    async def drive():
        app = Probe(preset=None, warm_torch=True)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await asyncio.sleep(2.0)
            result["torch_imported_2s_later"] = "torch" in sys.modules

    asyncio.run(drive())
    return result


# ---------------------------------------------------------------- case 5: memory and chart cost


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def case_memory(spec: dict) -> dict:
    """RSS of a long tiny run through the core Run (run folder written as usual), sampled four times a
    second from the event callback: after warm-up (10% of the steps), the peak, and the end."""
    import resource

    from nn_tui.core.preset import parse_preset
    from nn_tui.core.run.runner import Run, prepare_run

    set_threads(1)
    steps_wanted = spec["steps"]
    # 2-16-16-2 ReLU on 1,000 spiral points, batch 8: 100 steps per epoch.
    raw = tiny_spec("spiral")
    raw["data"]["batch_size"] = 8
    raw["training"]["epochs"] = max(1, steps_wanted // 100)
    prepared = prepare_run(parse_preset(raw, source="benchmark"))
    warm_up(True)
    samples: list[tuple[int, float]] = []
    next_sample = [0.0]

    def on_event(e) -> None:  # RSS four times a second (epochs here are shorter than the progress interval)
        now = time.perf_counter()
        step = getattr(e, "global_step", None)
        if step is not None and now >= next_sample[0]:
            next_sample[0] = now + 0.25
            samples.append((step, rss_mb()))

    with tempfile.TemporaryDirectory() as out:
        run = Run(prepared, out_dir=out, on_event=on_event, progress_interval=0.5)
        t0 = time.perf_counter()
        finished = run.execute()
        seconds = time.perf_counter() - t0
        steps = run.trainer.global_step
    end = rss_mb()
    warm = [m for s, m in samples if s >= steps * 0.1]
    after_warmup = warm[0] if warm else end
    return {
        "seconds": seconds,
        "steps": steps,
        "status": finished.status,
        "rss_after_warmup_mb": after_warmup,
        "rss_peak_sampled_mb": max([m for _, m in samples] + [end]),
        "rss_end_mb": end,
        "growth_after_warmup_mb": max([m for _, m in samples if m] + [end]) - after_warmup,
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "samples": len(samples),
    }


def case_app_memory(spec: dict) -> dict:
    """The app's run history fed the events of a 1,000,000-step run (a progress point every 10 steps, an
    epoch end every 1,000): its memory stays bounded because Series halves its resolution."""
    import tracemalloc

    from nn_tui.core.training.events import EpochEnd, StepProgress
    from nn_tui.tui.training.history import RunHistory

    steps, per_epoch, every = spec["steps"], 1000, 10
    h = RunHistory(epochs_total=steps // per_epoch)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    marks: dict[int, float] = {}
    for s in range(every, steps + 1, every):
        epoch = (s - 1) // per_epoch + 1
        events = [StepProgress(epoch, (s - 1) % per_epoch + 1, per_epoch, s, 1.0 / s ** 0.5, 1e4)]
        if s % per_epoch == 0:
            events.append(EpochEnd(epoch, steps // per_epoch, 1.0 / s ** 0.5, 1.1 / s ** 0.5, "val_accuracy",
                                   0.9, 0.01, 1e4, float(s), s))
        h.apply(events)
        for pct in (10, 25, 50, 75):
            if pct not in marks and s >= steps * pct // 100:
                marks[pct] = (tracemalloc.get_traced_memory()[0] - base) / 1024
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        **{f"history_kb_at_{pct}pct": kb for pct, kb in marks.items()},
        "history_kb_end": (current - base) / 1024,
        "history_kb_peak": (peak - base) / 1024,
        "progress_points_fed": steps // every,
        "running_points": len(h.running_loss),
    }


def case_chart(spec: dict) -> dict:
    """Cost of one loss-chart redraw in the app (LossChart: the UI thread's thinned snapshot, then the plotext
    build and line rendering its worker does) at 100x20 cells with a history of N steps, and, as a
    reference, plain plotext on N points without thinning."""
    import asyncio

    from nn_tui.core.training.events import EpochEnd, StepProgress
    from nn_tui.tui.training.history import RunHistory

    n = spec["points"]
    reps = spec.get("reps", 5)
    width, height = 100, 20
    per_epoch = 100
    h = RunHistory(epochs_total=max(1, n // per_epoch))
    events = []
    for s in range(1, n + 1):
        epoch = (s - 1) // per_epoch + 1
        events.append(StepProgress(epoch, (s - 1) % per_epoch + 1, per_epoch, s, 1.0 / s ** 0.5, 1e4))
        if s % per_epoch == 0:
            events.append(EpochEnd(epoch, h.epochs_total, 1.0 / s ** 0.5, 1.1 / s ** 0.5, "val_accuracy", 0.9,
                                   0.01, 1e4, float(s), s))
    h.apply(events)
    out: dict = {"steps": n}

    if spec["impl"] == "app":
        from textual.app import App

        from nn_tui.tui.widgets.loss_chart import LossChart

        class ChartApp(App):
            def compose(self):
                yield LossChart(id="c")

        async def drive():
            app = ChartApp()
            async with app.run_test(size=(width, height)) as pilot:
                chart = app.query_one(LossChart)
                chart.show(h)
                await pilot.pause()
                times, ui_times = [], []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    if hasattr(chart, "snapshot"):  # the UI thread thins a snapshot; a worker runs plotext
                        data = chart.snapshot(width, height)
                        t1 = time.perf_counter()
                        colors = {"canvas": chart.color("surface", "black"),
                                  "ticks": chart.color("foreground-muted", "grey")}
                        chart._build(("bench", time.perf_counter()), width, height, data, colors)
                    else:
                        chart._build(width, height)
                        t1 = time.perf_counter()
                    times.append(time.perf_counter() - t0)
                    ui_times.append(t1 - t0)
                ui_times.sort()
                out["ui_thread_seconds"] = ui_times[len(ui_times) // 2]
                return times, chart.points_drawn

        times, drawn = asyncio.run(drive())
        out["points_drawn"] = drawn
    else:  # plotext with every point, the cost thinning avoids
        import plotext

        xs, ys = h.running_loss.xs, h.running_loss.ys
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            plotext.clear_figure()
            plotext.plotsize(width, height)
            plotext.plot(list(range(n)), [1.0 / (i + 1) ** 0.5 for i in range(n)])
            plotext.build()
            times.append(time.perf_counter() - t0)
        out["points_drawn"] = n
    times.sort()
    out["seconds"] = times[len(times) // 2]
    return out


CASES = {
    "mnist": case_mnist,
    "tiny": case_tiny,
    "app": case_app,
    "app_pairs": case_app_pairs,
    "first_frame": case_first_frame,
    "torch_at_first_frame": case_torch_at_first_frame,
    "memory": case_memory,
    "app_memory": case_app_memory,
    "chart": case_chart,
}


def main() -> None:
    spec = json.loads(sys.argv[1])
    result = CASES[spec["case"]](spec)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
