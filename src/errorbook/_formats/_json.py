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
  catalog typo cannot forge a status or a code.
- Render never raises and always writes strict JSON (no ``NaN`` or ``Infinity``). An
  extension member the encoder cannot write is left out and the rest of the body is written:
  one holding a non-finite float, a reference cycle, an int past Python's digit limit, an
  object whose ``str()`` raises, or nesting too deep for the encoder (members nested up to
  64 levels are always written). ``retry_after`` is written only when finite, and a negative
  one as ``0``. The encoder finds these itself, so the usual render pays nothing for them.
- Parsing is lenient where RFC 9457 is: every member is optional, ``message`` falls back to
  ``title`` and then to the status phrase, and an ``errors`` entry may lack ``code`` (the RFC's
  own example has none), which then parses as ``""``. A member of the wrong JSON type is a
  FormatError, and so is a ``status`` outside 100-599, a ``retry_after`` that is negative or
  too large for a float, ``NaN``/``Infinity`` anywhere (they are not JSON), a number too
  large for a float (``1e999``) and nesting too deep to decode.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Final

from .._errors import FormatError
from .._problem import FieldError, Problem
from ._base import CARRIABLE

__all__ = [
    "STANDARD_MEMBERS",
    "ProblemJson",
    "describe",
    "encode_json",
    "encode_utf8",
    "fallback_message",
    "load_json",
    "render_writable",
    "retry_after_seconds",
    "shorten",
    "status_phrase",
    "valid_retry_after",
    "valid_status",
]

#: Members with a meaning of their own; an extension member with one of these names is skipped.
STANDARD_MEMBERS: Final = frozenset(
    {"type", "title", "status", "detail", "instance", "code", "request_id", "retry_after", "errors"}
)

# One encoder built once: json.dumps() builds a fresh encoder per call whenever an argument
# differs from its defaults. `default=str` and `skipkeys` write an extension value that is not
# JSON (a datetime, a Decimal, a tuple key) instead of raising; `allow_nan=False` makes the
# encoder raise for NaN and infinities instead of writing invalid JSON, which `render_writable`
# turns into leaving the member out.
_ENCODER: Final = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=str, skipkeys=True, allow_nan=False
)
encode_json: Final = _ENCODER.encode

#: How deeply an extension value may nest and still be sure to be written; see render_writable.
MAX_DEPTH: Final = 64
#: The statuses a body may carry: RFC 9110 section 15 defines 100-599.
_STATUSES: Final = range(100, 600)

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


def render_writable(build: Callable[[Problem], Any], problem: Problem) -> bytes:
    """The UTF-8 JSON of ``build(problem)`` without the extension members it cannot hold.

    Only called once encoding the whole body has failed, so the usual render pays for none
    of this. The encoder may have refused a NaN, a cycle, a value too deep for it, an int
    past the digit limit, or an object whose ``str()`` (``default=str``) raised. Each
    extension member is tried on its own, the ones that fail are left out, and the body is
    built again. A member that encodes on its own can still be too deep once nested in the
    body. If the retry hits the recursion limit, members nested more than MAX_DEPTH levels
    are left out too, so the last attempt cannot fail because of an extension. An error
    from anything but the extensions is raised again by the retry, as it should be.
    """
    kept = {key: value for key, value in problem.extensions.items() if _encodes(key, value)}
    try:
        return encode_utf8(encode_json(build(problem.replace(extensions=kept))))
    except RecursionError:
        pass
    shallow = {key: value for key, value in kept.items() if _nests_within(value, MAX_DEPTH)}
    return encode_utf8(encode_json(build(problem.replace(extensions=shallow))))


def _encodes(key: object, value: object) -> bool:
    try:
        encode_json({key: value})
    except Exception:  # whatever stops the member stops only the member
        return False
    return True


def _nests_within(value: object, depth: int) -> bool:
    """Whether ``value`` has at most ``depth`` levels of arrays and objects (a cycle has not)."""
    if isinstance(value, dict):
        items: Any = value.values()
    elif isinstance(value, list | tuple):
        items = value
    else:
        return True
    return depth > 0 and all(_nests_within(item, depth - 1) for item in items)


