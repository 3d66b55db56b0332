"""Small checks every part of catalog validation shares.

Each takes the value's key path so its error can be located by `Source.error`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from ._source import KeyPath, Source

__all__ = ["LANGUAGE", "OPERATION", "kind", "no_unknown_keys", "string", "string_list"]

LANGUAGE = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*\Z")
OPERATION = re.compile(r"(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|CONNECT) /\S*\Z")


def string(
    data: Mapping[str, Any], name: str, path: KeyPath, source: Source, *, required: bool = False
) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise source.error(
            f"expected '{name}' to be non-empty text, got {kind(value)}", (*path, name)
        )
    return value


def string_list(data: Mapping[str, Any], name: str, path: KeyPath, source: Source) -> list[str]:
    value = data.get(name, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise source.error(f"expected '{name}' to be a list of text", (*path, name))
    return value


def no_unknown_keys(
    data: Mapping[str, Any], allowed: frozenset[str], path: KeyPath, source: Source, what: str
) -> None:
    for name in data:
        if name not in allowed:
            close = [k for k in sorted(allowed) if similar(str(name), k)]
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else f"; expected one of {', '.join(sorted(allowed))}"
            )
            raise source.error(f"unknown {what} key {name!r}{hint}", (*path, name))


def similar(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio() >= 0.75


def kind(value: Any) -> str:
    """How an unexpected value is named in an error: short, and safe for any value."""
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        # repr() of a huge integer is slow and, past 4300 digits, raises ValueError.
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{type(value).__name__} {text}"
