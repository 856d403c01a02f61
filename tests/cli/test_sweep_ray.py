"""`nn-tui sweep --backend ray` on a Ray instance the command starts on loopback (2 CPUs) and shuts down: the same
trials as the local backend, in the same sweep folder layout, with the same results (CPU runs are deterministic)."""

from __future__ import annotations

import pytest

from tests.cli.test_sweep_cli import events, sweep, sweep_file, trials_csv

pytest.importorskip("ray.tune")


def test_ray_backend_gives_the_same_trials_as_the_local_one(tmp_path):
    path = sweep_file(tmp_path, seeds=2, epochs=20)
    local = sweep(tmp_path, path, "--out", "local", "--vectorize", "off")  # one trial at a time, as Ray trains them
    assert local.returncode == 0, local.stderr
    done = sweep(tmp_path, path, "--out", "ray", "--backend", "ray", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = events(done)  # stdout is only JSON lines: Tune's own messages go to stderr
    assert out[-1]["event"] == "end" and out[-1]["status"] == "completed"
    ray_dir = tmp_path / out[-1]["sweep_dir"]
    ray_rows, local_rows = trials_csv(ray_dir), trials_csv(tmp_path / events(local)[-1]["sweep_dir"])
    assert list(ray_rows[0]) == list(local_rows[0])
    assert len(ray_rows) == len(local_rows) == 4
    for name in ("sweep.toml", "summary.json", "best.toml"):
        assert (ray_dir / name).is_file()

    def results(rows):
        return {(r["training.lr"], r["seed"]): (r["status"], r["epochs"], float(r["val_loss"])) for r in rows}

    assert results(ray_rows) == pytest.approx(results(local_rows))
    for r in ray_rows:
        assert (tmp_path / r["run_dir"] / "model.safetensors").is_file()


def test_ray_backend_prunes_with_asha_like_the_local_pruner(tmp_path):
    path = sweep_file(tmp_path, epochs=90, prune="true", params='"training.lr" = [0.5, 0.0001, 0.3, 0.0002, 0.0003]\n')
    done = sweep(tmp_path, path, "--backend", "ray", "--workers", "1", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = trials_csv(tmp_path / events(done)[-1]["sweep_dir"])
    pruned = [r for r in rows if r["status"] == "pruned"]
    assert {r["training.lr"] for r in pruned} >= {"0.0001", "0.0002", "0.0003"}
    assert all(r["epochs"] == "10" and r["run_dir"] for r in pruned)
    assert any(r["status"] == "completed" and r["epochs"] == "90" for r in rows)
