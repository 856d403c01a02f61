"""TOML reading on every supported Python: the standard library's tomllib (3.11+), or tomli on 3.10 (same API)."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised with a real Python 3.10 (see README, "Python versions")
    import tomli as tomllib

__all__ = ["tomllib"]
