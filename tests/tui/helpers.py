"""Helpers for the app tests: fixed device readings, a small preset, and waiting on workers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from nn_tui.core.model.device import DeviceReport, GpuStatus
from nn_tui.core.preset import DataSpec, LayerSpec, Preset, TrainingSpec

FIXED_REPORT = DeviceReport(
    cpu_percent=37.0,
    cpu_count=2,
    process_cpu_percent=12.0,
    ram_used=3_100_000_000,
    ram_total=7_800_000_000,
    process_rss=412_000_000,
    torch_threads=None,
    gpus=[],
    gpu_note="none (NVML driver library not found)",
)

FIXED_GPU_REPORT = DeviceReport(
    cpu_percent=37.0, cpu_count=8, process_cpu_percent=12.0, ram_used=3_100_000_000, ram_total=7_800_000_000,
    process_rss=412_000_000, torch_threads=None,
    gpus=[GpuStatus(0, "NVIDIA GeForce RTX 4090", 45.0, 3_200_000_000, 24_000_000_000, 54.0, 120.0)],
    torch_allocated=12_000_000, torch_reserved=20_000_000,
)


def fixed_devices(device: str | None) -> DeviceReport:
    return FIXED_REPORT


def small_preset(**training) -> Preset:
    return Preset(
        name="small",
        data=DataSpec("xor"),
        layers=[LayerSpec(4, "tanh")],
        training=TrainingSpec(lr=0.1, epochs=training.pop("epochs", 8), **training),
    )


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until `condition()` holds (workers report through timers, so poll)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        await asyncio.sleep(0.02)
    await pilot.pause()


async def train_to_end(pilot, app):
    """Press t as a user does, once the Train tab is there, and wait for the (scripted) run to finish; its view."""
    from nn_tui.tui.widgets.train_view import TrainView

    await wait_for(pilot, lambda: app.screen.query_one_optional(TrainView) is not None)
    await pilot.press("t")
    tv = app.screen.query_one(TrainView)
    await wait_for(pilot, lambda: tv.state == "finished")
    return tv
