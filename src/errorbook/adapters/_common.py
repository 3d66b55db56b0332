"""What the framework adapters share: options, route patterns, errors, the import hint."""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable, Mapping
from typing import Any, Final, NoReturn

from .._catalog import Catalog
from .._errors import ErrorbookError
from .._openapi import OpenAPIError

__all__ = [
    "InstallError",
    "OPENAPI_OPTIONS",
    "RouteTable",
    "check_errors",
    "check_websockets",
    "missing_framework",
    "openapi_options",
    "plain_pattern",
    "remember",
    "remembered",
]

#: The ErrorLayer options that also decide which errors an operation documents.
OPENAPI_OPTIONS: Final = (
    "auth",
    "authorize",
    "public",
    "hide_forbidden",
    "max_body",
    "route_options",
    "deadline",
    "request_id_header",
)
#: Path converters that match exactly one non-empty segment, as the layer's patterns do.
_ONE_SEGMENT: Final = frozenset(
    {"str", "int", "float", "uuid", "decimal", "date", "datetime", "time", "timedelta"}
)
_PARAM: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_][A-Za-z0-9_]*))?\}\Z")


class InstallError(ErrorbookError, RuntimeError):
    """An adapter cannot install errorbook into this app (its middleware stack is built).

    .. versionadded:: 0.1.0
    """


def check_websockets(has_websockets: bool, options: dict[str, Any]) -> None:
    """Refuse ``auth`` for an app with websocket routes unless ``public_websockets=True``.

    The layer passes every scope that is not ``http`` through untouched, so its ``auth``
    never sees a websocket handshake: without this an app would believe its websockets
    authenticated. ``public_websockets`` is taken out of ``options`` (it is no ErrorLayer
    option).
    """
    acknowledged = bool(options.pop("public_websockets", False))
    if has_websockets and options.get("auth") and not acknowledged:
        raise InstallError(
            "the app has websocket routes, which ErrorLayer passes through without "
            "authenticating them (auth= applies to HTTP requests only); authenticate them "
            "in the app and pass public_websockets=True to install() to say so"
        )


def check_errors(errors: Mapping[str, Iterable[str]] | None, catalog: Catalog) -> None:
    """Refuse an ``errors`` option that names no operation shape or no catalog entry."""
    for operation, keys in (errors or {}).items():
        method, _, path = str(operation).partition(" ")
        if not method.isalpha() or not path.strip().startswith("/"):
            raise OpenAPIError(f"errors: {operation!r} is not an operation ('METHOD /path')")
        if isinstance(keys, str):
            raise OpenAPIError(f"errors[{operation!r}]: expected a list of entry keys, not a str")
        for key in keys:
            if key not in catalog:
                raise OpenAPIError(
                    f"errors[{operation!r}]: the catalog {catalog.name!r} has no entry {key!r}"
                )


def missing_framework(framework: str, extra: str, exc: ImportError) -> NoReturn:
    """Raise the ImportError that says which extra brings the framework."""
    raise ImportError(
        f"errorbook.adapters.{extra} needs {framework}: pip install 'errorbook[{extra}]'"
    ) from exc


def plain_pattern(path: str) -> str | None:
    """``path`` as a layer pattern (``/items/{id:int}`` -> ``/items/{id}``), or None.

    None when a parameter is not a whole segment or may match more than one segment
    (``{rest:path}``, a custom converter): the layer cannot route those, so the app must.
    """
    if not path.startswith("/"):
        return None
    segments = []
    for segment in path.split("/")[1:]:
        if "{" in segment or "}" in segment:
            found = _PARAM.match(segment)
            if found is None or (found.group(2) or "str") not in _ONE_SEGMENT:
                return None
            segment = "{" + found.group(1) + "}"
        segments.append(segment)
    return "/" + "/".join(segments)


class RouteTable:
    """Collects ``(method, pattern)`` pairs; `failed` once a route cannot be enumerated."""

    def __init__(self, *, trailing_slash: bool) -> None:
        self.routes: list[tuple[str, str]] = []
        self.failed = False
        #: Whether the framework also serves each path with (or without) a trailing slash.
        self.trailing_slash = trailing_slash

    def add(self, methods: Iterable[str], path: str) -> None:
        pattern = plain_pattern(path)
        if pattern is None:
            self.failed = True
            return
        patterns = [pattern]
        if self.trailing_slash and pattern != "/":
            patterns.append(pattern[:-1] if pattern.endswith("/") else pattern + "/")
        for method in methods:
            for each in patterns:
                self.routes.append((method.upper(), each))

    def result(self) -> list[tuple[str, str]] | None:
        return None if self.failed else self.routes


def openapi_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The layer options `add_error_responses` reads, from ErrorLayer's keywords."""
    return {name: options[name] for name in OPENAPI_OPTIONS if name in options}


Remembered = tuple[dict[str, Any], dict[str, Any]]
_REMEMBERED: weakref.WeakKeyDictionary[Any, Remembered] = weakref.WeakKeyDictionary()


def remember(
    layer: object, errors: Mapping[str, Iterable[str]] | None, options: Mapping[str, Any]
) -> None:
    """Keep what documenting ``layer``'s errors needs: the extra keys and its options.

    Kept beside the layer rather than on it, for as long as the layer lives.
    """
    # A str is kept whole, for add_error_responses to refuse by name.
    named = {
        operation: keys if isinstance(keys, str) else list(keys)
        for operation, keys in (errors or {}).items()
    }
    _REMEMBERED[layer] = (named, openapi_options(options))


def remembered(layer: object) -> Remembered:
    """What `remember` kept for ``layer``; nothing for a layer built by hand."""
    return _REMEMBERED.get(layer, ({}, {}))
