"""Local execution of a sweep: long-lived worker processes, each importing torch once and training one trial at a
time on one torch thread. The sweep's coordinator hands out trials and reads results from one queue."""

from __future__ import annotations

import os
import queue
import signal
from dataclasses import dataclass, field
from typing import Any

from nn_tui.core.sweep.study import TrialTask


def default_workers(asked: int) -> int:
    """0 means one worker per CPU core (the cores this process may use, where the OS says)."""
    if asked > 0:
        return asked
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _worker_main(tasks, results, stop_event, parent: int) -> None:
    """A worker process: ignores Ctrl-C and SIGTERM (the coordinator stops its trial cleanly through stop_event),
    imports torch once, then trains the trials it is given until it gets None. If the coordinator is gone (killed
    with SIGKILL), it stops its trial and leaves."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    import nn_tui.core.run.runner  # noqa: F401 - imported before the first trial, not inside its time
    import nn_tui.core.training.trainer  # noqa: F401
    from nn_tui.core.datasets import all_datasets

    all_datasets()
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # the first optimizer imports torch._dynamo (~1 s)
    results.put(("ready", os.getpid()))
    from nn_tui.core.sweep.trial import TrialResult, run_trial

    def orphaned() -> bool:
        return os.getppid() != parent

    def should_stop() -> bool:
        return stop_event.is_set() or orphaned()

    while True:
        try:
            task = tasks.get(timeout=1.0)
        except queue.Empty:
            if orphaned():
                os._exit(0)
            continue
        if task is None:  # every result was read: leave without torch's slow interpreter teardown
            results.close()
            results.join_thread()
            os._exit(0)
        if isinstance(task, list):  # a group trained together (nn_tui.core.sweep.vectorized)
            from nn_tui.core.sweep.vectorized import run_group

            for result in run_group(
                task, should_stop=should_stop,
                on_start=lambda n, run_dir: results.put(("started", n, run_dir)),
                on_epoch=lambda n, epoch, epochs, value: results.put(("epoch", n, epoch, epochs, value)),
            ):
                results.put(("done", result.number, result))
            continue
        n = task.number
        if stop_event.is_set():  # queued here when the sweep was stopped: never started
            results.put(("done", n, TrialResult(n, "stopped", None, 0, 0.0, 0.0, None, "stopped before it started")))
            continue
        result = run_trial(
            task,
            should_stop=should_stop,
            on_start=lambda run_dir: results.put(("started", n, run_dir)),
            on_epoch=lambda epoch, epochs, value: results.put(("epoch", n, epoch, epochs, value)),
        )
        results.put(("done", n, result))


@dataclass
class _Worker:
    process: Any
    tasks: Any
    trials: list[int] = field(default_factory=list)  # given to it, in order: the first is running, the rest wait
    queued: list[TrialTask] = field(default_factory=list)


DEPTH = 2  # trials given to a worker at once: the next one waits in its queue, so it never waits for the coordinator


class LocalPool:
    """`size` worker processes (spawned: a fork of a process that has imported torch is not safe)."""

    def __init__(self, size: int) -> None:
        import multiprocessing

        self._ctx = multiprocessing.get_context("spawn")
        self.results = self._ctx.Queue()
        self.stop_event = self._ctx.Event()
        self.workers: list[_Worker] = []
        for _ in range(size):
            self.workers.append(self._start())

    def wait_ready(self, stop, timeout: float = 300.0) -> bool:
        """Wait until every worker has imported torch (so trials start together and are timed alike). False if
        `stop` was set meanwhile. A worker that cannot start is a RuntimeError with its exit code."""
        import time

        ready, deadline = 0, time.monotonic() + timeout
        while ready < len(self.workers):
            if stop.is_set():
                return False
            try:
                message = self.results.get(timeout=0.2)
            except queue.Empty:
                dead = [w.process.exitcode for w in self.workers if not w.process.is_alive()]
                if dead or time.monotonic() > deadline:
                    raise RuntimeError(f"a sweep worker process could not start (exit code {dead[0] if dead else 'none'})")
                continue
            if message[0] == "ready":
                ready += 1
        return True

    def _start(self) -> _Worker:
        tasks = self._ctx.Queue()
        process = self._ctx.Process(target=_worker_main, args=(tasks, self.results, self.stop_event, os.getpid()),
                                    daemon=True)
        process.start()
        return _Worker(process, tasks)

    @property
    def size(self) -> int:
        return len(self.workers)

    def idle(self) -> int:
        """Free places: a worker takes DEPTH trials at once."""
        return sum(max(0, DEPTH - len(w.trials)) for w in self.workers)

    def busy(self) -> int:
        return sum(len(w.trials) for w in self.workers)

    def submit(self, task: TrialTask) -> None:
        worker = min(self.workers, key=lambda w: len(w.trials))
        worker.trials.append(task.number)
        worker.queued.append(task)
        worker.tasks.put(task)

    def submit_group(self, tasks: list[TrialTask]) -> None:
        """Trials that one worker trains together (nn_tui.core.sweep.vectorized)."""
        worker = min(self.workers, key=lambda w: len(w.trials))
        worker.trials.extend(t.number for t in tasks)
        worker.queued.extend(tasks)
        worker.tasks.put(list(tasks))

    def get(self, timeout: float) -> tuple | None:
        """The next message from a worker: ("started", n, run_dir), ("epoch", n, epoch, epochs, value),
        ("done", n, TrialResult); or ("lost", n, message) for a worker that died in a trial; None on timeout."""
        try:
            message = self.results.get(timeout=timeout)
        except queue.Empty:
            return self._lost()
        if message[0] == "ready":  # a replacement worker is ready: nothing to do
            return None
        if message[0] == "done":
            for w in self.workers:
                if message[1] in w.trials:
                    w.trials.remove(message[1])
                    w.queued = [t for t in w.queued if t.number != message[1]]
        return message

    def _lost(self) -> tuple | None:
        """A worker that died: its running trial is lost; the ones waiting for it go to a fresh worker."""
        for i, w in enumerate(self.workers):
            if w.trials and not w.process.is_alive():
                n, code = w.trials[0], w.process.exitcode
                fresh = self._start()
                self.workers[i] = fresh
                for task in w.queued[1:]:
                    fresh.trials.append(task.number)
                    fresh.queued.append(task)
                    fresh.tasks.put(task)
                return ("lost", n, f"the worker process ended (exit code {code}) during the trial")
        return None

    def stop_trials(self) -> None:
        """Running trials stop after their current step and come back as "stopped"."""
        self.stop_event.set()

    def close(self, timeout: float = 10.0) -> None:
        for w in self.workers:
            try:
                w.tasks.put(None)
            except (OSError, ValueError):
                pass
        for w in self.workers:
            w.process.join(timeout)
            if w.process.is_alive():
                w.process.kill()  # workers ignore SIGTERM
                w.process.join(1.0)
