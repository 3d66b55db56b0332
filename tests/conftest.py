"""Shared fixtures: catalog files written to a temporary directory."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(name="write_catalog")
def _write_catalog(tmp_path: Path) -> Callable[..., Path]:
    """Write a catalog file from dedented text and return its path."""

    def write(text: str, name: str = "errors.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write
