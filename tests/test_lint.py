"""errorbook lint: located errors, and warnings for what deserves a second look."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from errorbook import lint, profile_names


@pytest.mark.parametrize("name", profile_names())
def test_every_profile_lints_clean(name: str) -> None:
    """Built-in profiles have no errors."""
    report = lint(name)
    assert report.ok, report.errors


def test_error_is_located(write_catalog: Callable[..., Path]) -> None:
    """A broken catalog gives one error as file:line: key: what is wrong."""
    path = write_catalog("name: T\nerrors:\n  a:\n    status: 999\n")
    report = lint(path)
    assert not report.ok
    assert str(report.errors[0]) == (
        f"{path}:4: a.status: expected 'status', an HTTP error status from 400 to 599, got int 999"
    )


def test_fallbacks_are_reported(write_catalog: Callable[..., Path]) -> None:
    """Conditions answered by rfc9457 fallbacks are warnings that name the condition."""
    path = write_catalog(
        "name: T\nerrors:\n  a:\n    status: 404\n    description: x\n    on: [unknown_route]\n"
    )
    report = lint(path)
    assert report.ok
    messages = [str(w) for w in report.warnings]
    fallback = [m for m in messages if "fall back to the rfc9457" in m]
    assert len(fallback) == 1
    assert "payload_too_large (413)" in fallback[0]
    assert "unknown_route" not in fallback[0]


def test_exposed_5xx_and_missing_description_warn(write_catalog: Callable[..., Path]) -> None:
    """A 5xx that exposes details and an entry with no description are flagged with lines."""
    path = write_catalog("name: T\nerrors:\n  a:\n    status: 500\n    expose: true\n")
    messages = [str(w) for w in lint(path).warnings]
    assert f"{path}:3: a: expose is true on a 5xx: exception details may reach clients" in messages
    assert f"{path}:3: a: no description: the glossary will show an empty row" in messages
