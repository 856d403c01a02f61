"""What a sweep folder holds besides the runs: sweep.toml (the resolved sweep file), trials.csv (one row per
trial), summary.json (the best trial, and the metric's mean ± std per value across seeds) and best.toml (the best
trial's preset, runnable with `nn-tui run`). Every file is replaced atomically."""

from __future__ import annotations

import csv
import io
import math
import statistics
from pathlib import Path
from typing import Any

from nn_tui.core.errors import UserError
from nn_tui.core.fileio import atomic_write_json, atomic_write_text
from nn_tui.core.preset import dump_preset
from nn_tui.core.run.rundir import new_stamped_folder
from nn_tui.core.sweep.spec import Sweep, short_label, value_of
from nn_tui.core.sweep.study import RESULT_ATTR, seed_of, shown_trials, status_of

SWEEP_FILE = "sweep.toml"
TRIALS_FILE = "trials.csv"
SUMMARY_FILE = "summary.json"
BEST_FILE = "best.toml"
RANKED = ("completed", "early_stopped")  # trials that trained to their end and may be the best


def create_sweep_dir(out: str | Path, name: str) -> Path:
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the output folder: {exc.strerror or exc}", source=str(out)) from None
    return new_stamped_folder(out, name[:60] or "sweep", "sweep")


def trial_rows(study, sweep: Sweep, metric: str) -> list[dict[str, Any]]:
    """trials.csv's rows: trial, status, seed, one column per varied key, the metric's best value, epochs, seconds,
    run_dir."""
    rows = []
    for t in shown_trials(study):
        row: dict[str, Any] = {"trial": t.number, "status": status_of(t), "seed": seed_of(t)}
        for key in sweep.spec.params:
            row[key] = t.params.get(key)
        a = t.user_attrs.get(RESULT_ATTR, {})
        row[metric] = a.get("value")
        row["epochs"] = a.get("epochs")
        row["seconds"] = a.get("seconds")
        row["run_dir"] = a.get("run_dir")
        rows.append(row)
    return rows


def columns(sweep: Sweep, metric: str) -> list[str]:
    return ["trial", "status", "seed", *sweep.spec.params, metric, "epochs", "seconds", "run_dir"]


def best_row(rows: list[dict[str, Any]], metric: str, direction: str) -> dict[str, Any] | None:
    ranked = [r for r in rows if r["status"] in RANKED and _finite(r[metric])]
    if not ranked:
        return None
    sign = 1.0 if direction == "minimize" else -1.0
    return min(ranked, key=lambda r: (sign * r[metric], r["trial"]))  # a tie goes to the earlier trial


def per_value(rows: list[dict[str, Any]], sweep: Sweep, metric: str) -> dict[str, list[dict[str, Any]]]:
    """For each key varied by a list: the metric's mean, std and count per value, over every seed that ran to the end."""
    out: dict[str, list[dict[str, Any]]] = {}
    for key, p in sweep.spec.params.items():
        if p.values is None:
            continue
        stats = []
        for label in p.labels():
            mine = [r for r in rows if r[key] == label]
            vals = [r[metric] for r in mine if r["status"] in RANKED and _finite(r[metric])]
            entry = {
                "value": label, "n": len(vals),
                "mean": statistics.fmean(vals) if vals else None,
                "std": statistics.stdev(vals) if len(vals) > 1 else (0.0 if vals else None),
            }
            if not isinstance(value_of(p, label), (str, int, float, bool)):
                entry["label"] = short_label(value_of(p, label))
            others = [r["status"] for r in mine if r["status"] not in RANKED]
            if others:  # diverged, failed, pruned, stopped: not in the mean
                entry["other"] = {s: others.count(s) for s in sorted(set(others))}
            stats.append(entry)
        out[key] = stats
    return out


def write_records(rows: list[dict[str, Any]], sweep: Sweep, sweep_dir: Path, *, metric: str, direction: str,
                  status: str, total: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """trials.csv, summary.json and (once a trial finished) best.toml, from trials.csv's rows (see trial_rows).
    Returns the summary."""
    cols = columns(sweep, metric)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})
    atomic_write_text(sweep_dir / TRIALS_FILE, buf.getvalue())
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    best = best_row(rows, metric, direction)
    summary: dict[str, Any] = {
        "status": status,
        "sweep": sweep.name,
        "method": sweep.spec.method,
        "metric": metric,
        "direction": direction,
        "runs": total,
        "seeds": sweep.spec.seeds,
        "trials": counts,
        "best": None,
        "per_value": per_value(rows, sweep, metric),
    }
    if best is not None:
        params = {k: value_of(sweep.spec.params[k], best[k]) for k in sweep.spec.params}
        summary["best"] = {"trial": best["trial"], "seed": best["seed"], "params": params, metric: best[metric],
                           "epochs": best["epochs"], "run_dir": best["run_dir"]}
        preset = sweep.trial_preset(params, int(best["seed"]))
        atomic_write_text(sweep_dir / BEST_FILE, f"# the best trial ({best['trial']}) of sweep {sweep.name}: "
                          f"{metric} {best[metric]:.6g}\n" + dump_preset(preset))
    if extra:
        summary.update(extra)
    atomic_write_json(sweep_dir / SUMMARY_FILE, summary)
    return summary


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)
