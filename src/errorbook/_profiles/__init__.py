"""The built-in profiles: catalogs shipped as YAML files beside this module.

Each seed API's profile reproduces the facts of its published error page (statuses, wire
codes, body shape, behaviours); ``rfc9457`` is the default and answers every condition.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["profile_names", "profile_path"]

_HERE = Path(__file__).parent


@cache
def profile_names() -> tuple[str, ...]:
    """Every built-in profile name, sorted."""
    return tuple(sorted(p.stem for p in _HERE.glob("*.yaml")))


def profile_path(name: str) -> Path:
    """The file of built-in profile ``name``."""
    return _HERE / f"{name}.yaml"
