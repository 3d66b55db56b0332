"""The core stays light: importing errorbook loads no web framework and no Redis client."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import errorbook

HEAVY = ("starlette", "fastapi", "litestar", "redis", "httpx", "uvicorn", "jwt", "django")


def test_import_loads_no_framework() -> None:
    """`import errorbook` and loading a profile pull in none of the optional stacks."""
    code = (
        "import sys, errorbook\n"
        "errorbook.Catalog.load('tape').problem('invalid_json')\n"
        f"heavy = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r}]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_all_is_the_public_surface() -> None:
    """__all__ lists exactly the public names, sorted, each shown as errorbook.X.

    Subpackages (``errorbook.adapters``, which imports frameworks) are imported by name, not
    re-exported; they appear as attributes once something has imported them.
    """
    public = {
        name
        for name in dir(errorbook)
        if not name.startswith("_") and not isinstance(getattr(errorbook, name), ModuleType)
    }
    assert set(errorbook.__all__) == public
    assert list(errorbook.__all__) == sorted(errorbook.__all__)
    assert errorbook.Catalog.__module__ == "errorbook"
    assert repr(errorbook.Problem) == "<class 'errorbook.Problem'>"


def test_version_comes_from_metadata() -> None:
    """__version__ is read from the installed package metadata."""
    from importlib.metadata import version

    assert errorbook.__version__ == version("errorbook")
