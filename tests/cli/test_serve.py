"""`nn-tui serve`: the real server in a subprocess on a free loopback port, its page, its websocket, and the
app driven in Debian's headless Chromium. All traffic stays on 127.0.0.1 and every wait is bounded."""

from __future__ import annotations

import asyncio
import io
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator

import psutil
import pytest

from tests.cli.conftest import cli_env

HOST = "127.0.0.1"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], object], timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


def app_processes(server: subprocess.Popen) -> list[psutil.Process]:
    """The app processes textual-serve started for the browser tabs (children of the server)."""
    found = []
    for child in psutil.Process(server.pid).children(recursive=True):
        try:
            cmdline = child.cmdline()
        except psutil.Error:
            continue
        if "nn_tui" in cmdline and "open" in cmdline and child.status() != psutil.STATUS_ZOMBIE:
            found.append(child)
    return found


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[subprocess.Popen, int]]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nn_tui", "serve", "xor", "--port", str(port)],
        cwd=tmp_path, env=cli_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: proc.poll() is not None or accepts_connections(port), 30, "the server to listen")
        assert proc.poll() is None, proc.stdout.read().decode()
        yield proc, port
    finally:
        children = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        for child in children:
            try:
                child.kill()
            except psutil.Error:
                pass


def test_serve_page_and_websocket_run_one_app_per_connection(server):
    proc, port = server
    with urllib.request.urlopen(f"http://{HOST}:{port}/", timeout=10) as response:
        assert response.status == 200
        page = response.read().decode()
    assert f'data-session-websocket-url="ws://{HOST}:{port}/ws"' in page

    import aiohttp

    async def talk() -> bytes:
        received = io.BytesIO()
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"ws://{HOST}:{port}/ws?width=100&height=30") as ws:
                deadline = time.monotonic() + 30
                # The app's screen arrives as terminal output; the preset's name is on it once drawn.
                while b"xor" not in received.getvalue():
                    message = await asyncio.wait_for(ws.receive(), timeout=max(0.1, deadline - time.monotonic()))
                    if message.type == aiohttp.WSMsgType.BINARY:
                        received.write(message.data)
                    elif message.type == aiohttp.WSMsgType.TEXT:
                        continue
                    else:
                        raise AssertionError(f"websocket ended before the app drew: {message.type}")
                assert len(app_processes(proc)) == 1
        return received.getvalue()

    output = asyncio.run(talk())
    assert b"\x1b[" in output  # terminal escape sequences: a real screen, not an error page
    # Closing the connection ends that tab's app process; the server keeps running.
    wait_until(lambda: not app_processes(proc), 20, "the app process to end after the websocket closed")
    assert proc.poll() is None


def test_serve_refuses_a_port_in_use(nn_tui):
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        result = nn_tui("serve", "--port", busy.getsockname()[1], timeout=60)
    assert result.returncode == 2
    assert "port is in use" in result.stderr and "Traceback" not in result.stderr


def test_serve_warns_when_binding_beyond_loopback():
    from nn_tui.cli.serve import NOT_LOOPBACK_WARNING, is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
    assert "no authentication" in NOT_LOOPBACK_WARNING


def find_chromium() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def test_serve_in_headless_chromium(server, tmp_path):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip(f"no Chromium binary on PATH (looked for {', '.join(CHROMIUM_NAMES)}); apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')")
    from PIL import Image, ImageChops

    proc, port = server

    def shot(page) -> Image.Image:
        return Image.open(io.BytesIO(page.screenshot())).convert("RGB")

    def settled(page) -> Image.Image:
        """A screenshot once two in a row 0.5 s apart are the same (the app has finished drawing)."""
        previous = shot(page)

        def same_as_before():
            nonlocal previous
            time.sleep(0.5)
            current = shot(page)
            unchanged = ImageChops.difference(previous, current).getbbox() is None
            previous = current
            return unchanged

        wait_until(same_as_before, 30, "the page to stop changing", step=0)
        return previous

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 600})
            page.set_default_timeout(30_000)
            page.goto(f"http://{HOST}:{port}/")
            page.wait_for_selector("body.-first-byte")  # textual.js marks the page when the app's output arrives
            wait_until(lambda: len(app_processes(proc)) == 1, 20, "the tab's app process")
            # The app appears: many colours, not a blank page.
            wait_until(lambda: len(shot(page).getcolors(maxcolors=1_000_000) or []) > 20, 30, "the app to appear")
            # A click gives the terminal the keyboard (as a user clicks into the page); it lands on the Data
            # tab's about panel, which does nothing with it.
            page.mouse.click(400, 300)
            before = settled(page)
            before.save(tmp_path / "before.png")
            page.keyboard.press("2")  # the Network tab
            # The left two thirds of the body change only when the tab does: not the title's "loading PyTorch"
            # nor the preview on the right that finishes loading. (While the app imports torch in the
            # background a key can wait a few seconds.)
            body = (0, 50, 600, 540)

            def body_changed():
                after = shot(page)
                after.save(tmp_path / "after.png")
                return ImageChops.difference(before.crop(body), after.crop(body)).getbbox() is not None

            wait_until(body_changed, 30, "pressing 2 to switch to the Network tab", step=0.25)
            page.close()
            wait_until(lambda: not app_processes(proc), 20, "the app process to end after its tab closed")
        finally:
            browser.close()
    assert proc.poll() is None
