"""Command-line options as `--set` overrides: the one place `--epochs`, `--device`, `--seed` and `--threads`
become preset keys (for `nn-tui run`, `nn-tui run --resume` and the app's resume)."""

from __future__ import annotations

import json


def option_overrides(
    *, epochs: int | None = None, device: str | None = None, seed: int | None = None, threads: int | None = None
) -> list[str]:
    """`KEY=VALUE` overrides (values in TOML) for the options given; None means not given."""
    out = []
    if epochs is not None:
        out.append(f"training.epochs={int(epochs)}")
    if device is not None:
        out.append(f"training.device={json.dumps(device)}")
    if seed is not None:
        out.append(f"seed={int(seed)}")
    if threads is not None:
        out.append(f"training.threads={int(threads)}")
    return out
