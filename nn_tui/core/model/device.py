"""Choose the training device and report what the CPU and any NVIDIA GPUs are doing (psutil + NVML)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from nn_tui.core.errors import UserError

# Measured on a 2-core box (benchmarks/README.md, "Threads"): two threads were 10-27% faster only with
# both cores otherwise idle, tied inside the app (its UI thread is the other load), and 3-16x slower as
# soon as another process kept one core busy. One thread is never badly wrong, so it is the default.
DEFAULT_THREADS = 1


def resolve_device(spec: str, *, source: str | None = None) -> str:
    """'auto' -> cuda, then mps, then cpu. An explicit device that is not there is a user error."""
    import torch

    if spec == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if spec == "cpu":
        return "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(
                f"{spec!r} was asked for but CUDA is not available here (torch {torch.__version__}, "
                "no NVIDIA GPU or driver found); use \"auto\" or \"cpu\"",
                source=source,
                key="training.device",
            )
        if ":" in spec:
            index = int(spec.split(":", 1)[1])
            count = torch.cuda.device_count()
            if index >= count:
                raise UserError(
                    f"{spec!r} does not exist: {count} CUDA device(s) visible (cuda:0 to cuda:{count - 1})",
                    source=source,
                    key="training.device",
                )
        return spec
    if spec == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise UserError("'mps' was asked for but Apple MPS is not available here; use \"auto\" or \"cpu\"",
                            source=source, key="training.device")
        return "mps"
    raise UserError(f"unknown device {spec!r}", source=source, key="training.device")


def set_threads(threads: int) -> int:
    """Set torch's intra-op threads (0 = DEFAULT_THREADS), capped at the core count: more threads than cores
    only slows training. Returns the number set (the CLI warns when it is below what was asked)."""
    import torch

    n = max(1, min(threads or DEFAULT_THREADS, os.cpu_count() or 1))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def cuda_device_choices() -> list[str]:
    """Devices a user can pick: auto, cpu, and one entry per visible CUDA GPU (no CUDA init if torch is absent)."""
    choices = ["auto", "cpu"]
    try:
        import torch

        if torch.cuda.is_available():
            choices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            choices.append("mps")
    except Exception:  # noqa: BLE001 - a broken CUDA install must not stop the app
        pass
    return choices


# ---------------------------------------------------------------- live device report


@dataclass(frozen=True)
class GpuStatus:
    index: int
    name: str
    utilization: float | None  # percent
    memory_used: int | None  # bytes
    memory_total: int | None
    temperature: float | None  # Celsius
    power: float | None  # watts


@dataclass(frozen=True)
class DeviceReport:
    cpu_percent: float  # whole system
    cpu_count: int
    process_cpu_percent: float
    ram_used: int
    ram_total: int
    process_rss: int
    torch_threads: int | None
    gpus: list[GpuStatus] = field(default_factory=list)
    gpu_note: str = ""  # what the GPU line says when no GPU is listed, and why, in plain words
    torch_allocated: int | None = None  # bytes on the training device (CUDA only)
    torch_reserved: int | None = None


class DeviceMonitor:
    """Samples CPU, RAM and NVIDIA GPUs. Create once, call `sample()` about once a second (cheap)."""

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self._process = psutil.Process()
        self._process.cpu_percent(None)
        psutil.cpu_percent(None)
        self._nvml = None
        self._handles: list = []
        self.gpu_note = ""
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
            if not self._handles:
                self.gpu_note = "none (NVIDIA driver found, but no GPUs)"
        except ImportError:
            self.gpu_note = "not monitored (nvidia-ml-py is not installed)"
        except Exception:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ...
            self.gpu_note = "none (NVML driver library not found)"
            self._nvml = None

    def close(self) -> None:
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except Exception:  # noqa: BLE001
                pass
            self._nvml = None

    def _gpu(self, i: int, handle) -> GpuStatus:
        nv = self._nvml

        def get(fn, *args):
            try:
                return fn(handle, *args)
            except Exception:  # noqa: BLE001 - a field this GPU does not report
                return None

        name = get(nv.nvmlDeviceGetName)
        if isinstance(name, bytes):
            name = name.decode()
        util = get(nv.nvmlDeviceGetUtilizationRates)
        mem = get(nv.nvmlDeviceGetMemoryInfo)
        temp = get(nv.nvmlDeviceGetTemperature, 0)  # NVML_TEMPERATURE_GPU
        power = get(nv.nvmlDeviceGetPowerUsage)
        return GpuStatus(
            index=i,
            name=name or f"GPU {i}",
            utilization=float(util.gpu) if util is not None else None,
            memory_used=int(mem.used) if mem is not None else None,
            memory_total=int(mem.total) if mem is not None else None,
            temperature=float(temp) if temp is not None else None,
            power=power / 1000.0 if power is not None else None,
        )

    def sample(self, training_device: str | None = None) -> DeviceReport:
        ps = self._psutil
        vm = ps.virtual_memory()
        try:
            rss = self._process.memory_info().rss
            proc_cpu = self._process.cpu_percent(None)
        except Exception:  # noqa: BLE001
            rss, proc_cpu = 0, 0.0
        gpus = [self._gpu(i, h) for i, h in enumerate(self._handles)] if self._nvml else []
        allocated = reserved = None
        threads = None
        import sys

        torch = sys.modules.get("torch")  # never import torch just to report on it
        if torch is not None:
            threads = torch.get_num_threads()
            if training_device and training_device.startswith("cuda") and torch.cuda.is_available():
                try:
                    allocated = torch.cuda.memory_allocated(training_device)
                    reserved = torch.cuda.memory_reserved(training_device)
                except Exception:  # noqa: BLE001
                    pass
        return DeviceReport(
            cpu_percent=ps.cpu_percent(None),
            cpu_count=ps.cpu_count() or 1,
            process_cpu_percent=proc_cpu,
            ram_used=vm.total - vm.available,
            ram_total=vm.total,
            process_rss=rss,
            torch_threads=threads,
            gpus=gpus,
            gpu_note=self.gpu_note,
            torch_allocated=allocated,
            torch_reserved=reserved,
        )
