"""``application/problem+json`` (RFC 9457), the default format, and the JSON plumbing the
JSON-based formats share.

Rendering runs on every refused request, so it stays a straight dict build handed to one
preconfigured encoder; parsing is the careful side, because it meets bodies from any server.

Decisions a reader of the wire format should know:

- ``detail`` carries ``Problem.message``. ``Problem.detail`` (occurrence text beyond the
  message) has no member of its own and is not carried.
- ``type`` is left out when it is None rather than written as ``about:blank``: RFC 9457 makes
  the two mean the same, and leaving it out keeps ``type`` exact through a round trip.
- Extension members go at the top level, after the standard ones. One named like a standard
  member (``status``, ``errors``...) is skipped, never allowed to overwrite it, so that a
  catalog typo cannot forge a status or a code; render never raises for it.
- Parsing is lenient where RFC 9457 is: every member is optional, ``message`` falls back to
  ``title`` and then to the status phrase, and an ``errors`` entry may lack ``code`` (the RFC's
  own example has none), which then parses as ``""``. A member of the wrong JSON type is a
  FormatError.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any, Final

from .._errors import FormatError
from .._problem import FieldError, Problem

__all__ = [
    "STANDARD_MEMBERS",
    "ProblemJson",
    "describe",
    "encode_json",
    "encode_utf8",
    "fallback_message",
    "load_json",
    "status_phrase",
]

#: Members with a meaning of their own; an extension member with one of these names is skipped.
STANDARD_MEMBERS: Final = frozenset(
    {"type", "title", "status", "detail", "instance", "code", "request_id", "retry_after", "errors"}
)

# One encoder built once: json.dumps() builds a fresh encoder per call whenever an argument
# differs from its defaults. `default=str` and `skipkeys` are what keep render from ever
# raising on an extension value that is not JSON (a datetime, a Decimal, a tuple key).
_ENCODER: Final = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=str, skipkeys=True
)
encode_json: Final = _ENCODER.encode

_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def encode_utf8(text: str) -> bytes:
    """UTF-8 bytes of ``text``, with lone surrogates turned into U+FFFD instead of raising.

    Strings from the outside world (``surrogateescape``-decoded paths, broken JSON escapes)
    can hold lone surrogates; a response must still go out. The replacement costs nothing on
    the usual path, since it only runs after a strict encode has failed.
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def describe(value: object) -> str:
    """The JSON name of ``value``'s type, for error messages that talk about the body."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def load_json(body: bytes, name: str) -> Any:
    """The JSON value in ``body``, or a FormatError that says why there is none.

    Decodes UTF-8 explicitly because ``json.loads(bytes)`` would also accept UTF-16 and
    UTF-32, which no JSON format here allows (RFC 8259 section 8.1).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not a {name} body: not UTF-8 ({exc.reason})") from exc
    if not text.strip():
        raise FormatError(f"not a {name} body: the body is empty")
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise FormatError(f"not a {name} body: nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, and the int-digits limit
        raise FormatError(f"not a {name} body: not JSON ({exc})") from exc


def status_phrase(status: int) -> str:
    """The HTTP reason phrase for ``status``, or ``""`` for a status Python does not know."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def fallback_message(title: str | None, status: int) -> str:
    """What a problem says when its body has no ``detail``: the title, else the phrase.

    RFC 9457 makes every member optional and says an ``about:blank`` title should be the
    status phrase, so that is the most faithful message such a body has.
    """
    return title if title is not None else status_phrase(status)


class ProblemJson:
    """``application/problem+json`` as defined by RFC 9457."""

    name: str = "problem+json"
    media_type: str = "application/problem+json"
    carries: frozenset[str] = frozenset(
        {
            "code",
            "message",
            "status",
            "title",
            "type",
            "instance",
            "fields",
            "extensions",
            "request_id",
            "retry_after",
        }
    )

    def render(self, problem: Problem) -> bytes:
        """The problem+json body; members whose value is None are left out."""
        body: dict[str, Any] = {}
        if problem.type is not None:
            body["type"] = problem.type
        if problem.title is not None:
            body["title"] = problem.title
        body["status"] = problem.status
        body["detail"] = problem.message
        if problem.instance is not None:
            body["instance"] = problem.instance
        if problem.code is not None:
            body["code"] = problem.code
        if problem.request_id is not None:
            body["request_id"] = problem.request_id
        if problem.retry_after is not None:
            body["retry_after"] = problem.retry_after
        if problem.fields:
            body["errors"] = [
                {"pointer": f.pointer, "code": f.code, "detail": f.message} for f in problem.fields
            ]
        if problem.extensions:
            body.update(
                (key, value)
                for key, value in problem.extensions.items()
                if value is not None and key not in STANDARD_MEMBERS
            )
        return encode_utf8(encode_json(body))

    def parse(self, body: bytes, *, status: int | None = None) -> Problem:
        """A Problem from a problem+json body; unknown members become extensions."""
        data = load_json(body, self.name)
        if not isinstance(data, dict):
            raise FormatError(
                f"not a {self.name} body: expected an object at $, got {describe(data)}"
            )
        get = _Getter(data, self.name)
        body_status = get.integer("status")
        status = body_status if body_status is not None else status
        if status is None:
            raise FormatError(f"not a {self.name} body: no status in the body or the response")
        title = get.string("title")
        detail = get.string("detail")
        return Problem(
            code=get.code("code"),
            status=status,
            message=detail if detail is not None else fallback_message(title, status),
            title=title,
            type=get.string("type"),
            instance=get.string("instance"),
            fields=_parse_errors(data.get("errors"), self.name),
            extensions={k: v for k, v in data.items() if k not in STANDARD_MEMBERS},
            request_id=get.string("request_id"),
            retry_after=get.number("retry_after"),
        )


class _Getter:
    """Reads typed top-level members, treating ``null`` as absent, with located errors."""

    __slots__ = ("data", "name")

    def __init__(self, data: dict[str, Any], name: str) -> None:
        self.data = data
        self.name = name

    def _wrong(self, key: str, expected: str, value: object) -> FormatError:
        return FormatError(
            f"not a {self.name} body: expected {expected} at $.{key}, got {describe(value)}"
        )

    def string(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self._wrong(key, "a string", value)

    def integer(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise self._wrong(key, "an integer", value)

    def number(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise self._wrong(key, "a number", value)

    def code(self, key: str) -> str | int | None:
        value = self.data.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise self._wrong(key, "a string or an integer", value)


def _parse_errors(value: object, name: str) -> list[FieldError]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FormatError(
            f"not a {name} body: expected an array at $.errors, got {describe(value)}"
        )
    fields = []
    for index, item in enumerate(value):
        where = f"$.errors[{index}]"
        if not isinstance(item, dict):
            raise FormatError(
                f"not a {name} body: expected an object at {where}, got {describe(item)}"
            )
        strings = []
        for key in ("pointer", "code", "detail"):
            member = item.get(key, "" if key == "code" else None)
            if not isinstance(member, str):
                raise FormatError(
                    f"not a {name} body: expected a string at {where}.{key}, got {describe(member)}"
                )
            strings.append(member)
        fields.append(FieldError(*strings))
    return fields
