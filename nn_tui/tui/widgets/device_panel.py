"""CPU, RAM and NVIDIA GPUs (NVML), plus torch's memory on the training device; updated about once a second."""

from __future__ import annotations

import textwrap

from textual.markup import escape

from nn_tui.core.model.device import DeviceReport
from nn_tui.tui.widgets.metrics_panel import Readout, rows_markup


def gb(n: int | None) -> str:
    if n is None:
        return "–"
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def used_of(used: int | None, total: int | None) -> str:
    """'2.1/25.3 GB' (one unit when both are gigabytes), else each with its own unit."""
    if used is not None and total is not None and used >= 1e9 and total >= 1e9:
        return f"{used / 1e9:.1f}/{total / 1e9:.1f} GB"
    return f"{gb(used)}/{gb(total)}"


LABEL_WIDTH = 5  # "GPU 0", "torch"


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` cells, broken at spaces (the whole text when the width is not known yet)."""
    return textwrap.wrap(text, width) or [text] if width >= 10 else [text]


class DevicePanel(Readout):
    _shown: tuple[DeviceReport | None, str | None] | None = None

    def on_resize(self) -> None:
        """The GPU note is wrapped to the panel's width: wrap it again once the width is known or changes
        (whether the first reading came before the first layout or after used to depend on timing)."""
        if self._shown is not None:
            self.show(*self._shown)

    def show(self, report: DeviceReport | None, device: str | None) -> None:
        self._shown = (report, device)
        # The device goes in the border title, so a short panel keeps its rows for the readings.
        self.border_title = f"device · {escape(device or 'auto')}"
        rows: list[tuple[str, str]] = []
        if report is None:
            self.show_markup("[$text-muted]measuring…[/]")
            return
        rows.append(("CPU", f"{report.cpu_percent:.0f}% of {report.cpu_count} cores"))
        rows.append(("RAM", used_of(report.ram_used, report.ram_total)))
        rows.append(("app", f"{report.process_cpu_percent:.0f}% CPU · {gb(report.process_rss)}"))
        if report.gpus:
            for g in report.gpus:
                parts = [f"{g.utilization:.0f}%" if g.utilization is not None else "–"]
                parts.append(used_of(g.memory_used, g.memory_total))
                if g.temperature is not None:
                    parts.append(f"{g.temperature:.0f}°C")
                if g.power is not None:
                    parts.append(f"{g.power:.0f} W")
                rows.append((f"GPU {g.index}", escape(g.name)))
                rows.append(("", " · ".join(parts)))
        else:
            # Wrapped under its value column here, so a narrow panel shows all of it with the row count known.
            lines = wrap(report.gpu_note or "none", self.content_size.width - LABEL_WIDTH - 1)
            rows.append(("GPU", escape(lines[0])))
            rows.extend(("", f"[$text-muted]{escape(line)}[/]") for line in lines[1:])
        if report.torch_allocated is not None:
            rows.append(("torch", f"{gb(report.torch_allocated)} alloc · {gb(report.torch_reserved)} reserved"))
        self.show_markup(rows_markup(rows, LABEL_WIDTH))
