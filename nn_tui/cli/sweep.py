"""`nn-tui sweep`: many runs of one preset with keys varied (nn_tui.core.sweep), shown as a live leaderboard,
JSON lines, or one quiet line. optuna, ray and torch are imported only once the command runs."""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

import typer

from nn_tui.cli.exits import EXIT_FAILED, EXIT_OK, fail
from nn_tui.cli.signals import early_signal
from nn_tui.core.errors import UserError

BACKENDS = ("local", "ray")


def sweep_cmd(
    sweep_file: Optional[str] = typer.Argument(None, help="A sweep file (a preset with a [sweep] table), or a bundled sweep's name."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Finish this sweep folder: trials that finished are not run again."),
    workers: Optional[int] = typer.Option(None, "--workers", min=0, help="Trials at once (0 = one per CPU core); overrides sweep.workers."),
    trials: Optional[int] = typer.Option(None, "--trials", min=1, help="Configurations to sample (random / tpe); overrides sweep.trials."),
    set_: list[str] = typer.Option([], "--set", help="Override any key, e.g. --set training.epochs=20 (repeatable)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for sweep folders (default: sweeps)."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per line; the last is the end event."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the final line."),
    backend: str = typer.Option("local", "--backend", help="local (worker processes here) | ray (Ray Tune)."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster to join (ray backend), e.g. 10.0.0.5:6379."),
    vectorize: str = typer.Option("auto", "--vectorize", help="auto | on | off: train trials of one architecture together as one stacked model (auto: grid and random sweeps)."),
) -> None:
    """Run a sweep: train every trial of a sweep file (grid, random or TPE) and rank them."""
    try:
        plan = _plan(sweep_file, resume, workers, trials, set_, out, backend, address)
        plan.vectorize = _vectorize(vectorize, backend)
    except UserError as exc:
        raise fail(exc, json_out=json_out) from None
    if early_signal:
        raise typer.Exit(128 + early_signal[0])
    stop = threading.Event()
    signals = {"count": 0, "code": 0}

    def on_signal(signum, frame):  # first: stop the running trials cleanly and save them; second: leave now
        signals["count"] += 1
        signals["code"] = 128 + signum
        if signals["count"] > 1:
            raise KeyboardInterrupt
        stop.set()

    view = JsonView() if json_out else QuietView() if quiet else LiveView(plan)
    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        with view:
            status = _execute(plan, backend, address, view.on_event, stop)
    except KeyboardInterrupt:
        raise typer.Exit(signals["code"] or 130) from None
    except UserError as exc:
        raise fail(exc, json_out=json_out) from None
    except RuntimeError as exc:  # the sweep's machinery (a worker that cannot start): not the user's input
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    if status == "stopped" or signals["count"]:
        raise typer.Exit(signals["code"] or 130)
    raise typer.Exit(EXIT_OK if plan_has_result(plan) else EXIT_FAILED)


def _plan(sweep_file, resume, workers, trials, set_, out, backend, address):
    from nn_tui.core.sweep.bundled import resolve_sweep_path
    from nn_tui.core.sweep.runner import plan_resume, plan_sweep
    from nn_tui.core.sweep.spec import load_sweep

    if backend not in BACKENDS:
        raise UserError(f"--backend {backend!r} is not allowed; expected one of: {', '.join(BACKENDS)}")
    if address is not None and backend != "ray":
        raise UserError("--address joins a Ray cluster: add --backend ray")
    if resume is not None:
        if sweep_file is not None:
            raise UserError(f"give either a SWEEP_FILE ({sweep_file}) or --resume SWEEP_DIR, not both")
        if set_ or trials is not None or out is not None:
            raise UserError("--set, --trials and --out cannot change a resumed sweep; only --workers can")
        if backend == "ray":
            raise UserError("--resume continues a sweep with the local backend; leave out --backend ray")
        return plan_resume(resume, workers=workers)
    if sweep_file is None:
        raise UserError("missing SWEEP_FILE: a sweep file or bundled sweep name (or --resume SWEEP_DIR)")
    path = resolve_sweep_path(sweep_file)
    return plan_sweep(load_sweep(path, set_, trials=trials, workers=workers), out or Path("sweeps"))


def _vectorize(mode: str, backend: str) -> str:
    from nn_tui.core.sweep.vectorized import MODES

    if mode not in MODES:
        raise UserError(f"--vectorize {mode!r} is not allowed; expected one of: {', '.join(MODES)}")
    if mode == "on" and backend == "ray":
        raise UserError("--vectorize on trains groups in the local backend's workers; leave out --backend ray")
    return mode


def _execute(plan, backend, address, on_event, stop) -> str:
    if backend == "ray":
        import contextlib

        from nn_tui.core.sweep.ray_backend import RaySweepRunner

        with contextlib.redirect_stdout(sys.stderr):  # Tune's own messages; the views keep the real stdout
            return RaySweepRunner(plan, on_event=on_event, stop=stop, address=address).execute()
    from nn_tui.core.sweep.runner import SweepRunner

    return SweepRunner(plan, on_event=on_event, stop=stop).execute()


def plan_has_result(plan) -> bool:
    """At least one trial trained to its end (else every trial failed or diverged: exit 1)."""
    from nn_tui.core.sweep.records import SUMMARY_FILE

    try:
        return json.loads((plan.sweep_dir / SUMMARY_FILE).read_text())["best"] is not None
    except (OSError, ValueError, KeyError):
        return False


def _num(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


class View:
    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def on_event(self, event) -> None:
        pass


class JsonView(View):
    """One JSON object per line: start, ready (workers started), trial_start, trial_end, end (epochs are left out)."""

    def __init__(self) -> None:
        self.out = sys.stdout

    def on_event(self, event) -> None:
        if event.kind == "trial_epoch":
            return
        obj = {"event": event.kind}
        if event.trial is not None:
            obj["trial"] = event.trial
        obj.update({k: _num(v) for k, v in event.data.items()})
        self.out.write(json.dumps(obj) + "\n")
        self.out.flush()


class QuietView(View):
    def __init__(self) -> None:
        self.out = sys.stdout

    def on_event(self, event) -> None:
        if event.kind == "end":
            best = event.data.get("best")
            text = f"{event.data['status']}: {event.data['done']}/{event.data['total']} trials"
            if best:
                metric = next(k for k in best if k not in ("trial", "seed", "params", "epochs", "run_dir"))
                text += f", best {metric} {best[metric]:.4g} (trial {best['trial']})"
            print(f"{text}, sweep dir {event.data['sweep_dir']}", file=self.out)


class LiveView(View):
    """A rich leaderboard redrawn at most 4 times a second: trials done / total, ETA, the best trials and the
    running ones."""

    TOP = 10

    def __init__(self, plan) -> None:
        from rich.console import Console

        self.plan = plan
        width = None if sys.stdout.isatty() else 10_000
        self.console = Console(file=sys.stdout, highlight=False, width=width, soft_wrap=width is not None)
        self.live = None
        self.rows: dict[int, dict[str, Any]] = {}
        self.done = self.total = 0
        self.session_done = 0
        self.t0 = time.monotonic()
        self.minimize = plan.direction == "minimize"

    def __enter__(self):
        from rich.live import Live

        p = self.plan
        self.console.print(f"[bold]sweep {p.sweep.name}[/]: {p.sweep.spec.method}, {p.total} runs "
                           f"({p.sweep.spec.configurations()} configurations x {p.sweep.spec.seeds} seeds), "
                           f"metric {p.metric} ({p.direction})")
        self.console.print(f"sweep dir: {p.sweep_dir}")
        if self.console.is_terminal:
            self.live = Live(self.render(), console=self.console, refresh_per_second=4, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self.render())
            self.live.__exit__(None, None, None)
        else:
            self.console.print(self.render())

    def on_event(self, event) -> None:
        d = event.data
        if event.kind == "start":
            self.done, self.total = d["done"], d["total"]
        elif event.kind == "trial_start":
            self.rows[event.trial] = {"trial": event.trial, "status": "running", "seed": d["seed"],
                                      "params": d["params"], "value": None, "epoch": 0, "epochs": None}
        elif event.kind == "trial_epoch":
            row = self.rows.get(event.trial)
            if row is not None:
                row["epoch"], row["epochs"], row["current"] = d["epoch"], d["epochs"], d["value"]
        elif event.kind == "trial_end":
            row = self.rows.setdefault(event.trial, {"trial": event.trial, "params": d.get("params") or {},
                                                     "seed": d.get("seed")})
            row.update(status=d["status"], value=d["value"], epoch=d["epochs"])
            self.done = d["done"]
            if d["status"] != "stopped":
                self.session_done += 1
            if self.live is None and d["status"] not in ("completed", "early_stopped", "stopped"):
                message = d.get("message") or ""
                self.console.print(f"trial {event.trial}: {d['status']}" + (f" — {message}" if message else ""),
                                   markup=False, highlight=False)
        elif event.kind == "end":
            self.done = d["done"]
            self.end = d
        if self.live is not None:
            self.live.update(self.render())

    def eta(self) -> str:
        left = self.total - self.done
        if not self.session_done or left <= 0:
            return "-"
        seconds = (time.monotonic() - self.t0) / self.session_done * left
        return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.1f} min"

    def render(self):
        from rich.markup import escape
        from rich.table import Table

        from nn_tui.cli.output import number

        elapsed = time.monotonic() - self.t0
        table = Table(title=f"trials {self.done}/{self.total}  elapsed {elapsed:.0f}s  ETA {self.eta()}",
                      title_justify="left", box=None, padding=(0, 1))
        keys = list(self.plan.sweep.spec.params)
        table.add_column("trial", justify="right")
        table.add_column("status")
        table.add_column("seed", justify="right")
        for key in keys:
            table.add_column(escape(key.split(".")[-1]), justify="right", overflow="ellipsis", max_width=16)
        table.add_column(self.plan.metric, justify="right")
        table.add_column("epochs", justify="right")
        sign = 1 if self.minimize else -1
        running = [r for r in self.rows.values() if r["status"] == "running"]
        ranked = sorted((r for r in self.rows.values() if r["status"] != "running" and r["value"] is not None),
                        key=lambda r: (sign * r["value"], r["trial"]))[: self.TOP]
        from nn_tui.core.sweep.spec import short_label, value_of

        params = self.plan.sweep.spec.params

        def shown(r, key):
            return escape(short_label(value_of(params[key], r["params"][key]))) if key in r["params"] else ""

        for r in running + ranked:
            shown_value = r.get("current") if r["status"] == "running" else r["value"]
            value = "-" if shown_value is None else number(shown_value)
            epochs = f"{r['epoch']}/{r['epochs']}" if r["status"] == "running" and r.get("epochs") else str(r["epoch"] or "")
            table.add_row(str(r["trial"]), r["status"], str(r["seed"]),
                          *[shown(r, k) for k in keys], value, epochs)
        return table
