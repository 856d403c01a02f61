"""`nn-tui serve`: the app in a web browser through textual-serve, one app process per browser tab.

textual-serve is imported only here, when the command runs, so `nn-tui --help` stays instant.
"""

from __future__ import annotations

import errno
import ipaddress
import shlex
import socket
import subprocess
import sys

import typer

from nn_tui.core.errors import UserError

NOT_LOOPBACK_WARNING = (
    "warning: serving on {host}, which other machines can reach. textual-serve has no authentication: "
    "anyone who can open {url} gets their own copy of the app, which can read and write files as you "
    "(presets, runs/, exports) and use this machine's CPU and memory. Use it only on a network you trust."
)


def app_command(preset_path: str | None) -> str:
    """The shell command textual-serve starts for each browser tab (each connection runs its own process)."""
    argv = [sys.executable, "-m", "nn_tui"]
    if preset_path is not None:
        argv += ["open", preset_path]
    return subprocess.list2cmdline(argv) if sys.platform == "win32" else shlex.join(argv)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_url(host: str, port: int) -> str:
    """The address the page and its websocket are served under: for every interface, this machine's name
    (--public-url overrides it when browsers know the machine by another name); IPv6 needs brackets."""
    shown = socket.gethostname() if host in ("", "0.0.0.0", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def check_port_free(host: str, port: int) -> None:
    """Fail now with a plain message rather than with aiohttp's traceback once the server starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "the port is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            raise UserError(f"cannot listen on {host}:{port}: {reason}; choose another with --port") from None


def serve(preset: str | None, host: str, port: int, public_url: str | None) -> None:
    from nn_tui.core.preset import load_preset, resolve_preset_path

    preset_path = None
    if preset is not None:
        path = resolve_preset_path(preset)
        load_preset(path)  # a bad preset fails here, once, rather than in every browser tab
        preset_path = str(path.resolve())
    try:
        from textual_serve.server import Server
    except ModuleNotFoundError:
        raise UserError('textual-serve is not installed; install it with: pip install "textual-serve>=1.1,<2"') from None
    check_port_free(host, port)
    url = public_url or default_url(host, port)
    if not is_loopback(host):
        typer.echo(NOT_LOOPBACK_WARNING.format(host=host, url=url), err=True)
    typer.echo(f"nn-tui in a browser: open {url} (each tab runs its own app; Ctrl+C stops the server)", err=True)
    Server(app_command(preset_path), host=host, port=port, title="nn-tui", public_url=url).serve()
