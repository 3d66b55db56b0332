"""Validating one catalog entry: the keys under ``errors.<key>``."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final, cast

from ._checks import LANGUAGE, OPERATION, kind, no_unknown_keys, string_list
from ._conditions import CONDITIONS
from ._source import KeyPath, Source
from ._spec import PARAM_TYPES, RETRY_HINTS, ErrorSpec, Retry
from ._template_text import MessageTemplate, TemplateSyntaxError

__all__ = ["ENTRY_KEYS", "RESERVED_PARAMS", "RETRYABLE_4XX", "validate_entry"]

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*\Z")

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
#: The largest integer wire code: beyond 2**53 JavaScript clients read the number wrong.
MAX_INT_CODE: Final = 2**53 - 1
#: The longest retry hint, in seconds; past a day a client should be told something else.
MAX_RETRY_AFTER: Final = 86_400
#: 4xx statuses for which repeating the same request can succeed later.
RETRYABLE_4XX: Final[frozenset[int]] = frozenset({408, 409, 423, 425, 429})


def validate_entry(
    key: Any, raw: Any, language: str, endpoints: Mapping[str, str], source: Source
) -> ErrorSpec:
    path: KeyPath = ("errors", key)
    if not isinstance(key, str) or not _KEY.match(key):
        raise source.error(
            "expected an entry key of letters, digits, '_', '.' or '-', starting with a "
            f"letter or '_', got {kind(key)}",
            path,
            key=str(key),
        )
    if not isinstance(raw, Mapping):
        raise source.error(f"expected a mapping for the entry, got {kind(raw)}", path)
    no_unknown_keys(raw, ENTRY_KEYS, path, source, "entry")

    status = raw.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise source.error(
            f"expected 'status', an HTTP error status from 400 to 599, got {kind(status)}",
            (*path, "status"),
        )
    code = raw.get("code", key)
    if isinstance(code, bool) or not isinstance(code, str | int) or code == "":
        raise source.error(
            f"expected 'code', a non-empty string or an integer, got {kind(code)}",
            (*path, "code"),
        )
    if isinstance(code, int) and not 0 <= code <= MAX_INT_CODE:
        raise source.error(
            "expected an integer code from 0 to 2**53 - 1 (the integers every JSON client "
            f"reads exactly), got {kind(code)}",
            (*path, "code"),
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
        isinstance(retry_after, bool)
        or not isinstance(retry_after, int | float)
        or not 0 <= retry_after <= MAX_RETRY_AFTER
    ):
        raise source.error(
            f"expected 'retry_after', seconds from 0 to {MAX_RETRY_AFTER} (a day), got "
            f"{kind(retry_after)}",
            (*path, "retry_after"),
        )
    if retry_after is not None and retry == "never":
        raise source.error(
            "'retry_after' is set but retry is 'never'; expected retry: after",
            (*path, "retry_after"),
        )

    on = string_list(raw, "on", path, source)
    for index, condition in enumerate(on):
        if condition not in CONDITIONS:
            raise source.error(
                f"unknown condition {condition!r}; expected one of {', '.join(CONDITIONS)}",
                (*path, "on", index),
            )
    entry_endpoints = string_list(raw, "endpoints", path, source)
    for index, operation in enumerate(entry_endpoints):
        if not OPERATION.match(operation):
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
                f"expected a {params[name]} for example {name!r}, got {kind(value)}",
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
    if isinstance(value, float) and not math.isfinite(value):
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
        if not isinstance(type_name, str) or type_name not in PARAM_TYPES:
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
            if not isinstance(lang, str) or not LANGUAGE.match(lang):
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
        f"expected '{name}' to be text or a mapping of languages to text, got {kind(value)}",
        (*path, name),
    )


def _markdown(raw: Mapping[str, Any], name: str, path: KeyPath, source: Source) -> str:
    value = raw.get(name, "")
    if not isinstance(value, str):
        raise source.error(
            f"expected '{name}' to be Markdown text, got {kind(value)}", (*path, name)
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
                f"expected a header name (an HTTP token), got {kind(name)}", (*path, "headers")
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, str | int | float)
            or (isinstance(value, int) and abs(value) > 10**18)
        ):
            raise source.error(
                f"expected text or a number for header {name!r}, got {kind(value)}",
                (*path, "headers", name),
            )
        text = str(value)
        if not _HEADER_VALUE.match(text):
            raise source.error(
                f"header {name!r} holds a line break, a control character or non-ASCII text; "
                "expected visible ASCII (a line break would split the response)",
                (*path, "headers", name),
            )
        result[name] = text
    return result
