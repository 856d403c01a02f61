"""What `nn-tui datasets` and `nn-tui eval` print. Called from nn_tui.cli; torch is imported only by eval."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from typing import Any


def show_datasets(name: str | None, *, json_out: bool) -> None:
    from nn_tui.core.datasets.catalog import catalog, describe_name, format_card, format_catalog

    if name is not None:
        card = describe_name(name)
        print(json.dumps(card) if json_out else format_card(card))
        return
    cards = catalog()
    if json_out:
        print(json.dumps(cards))
        return
    print(format_catalog(cards))
    print("\n`nn-tui datasets NAME` shows a dataset's labels and the [data] keys it accepts.")


def evaluate(run_dir: Path, data: str | None, *, json_out: bool) -> None:
    from nn_tui.core.preset import load_preset, resolve_preset_path

    data_preset = load_preset(resolve_preset_path(data)) if data is not None else None
    from nn_tui.core.inspection.evaluate import format_report
    from nn_tui.core.run.evaluation import evaluate_run

    report = evaluate_run(run_dir, data_preset)
    if json_out:
        sys.stdout.write(json.dumps(_finite(report)) + "\n")
        return
    print(f"{report['preset']} on {report['dataset']}: {report['run_dir']}")
    print(format_report(report))


def _finite(value: Any) -> Any:
    """NaN and infinity (a diverged model) as null, so the output stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
