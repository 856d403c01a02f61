"""The presets bundled with nn-tui, and a preset named on the command line: a file, or a bundled name."""

from __future__ import annotations

from pathlib import Path

from nn_tui.core.errors import UserError


def bundled_presets_dir() -> Path:
    """Bundled presets: inside the installed package, or the repo's top-level presets/ folder."""
    here = Path(__file__).resolve().parents[2]  # nn_tui/
    for candidate in (here / "presets", here.parent / "presets"):
        if candidate.is_dir():
            return candidate
    return here / "presets"


def bundled_presets() -> dict[str, Path]:
    folder = bundled_presets_dir()
    return {p.stem: p for p in sorted(folder.glob("*.toml"))} if folder.is_dir() else {}


def resolve_preset_path(name_or_path: str) -> Path:
    """A path to a preset file, or the name of a bundled preset."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists() or "/" in name_or_path:
        if not path.exists():
            raise UserError("file not found", source=name_or_path)
        return path
    presets = bundled_presets()
    if name_or_path in presets:
        return presets[name_or_path]
    raise UserError(
        f"no such file, and no bundled preset of that name; bundled presets: {', '.join(presets) or '(none)'}",
        source=name_or_path,
    )
