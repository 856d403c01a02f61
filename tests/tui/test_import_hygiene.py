"""The app's first frame comes before torch (and plotext, numpy) are imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_first_frame_without_torch_plotext_or_numpy(tmp_path):
    script = textwrap.dedent(
        """
        import asyncio, sys, time
        from nn_tui.tui.app import NNTuiApp
        from nn_tui.tui.screens.main import MainScreen

        seen = {}
        original = MainScreen.on_mount

        def on_mount(self):
            original(self)
            def first_frame():
                seen["modules"] = [m for m in ("torch", "plotext", "textual_plotext", "numpy") if m in sys.modules]
            self.call_after_refresh(first_frame)

        MainScreen.on_mount = on_mount

        async def main():
            app = NNTuiApp(warm_torch=False)
            async with app.run_test(size=(80, 24)) as pilot:
                while "modules" not in seen:
                    await asyncio.sleep(0.01)
        asyncio.run(main())
        print("IMPORTED", ",".join(seen["modules"]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert "IMPORTED \n" in out.stdout or out.stdout.strip().endswith("IMPORTED"), out.stdout
