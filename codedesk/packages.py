"""Files shipped inside installed packages, found without importing the package (simple-icd-10-cm,
for one, parses its whole code set on import: two seconds for nothing)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def package_file(package: str, *parts: str) -> Path:
    """Path of a data file inside an installed package; ModuleNotFoundError if it is not installed."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
