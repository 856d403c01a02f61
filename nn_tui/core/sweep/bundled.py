"""The sweeps bundled with nn-tui (presets/sweeps/), and a sweep named on the command line."""

from __future__ import annotations

from pathlib import Path

from nn_tui.core.errors import UserError
from nn_tui.core.preset import bundled_presets_dir


def bundled_sweeps() -> dict[str, Path]:
    folder = bundled_presets_dir() / "sweeps"
    return {p.stem: p for p in sorted(folder.glob("*.toml"))} if folder.is_dir() else {}


def resolve_sweep_path(name_or_path: str) -> Path:
    """A path to a sweep file, or the name of a bundled sweep."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists() or "/" in name_or_path:
        if not path.exists():
            raise UserError("file not found", source=name_or_path)
        return path
    sweeps = bundled_sweeps()
    if name_or_path in sweeps:
        return sweeps[name_or_path]
    raise UserError(f"no such file, and no bundled sweep of that name; bundled sweeps: {', '.join(sweeps) or '(none)'}",
                    source=name_or_path)
