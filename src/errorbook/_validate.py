"""Turning catalog data into ErrorSpecs, with an error that points at the line for each flaw.

Every check names the file, line and key and says what was expected, because the person
reading it is editing a YAML file, not the code that reads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ._checks import LANGUAGE, OPERATION, kind, no_unknown_keys, string
from ._docs_config import DocsConfig
from ._errors import FormatError
from ._formats._base import Format, format_names, get_format
from ._source import Source
from ._spec import ErrorSpec
from ._validate_docs import validate_docs
from ._validate_entry import validate_entry

__all__ = ["CatalogData", "validate"]

_STATUS_CLASS = re.compile(r"[1-5]xx\Z")

TOP_LEVEL: Final[frozenset[str]] = frozenset(
    {
        "name",
        "description",
        "format",
        "media_type",
        "alternates",
        "type_base",
        "language",
        "docs",
        "statuses",
        "endpoints",
        "errors",
    }
)


@dataclass(frozen=True, slots=True)
class CatalogData:
    """A validated catalog's parts, before fallbacks are added."""

    name: str
    description: str
    format: Format
    format_spec: str | Mapping[str, Any]
    alternates: tuple[Format, ...]
    type_base: str | None
    language: str
    docs: DocsConfig
    statuses: Mapping[str, str]
    endpoints: Mapping[str, str]
    entries: Mapping[str, ErrorSpec]


def validate(data: Any, source: Source) -> CatalogData:
    """Check catalog data and build its entries.

    Raises:
        CatalogError: at the first flaw, located by file, line and key.
    """
    if not isinstance(data, Mapping):
        raise source.error(f"expected a mapping at the top of the catalog, got {kind(data)}")
    no_unknown_keys(data, TOP_LEVEL, (), source, "catalog")
    name = string(data, "name", (), source, required=True) or ""
    language = string(data, "language", (), source) or "en"
    if not LANGUAGE.match(language):
        raise source.error(
            f"expected a language tag like 'en' or 'pt-BR', got {language!r}", ("language",)
        )
    type_base = string(data, "type_base", (), source)
    fmt, format_spec = _format(data, source)
    alternates = _alternates(data, fmt, source)
    errors = data.get("errors")
    if not isinstance(errors, Mapping) or not errors:
        raise source.error("expected 'errors', a mapping of entry keys to entries", ("errors",))
    endpoints = _endpoints(data, source)
    entries: dict[str, ErrorSpec] = {}
    codes: dict[str, str] = {}
    answered: dict[str, str] = {}
    for key, raw in errors.items():
        spec = validate_entry(key, raw, language, endpoints, source)
        other = codes.get(str(spec.code))
        if other is not None:
            raise source.error(
                f"wire code {spec.code!r} is already used by entry {other!r}; clients could "
                "not tell the two apart",
                ("errors", key, "code"),
            )
        codes[str(spec.code)] = key
        for condition in spec.on:
            if condition in answered:
                raise source.error(
                    f"condition {condition!r} is already answered by entry "
                    f"{answered[condition]!r}; each condition gets one answer",
                    ("errors", key, "on"),
                )
            answered[condition] = key
        entries[key] = spec
    return CatalogData(
        name=name,
        description=string(data, "description", (), source) or "",
        format=fmt,
        format_spec=format_spec,
        alternates=alternates,
        type_base=type_base,
        language=language,
        docs=validate_docs(data, source),
        statuses=_statuses(data, source),
        endpoints=endpoints,
        entries=entries,
    )


def _format(data: Mapping[str, Any], source: Source) -> tuple[Format, str | Mapping[str, Any]]:
    spec = data.get("format", "problem+json")
    if isinstance(spec, str):
        try:
            return get_format(spec), spec
        except KeyError:
            raise source.error(
                f"unknown format {spec!r}; expected one of {', '.join(format_names())} or a "
                "template mapping",
                ("format",),
            ) from None
    if isinstance(spec, Mapping):
        from ._formats._template import template_format

        media_type = data.get("media_type", "application/json")
        if not isinstance(media_type, str) or "/" not in media_type:
            raise source.error(
                f"expected 'media_type' like 'application/json', got {media_type!r}",
                ("media_type",),
            )
        try:
            return template_format(
                str(data.get("name", "custom")), spec, media_type=media_type
            ), dict(spec)
        except FormatError as exc:
            raise source.error(f"invalid format template: {exc}", ("format",)) from exc
    raise source.error(
        f"expected 'format' to be a format name or a template mapping, got {kind(spec)}",
        ("format",),
    )


def _alternates(data: Mapping[str, Any], primary: Format, source: Source) -> tuple[Format, ...]:
    default = ["problem+xml"] if primary.name == "problem+json" else []
    names = data.get("alternates", default)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise source.error("expected 'alternates', a list of format names", ("alternates",))
    formats = []
    for index, name in enumerate(names):
        try:
            formats.append(get_format(name))
        except KeyError:
            raise source.error(
                f"unknown format {name!r}; expected one of {', '.join(format_names())}",
                ("alternates", index),
            ) from None
    return tuple(f for f in formats if f.media_type != primary.media_type)


def _endpoints(data: Mapping[str, Any], source: Source) -> dict[str, str]:
    endpoints = data.get("endpoints", {})
    if not isinstance(endpoints, Mapping):
        raise source.error(
            "expected 'endpoints', a mapping of operations ('POST /v1/trackers') to titles",
            ("endpoints",),
        )
    for operation, title in endpoints.items():
        if not isinstance(operation, str) or not OPERATION.match(operation):
            raise source.error(
                f"expected an operation like 'POST /v1/trackers', got {operation!r}",
                ("endpoints", operation),
            )
        if not isinstance(title, str) or not title.strip():
            raise source.error("expected a title for the operation", ("endpoints", operation))
    return dict(endpoints)


def _statuses(data: Mapping[str, Any], source: Source) -> dict[str, str]:
    statuses = data.get("statuses", {})
    if not isinstance(statuses, Mapping):
        raise source.error(
            "expected 'statuses', a mapping of statuses (200, 5xx) to meanings", ("statuses",)
        )
    result: dict[str, str] = {}
    for status, meaning in statuses.items():
        if isinstance(status, str) and status.isascii() and status.isdigit() and len(status) == 3:
            status = int(status)  # TOML keys are always text
        valid = (
            isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599
        ) or (isinstance(status, str) and bool(_STATUS_CLASS.match(status)))
        if not valid:
            raise source.error(
                f"expected a status from 100 to 599 or a class like '5xx', got {kind(status)}",
                ("statuses", status),
            )
        if not isinstance(meaning, str) or not meaning.strip():
            raise source.error("expected the status's meaning as text", ("statuses", status))
        result[str(status)] = meaning
    return result
