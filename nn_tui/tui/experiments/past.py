"""A past sweep folder on the Experiments view's board: its finished trials (trials.csv) with their whole curves
(each trial's metrics.csv), as if the sweep had just run in the app."""

from __future__ import annotations

from pathlib import Path

from nn_tui.core.sweep.folder import SweepFolder
from nn_tui.tui.experiments.board import Board
from nn_tui.tui.training.sweep_controller import metric_curve


def board_of(folder: SweepFolder) -> Board:
    board = Board(folder.sweep, folder.metric, folder.direction)
    board.apply("start", None, {"metric": folder.metric, "direction": folder.direction, "done": folder.done,
                                "total": folder.sweep.spec.total_runs(), "sweep_dir": str(folder.sweep_dir)})
    for row in folder.rows:
        if not isinstance(row.get("trial"), int) or row["status"] == "running":
            continue
        run_dir = row.get("run_dir")
        if run_dir and not Path(str(run_dir)).exists():
            run_dir = str(folder.sweep_dir / "runs" / Path(str(run_dir)).name)  # a folder moved with its runs
        params = {k: row.get(k) for k in folder.sweep.spec.params}
        board.apply("trial_end", row["trial"], {
            "seed": row.get("seed"), "params": params, "status": row["status"], "value": row.get(folder.metric),
            "run_dir": str(run_dir) if run_dir else None, "done": folder.done,
            "curve": metric_curve(str(run_dir) if run_dir else None, folder.metric)})
    board.status = folder.status
    return board