def retry_after_seconds(value: float | None) -> float | None:
    """What render writes for ``retry_after``: None when absent or not finite, else >= 0.

    A negative delay means "now", as the Retry-After header says it (``max(0, ...)``); NaN
    and the infinities have no JSON spelling and no meaning as a delay, so they are left out.
    """
    if value is None:
        return None
    try:
        finite = math.isfinite(value)
    except (TypeError, OverflowError):  # not a number at all, or an int past float range
        return None
    if not finite:
        return None
    return value if value >= 0 else 0.0


def valid_status(value: int) -> bool:
    """Whether ``value`` is an HTTP status a body may carry (RFC 9110: 100 to 599)."""
    return value in _STATUSES


def valid_retry_after(value: float) -> float | None:
    """``value`` as float seconds when it is finite and >= 0, else None (the caller refuses)."""
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return seconds if seconds >= 0 and math.isfinite(seconds) else None


def _refuse_constant(name: str) -> Any:
    raise FormatError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise FormatError(f"the number {shorten(text)} is too large for a float")
    return value


# `parse_constant` is called for NaN, Infinity and -Infinity, which Python's decoder accepts
# by default although RFC 8259 has no such values; `parse_float` sees 1e999, which would
# otherwise decode as an infinity. Both keep every parsed number finite.
_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def shorten(text: str) -> str:
    """``text`` cut to 24 characters, for messages quoting a value from a body."""
    return text if len(text) <= 24 else f"{text[:20]}..."


def load_json(body: bytes, name: str) -> Any:
    """The JSON value in ``body``, or a FormatError that says why there is none.

    Decodes UTF-8 explicitly because ``json.loads(bytes)`` would also accept UTF-16 and
    UTF-32, which no JSON format here allows (RFC 8259 section 8.1). ``NaN``, ``Infinity``
    and numbers too large for a float are refused, so every number parsed is finite.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not a {name} body: not UTF-8 ({exc.reason})") from exc
    if not text.strip():
        raise FormatError(f"not a {name} body: the body is empty")
    try:
        return _DECODER.decode(text)
    except RecursionError as exc:  # the C scanner raises it past the recursion limit
        raise FormatError(f"not a {name} body: nested too deeply") from exc
    except FormatError as exc:
        raise FormatError(f"not a {name} body: not JSON ({exc})") from None
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
    #: Everything but ``detail``: RFC 9457 has one text member, and it holds the message.
    carries: frozenset[str] = CARRIABLE - {"detail"}

    def render(self, problem: Problem) -> bytes:
        """The problem+json body; members whose value is None are left out.

        Never raises for what the extensions hold: see the module docstring.
        """
        try:
            return encode_utf8(encode_json(self._body(problem)))
        except Exception:  # an extension JSON cannot hold; the fallback sorts it out
            return render_writable(self._body, problem)

    def _body(self, problem: Problem) -> dict[str, Any]:
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
            retry_after = retry_after_seconds(problem.retry_after)
            if retry_after is not None:
                body["retry_after"] = retry_after
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
        return body

    def parse(self, body: bytes, *, status: int | None = None) -> Problem:
        """A Problem from a problem+json body; unknown members become extensions."""
        data = load_json(body, self.name)
        if not isinstance(data, dict):
            raise FormatError(
                f"not a {self.name} body: expected an object at $, got {describe(data)}"
            )
        get = _Getter(data, self.name)
        body_status = get.status("status")
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
            retry_after=get.retry_after("retry_after"),
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

    def status(self, key: str) -> int | None:
        value = self.integer(key)
        if value is None or valid_status(value):
            return value
        raise FormatError(
            f"not a {self.name} body: expected an HTTP status from 100 to 599 at $.{key}, "
            f"got {shorten(str(value))}"
        )

    def retry_after(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self._wrong(key, "a number", value)
        seconds = valid_retry_after(value)
        if seconds is None:
            raise self._wrong(key, "a number of seconds >= 0 that fits a float", value)
        return seconds

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
