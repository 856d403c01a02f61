"""The Callback API: hooks see every event with the TrainState, a callback stops a run cleanly through the
run's TrainerControl, and a callback's state is saved in the checkpoint and given back on resume."""

from __future__ import annotations

from nn_tui.core.preset import parse_preset
from nn_tui.core.run.resume import resume_run
from nn_tui.core.run.rundir import read_metrics, read_summary
from nn_tui.core.run.runner import Run, prepare_run
from nn_tui.core.training import Callback, EpochEnd, RunFinished, RunStarted, TrainerControl, TrainState


def small_preset(epochs: int = 6):
    return parse_preset({"seed": 1, "data": {"dataset": "moons", "samples": 120, "batch_size": 30},
                         "model": {"layers": [{"units": 8}]},
                         "training": {"epochs": epochs, "checkpoint_every": 1, "threads": 1}})


class StopAfter(Callback):
    """Stops the run after `epoch` epochs and counts the epochs it saw (its state is saved with checkpoints)."""

    def __init__(self, control: TrainerControl, epoch: int | None) -> None:
        self.control = control
        self.epoch = epoch
        self.seen = 0
        self.calls: list[str] = []

    def on_run_start(self, state: TrainState, event: RunStarted) -> None:
        self.calls.append(f"start {event.start_epoch} {state.epoch}")

    def on_epoch_end(self, state: TrainState, event: EpochEnd) -> None:
        assert state.epoch == event.epoch and state.final["epoch"] == event.epoch
        self.seen += 1
        if event.epoch == self.epoch:
            self.control.stop()

    def on_run_end(self, state: TrainState, event: RunFinished) -> None:
        self.calls.append(f"end {event.status} {state.epoch}")

    def state_dict(self) -> dict:
        return {"seen": self.seen}

    def load_state_dict(self, state: dict) -> None:
        self.seen = state["seen"]


def test_a_callback_stops_the_run_and_its_state_comes_back_on_resume(tmp_path):
    control = TrainerControl()
    stopper = StopAfter(control, epoch=3)
    run = Run(prepare_run(small_preset()), out_dir=tmp_path, callbacks=[stopper], control=control)
    finished = run.execute()
    assert finished.status == "stopped" and finished.epochs_run == 3
    assert stopper.calls == ["start 1 0", "end stopped 3"]
    assert read_summary(run.run_dir.path)["status"] == "stopped"

    again = StopAfter(TrainerControl(), epoch=None)
    resumed = resume_run(run.run_dir.path, callbacks=[again]).execute()
    assert resumed.status == "completed" and resumed.epochs_run == 6
    assert again.calls == ["start 4 3", "end completed 6"]
    assert again.seen == 3 + 3  # its count from the checkpoint, then the three epochs it saw
    assert [r["epoch"] for r in read_metrics(run.run_dir.path)] == [1, 2, 3, 4, 5, 6]
