"""Turning catalog data into ErrorSpecs, with an error that points at the line for each flaw.

Every check names the file, line and key and says what was expected, because the person
reading it is editing a YAML file, not the code that reads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final, cast

from ._conditions import CONDITIONS
from ._docs_config import COLUMN_FIELDS, DOCS_SETTINGS, DOCS_STYLES, DocsConfig, StatusTable
from ._errors import FormatError
from ._formats._base import Format, format_names, get_format
from ._source import KeyPath, Source
from ._spec import PARAM_TYPES, RETRY_HINTS, ErrorSpec, Retry
from ._template_text import MessageTemplate, TemplateSyntaxError

__all__ = ["CatalogData", "validate"]

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_LANGUAGE = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*\Z")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_STATUS_CLASS = re.compile(r"[1-5]xx\Z")
_OPERATION = re.compile(r"(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|CONNECT) /\S*\Z")

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
ENTRY_KEYS: Final[frozenset[str]] = frozenset(
    {
        "code",
        "status",
        "title",
        "message",
        "description",
        "resolution",
        "params",
        "example",
        "retry",
        "retry_after",
        "headers",
        "extensions",
        "endpoints",
        "on",
        "expose",
    }
)
#: Keyword arguments of catalog.problem(); a parameter may not shadow one.
RESERVED_PARAMS: Final[frozenset[str]] = frozenset(
    {
        "key",
        "detail",
        "fields",
        "extensions",
        "headers",
        "request_id",
        "instance",
        "language",
        "retry_after",
    }
)
#: 4xx statuses for which repeating the same request can succeed later.
RETRYABLE_4XX: Final[frozenset[int]] = frozenset({408, 409, 423, 425, 429})


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
        raise source.error(f"expected a mapping at the top of the catalog, got {_kind(data)}")
    _no_unknown_keys(data, TOP_LEVEL, (), source, "catalog")
    name = _string(data, "name", (), source, required=True) or ""
    language = _string(data, "language", (), source) or "en"
    if not _LANGUAGE.match(language):
        raise source.error(
            f"expected a language tag like 'en' or 'pt-BR', got {language!r}", ("language",)
        )
    type_base = _string(data, "type_base", (), source)
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
        spec = _entry(key, raw, language, endpoints, source)
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
        description=_string(data, "description", (), source) or "",
        format=fmt,
        format_spec=format_spec,
        alternates=alternates,
        type_base=type_base,
        language=language,
        docs=_docs(data, source),
        statuses=_statuses(data, source),
        endpoints=endpoints,
        entries=entries,
    )


def _entry(
    key: Any, raw: Any, language: str, endpoints: Mapping[str, str], source: Source
) -> ErrorSpec:
    path: KeyPath = ("errors", key)
    if not isinstance(key, str) or not _KEY.match(key):
        raise source.error(
            "expected an entry key of letters, digits, '_', '.' or '-', starting with a "
            f"letter or '_', got {key!r}",
            path,
            key=str(key),
        )
    if not isinstance(raw, Mapping):
        raise source.error(f"expected a mapping for the entry, got {_kind(raw)}", path)
    _no_unknown_keys(raw, ENTRY_KEYS, path, source, "entry")

    status = raw.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise source.error(
            f"expected 'status', an HTTP error status from 400 to 599, got {status!r}",
            (*path, "status"),
        )
    code = raw.get("code", key)
    if isinstance(code, bool) or not isinstance(code, str | int) or code == "":
        raise source.error(
            f"expected 'code', a non-empty string or an integer, got {code!r}", (*path, "code")
        )

    params = _params(raw, path, source)
    default_title = _phrase(status)
    title = _texts(raw, "title", path, source, language, default_title)
    message_texts = _texts(raw, "message", path, source, language, title[language])
    message: dict[str, MessageTemplate] = {}
    for lang, text in message_texts.items():
        text_path = (
            (*path, "message", lang)
            if isinstance(raw.get("message"), Mapping)
            else (*path, "message")
        )
        try:
            template = MessageTemplate.parse(text)
        except TemplateSyntaxError as exc:
            raise source.error(f"malformed message: {exc}", text_path) from exc
        for name in template.names:
            if name not in params:
                raise source.error(
                    f"message uses {{{name}}} but 'params' does not declare {name!r}; "
                    f"expected params: {{{name}: str}} or another type",
                    text_path,
                )
        message[lang] = template

    retry = raw.get("retry", _default_retry(status))
    if retry not in RETRY_HINTS:
        raise source.error(
            f"expected 'retry' to be one of {', '.join(RETRY_HINTS)}, got {retry!r}",
            (*path, "retry"),
        )
    if retry != "never" and 400 <= status < 500 and status not in RETRYABLE_4XX:
        raise source.error(
            f"retry {retry!r} on a {status}: repeating a request the server refused as the "
            "client's fault cannot succeed; expected retry: never (or a status of "
            f"{', '.join(map(str, sorted(RETRYABLE_4XX)))} or 5xx)",
            (*path, "retry"),
        )
    if retry != "never" and status == 501:
        raise source.error(
            "retry on 501: waiting will not implement the method; expected retry: never",
            (*path, "retry"),
        )
    retry_after = raw.get("retry_after")
    if retry_after is not None and (
        isinstance(retry_after, bool) or not isinstance(retry_after, int | float) or retry_after < 0
    ):
        raise source.error(
            f"expected 'retry_after', seconds as a number >= 0, got {retry_after!r}",
            (*path, "retry_after"),
        )
    if retry_after is not None and retry == "never":
        raise source.error(
            "'retry_after' is set but retry is 'never'; expected retry: after",
            (*path, "retry_after"),
        )

    on = _string_list(raw, "on", path, source)
    for index, condition in enumerate(on):
        if condition not in CONDITIONS:
            raise source.error(
                f"unknown condition {condition!r}; expected one of {', '.join(CONDITIONS)}",
                (*path, "on", index),
            )
    entry_endpoints = _string_list(raw, "endpoints", path, source)
    for index, operation in enumerate(entry_endpoints):
        if not _OPERATION.match(operation):
            raise source.error(
                f"expected an operation like 'POST /v1/trackers', got {operation!r}",
                (*path, "endpoints", index),
            )

    expose = raw.get("expose", status < 500)
    if not isinstance(expose, bool):
        raise source.error(
            f"expected 'expose' to be true or false, got {expose!r}", (*path, "expose")
        )
    headers = _headers(raw, path, source)
    extensions = raw.get("extensions", {})
    if not isinstance(extensions, Mapping) or not all(isinstance(k, str) for k in extensions):
        raise source.error(
            "expected 'extensions', a mapping of member names to values", (*path, "extensions")
        )
    example = raw.get("example", {})
    if not isinstance(example, Mapping):
        raise source.error(
            "expected 'example', a mapping of parameter names to values", (*path, "example")
        )
    for name, value in example.items():
        if name not in params:
            raise source.error(
                f"example names {name!r}, which 'params' does not declare", (*path, "example", name)
            )
        if not _fits(value, params[name]):
            raise source.error(
                f"expected a {params[name]} for example {name!r}, got {value!r}",
                (*path, "example", name),
            )

    return ErrorSpec(
        key=key,
        code=code,
        status=status,
        title=title,
        message=message,
        description=_markdown(raw, "description", path, source),
        resolution=_markdown(raw, "resolution", path, source),
        params=params,
        example=dict(example),
        retry=cast(Retry, retry),
        retry_after=float(retry_after) if retry_after is not None else None,
        headers=headers,
        extensions=dict(extensions),
        endpoints=tuple(entry_endpoints),
        on=tuple(on),
        expose=expose,
        file=source.name,
        line=source.line(path),
    )


def _default_retry(status: int) -> Retry:
    if status in (429, 503):
        return "after"
    if status in (502, 504, 507, 522, 523, 524):
        return "backoff"
    return "never"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Error {status}"


def _fits(value: Any, type_name: str) -> bool:
    if type_name != "bool" and isinstance(value, bool):
        return False
    return isinstance(value, PARAM_TYPES[type_name])


def _params(raw: Mapping[str, Any], path: KeyPath, source: Source) -> dict[str, str]:
    params = raw.get("params", {})
    if not isinstance(params, Mapping):
        raise source.error(
            "expected 'params', a mapping of names to types (str, int, float, bool)",
            (*path, "params"),
        )
    for name, type_name in params.items():
        if not isinstance(name, str) or not re.match(r"[A-Za-z_][A-Za-z0-9_]*\Z", name):
            raise source.error(
                f"expected a parameter name like 'expected', got {name!r}", (*path, "params")
            )
        if name in RESERVED_PARAMS:
            raise source.error(
                f"parameter {name!r} would shadow the keyword argument of catalog.problem(); "
                "choose another name",
                (*path, "params", name),
            )
        if type_name not in PARAM_TYPES:
            raise source.error(
                f"expected a parameter type ({', '.join(PARAM_TYPES)}), got {type_name!r}",
                (*path, "params", name),
            )
    return dict(params)


def _texts(
    raw: Mapping[str, Any], name: str, path: KeyPath, source: Source, language: str, default: str
) -> dict[str, str]:
    value = raw.get(name, default)
    if isinstance(value, str):
        if not value.strip():
            raise source.error(f"expected '{name}' to be non-empty text", (*path, name))
        return {language: value}
    if isinstance(value, Mapping) and value:
        for lang, text in value.items():
            if not isinstance(lang, str) or not _LANGUAGE.match(lang):
                raise source.error(
                    f"expected a language tag like 'de', got {lang!r}", (*path, name)
                )
            if not isinstance(text, str) or not text.strip():
                raise source.error(
                    f"expected non-empty text for language {lang!r}", (*path, name, lang)
                )
        if language not in value:
            raise source.error(
                f"'{name}' has no text in the catalog's language {language!r}, which every "
                "other language falls back to",
                (*path, name),
            )
        return dict(value)
    raise source.error(
        f"expected '{name}' to be text or a mapping of languages to text, got {_kind(value)}",
        (*path, name),
    )


def _markdown(raw: Mapping[str, Any], name: str, path: KeyPath, source: Source) -> str:
    value = raw.get(name, "")
    if not isinstance(value, str):
        raise source.error(
            f"expected '{name}' to be Markdown text, got {_kind(value)}", (*path, name)
        )
    return value.strip()


def _headers(raw: Mapping[str, Any], path: KeyPath, source: Source) -> dict[str, str]:
    headers = raw.get("headers", {})
    if not isinstance(headers, Mapping):
        raise source.error(
            "expected 'headers', a mapping of header names to values", (*path, "headers")
        )
    result: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise source.error(
                f"expected a header name (an HTTP token), got {name!r}", (*path, "headers")
            )
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise source.error(
                f"expected a text or number value for header {name!r}", (*path, "headers", name)
            )
        text = str(value)
        if any(ch in text for ch in "\r\n\0"):
            raise source.error(
                f"header {name!r} contains a line break, which would split the response",
                (*path, "headers", name),
            )
        result[name] = text
    return result


def _string(
    data: Mapping[str, Any], name: str, path: KeyPath, source: Source, *, required: bool = False
) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise source.error(
            f"expected '{name}' to be non-empty text, got {_kind(value)}", (*path, name)
        )
    return value


def _string_list(data: Mapping[str, Any], name: str, path: KeyPath, source: Source) -> list[str]:
    value = data.get(name, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise source.error(f"expected '{name}' to be a list of text", (*path, name))
    return value


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
        f"expected 'format' to be a format name or a template mapping, got {_kind(spec)}",
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
        if not isinstance(operation, str) or not _OPERATION.match(operation):
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
        valid = (
            isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599
        ) or (isinstance(status, str) and bool(_STATUS_CLASS.match(status)))
        if not valid:
            raise source.error(
                f"expected a status from 100 to 599 or a class like '5xx', got {status!r}",
                ("statuses", status),
            )
        if not isinstance(meaning, str) or not meaning.strip():
            raise source.error("expected the status's meaning as text", ("statuses", status))
        result[str(status)] = meaning
    return result


def _docs(data: Mapping[str, Any], source: Source) -> DocsConfig:
    docs = data.get("docs", {})
    if not isinstance(docs, Mapping):
        raise source.error(
            "expected 'docs', a mapping of front matter and page settings", ("docs",)
        )
    style = docs.get("style", "table")
    if style not in DOCS_STYLES:
        raise source.error(
            f"expected docs style to be one of {', '.join(DOCS_STYLES)}, got {style!r}",
            ("docs", "style"),
        )
    front_matter: dict[str, str | int | bool] = {}
    for name, value in docs.items():
        if name in DOCS_SETTINGS:
            continue
        if not isinstance(name, str) or not isinstance(value, str | int | bool):
            raise source.error(
                f"expected front matter {name!r} to be text, a number or true/false "
                f"(page settings are {', '.join(sorted(DOCS_SETTINGS))})",
                ("docs", name),
            )
        front_matter[name] = value
    heading = docs.get("heading")
    if heading is not None and not isinstance(heading, str):
        raise source.error("expected 'heading' to be text", ("docs", "heading"))
    intro = docs.get("intro", "")
    if not isinstance(intro, str):
        raise source.error("expected 'intro' to be Markdown text", ("docs", "intro"))
    return DocsConfig(
        style=style,
        heading=heading,
        intro=intro.strip(),
        front_matter=front_matter,
        columns=_columns(docs, "columns", source),
        endpoint_columns=_columns(docs, "endpoint_columns", source),
        status_table=_status_table(docs, source),
    )


def _columns(docs: Mapping[str, Any], name: str, source: Source) -> dict[str, str]:
    columns = docs.get(name, {})
    if not isinstance(columns, Mapping):
        raise source.error(
            f"expected '{name}', a mapping of fields to column headers", ("docs", name)
        )
    for column, header in columns.items():
        if column not in COLUMN_FIELDS:
            raise source.error(
                f"unknown column {column!r}; expected one of {', '.join(COLUMN_FIELDS)}",
                ("docs", name, column),
            )
        if not isinstance(header, str) or not header.strip():
            raise source.error("expected a column header", ("docs", name, column))
    return dict(columns)


def _status_table(docs: Mapping[str, Any], source: Source) -> StatusTable | None:
    table = docs.get("status_table")
    if table is None:
        return None
    if table is True:
        return StatusTable()
    path: KeyPath = ("docs", "status_table")
    if not isinstance(table, Mapping):
        raise source.error(
            "expected 'status_table', true or a mapping of heading, status, meaning and label", path
        )
    _no_unknown_keys(
        table, frozenset({"heading", "status", "meaning", "label"}), path, source, "status table"
    )
    for name in ("heading", "status", "meaning", "label"):
        if name in table and not isinstance(table[name], str):
            raise source.error(f"expected '{name}' to be text", (*path, name))
    default = StatusTable()
    return StatusTable(
        heading=table.get("heading", default.heading),
        status_header=table.get("status", default.status_header),
        meaning_header=table.get("meaning", default.meaning_header),
        label=table.get("label", default.label),
    )


def _no_unknown_keys(
    data: Mapping[str, Any], allowed: frozenset[str], path: KeyPath, source: Source, what: str
) -> None:
    for name in data:
        if name not in allowed:
            close = [k for k in sorted(allowed) if _similar(str(name), k)]
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else f"; expected one of {', '.join(sorted(allowed))}"
            )
            raise source.error(f"unknown {what} key {name!r}{hint}", (*path, name))


def _similar(a: str, b: str) -> bool:
    import difflib

    return difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio() >= 0.75


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
