"""What the layer answers when the app raises: a lookup table keyed by class name.

Frameworks are never imported. Their exceptions are recognised by class name along the
raised exception's ``__mro__`` (the way Starlette finds a handler, but by name, so
``fastapi.HTTPException``, which subclasses Starlette's, Litestar's ``NotFoundException``,
which subclasses its own ``HTTPException``, and any look-alike all match) and then by
shape: a handler that finds the wrong shape (an ``HTTPException`` without an int
``status_code``) returns None and the search goes on up the MRO. What nothing maps is the
``internal`` condition, decided by the layer.

==========================  =====================================================
class name                  answer
==========================  =====================================================
``Problem``                 itself (errorbook's own, by ``isinstance``)
``HTTPException``           404 ``unknown_route``, 405 ``method_not_allowed`` (its
                            ``Allow`` kept), else the catalog's one entry for the
                            status (one without parameters: a bare status gives
                            no values to fill them with), else RFC 9457
                            ``about:blank`` with the status; its ``Retry-After``
                            (seconds or an HTTP date) becomes the problem's
                            ``retry_after``, winning over the entry's hint, and
                            framing headers (``Content-Length``,
                            ``Transfer-Encoding``, ``Connection``...) are dropped.
                            Litestar's shapes first: every
                            ``ValidationException`` is ``validation_failed``
                            (one FieldError per ``extra`` item, its pointer from
                            ``source`` and ``key``, msgspec's ``$.files[0].size``
                            read as ``/files/0/size``), and a 400 raised from a
                            ``SerializationException`` (a body that does not
                            decode) is ``invalid_json``
``RequestValidationError``  ``validation_failed``, one FieldError per ``errors()``
                            item, the pointer built from ``loc``; FastAPI's
                            ``json_invalid`` item is ``invalid_json``, with the
                            position of the JSONDecodeError it was raised from
``JSONDecodeError``         ``invalid_json`` with ``line`` and ``column``
``FormatError``             ``invalid_json``, with ``line``/``column`` when a
                            JSONDecodeError caused it
==========================  =====================================================

Field errors are listed up to `MAX_FIELD_ERRORS`, then one more says the rest were left
out: a body of 100,000 bad members must not become a megabytes-long answer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Final

from jsonpointer import JsonPointer

from .._problem import FieldError, Problem
from ._respond import Responder

__all__ = ["HANDLERS", "MAX_FIELD_ERRORS", "Bare", "map_exception"]

#: The most field errors one answer lists; one more says that others were left out.
MAX_FIELD_ERRORS: Final = 100
#: Headers that describe a message's framing or the connection, not the error: the layer
#: frames its own answer, so an exception's copies would contradict it (RFC 9110 7.6.1).
_FRAMING: Final = frozenset(
    {
        "connection",
        "content-encoding",
        "content-length",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_DELTA_SECONDS: Final = re.compile(r"[0-9]{1,10}\Z")
#: msgspec's path into a body: ``$``, then ``.name`` or ``[index]`` parts.
_MSGSPEC_PATH: Final = re.compile(r"\.([^.\[]+)|\[([0-9]+)\]")


class Bare:
    """A status without a body (``HTTPException(304)``): no problem document fits it."""

    __slots__ = ("headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str]) -> None:
        self.status = status
        self.headers = headers


Answer = Problem | Bare
Handler = Callable[[BaseException, Responder, str, "str | None"], "Answer | None"]
_NO_BODY: Final = frozenset({204, 205, 304})


def map_exception(
    exc: BaseException, responder: Responder, request_id: str, accept_language: str | None
) -> Answer | None:
    """The answer for ``exc``, or None when it is not a known kind (an internal error)."""
    if isinstance(exc, Problem):
        return exc.replace(request_id=request_id)
    for cls in type(exc).__mro__:
        handler = HANDLERS.get(cls.__name__)
        if handler is not None:
            answer = handler(exc, responder, request_id, accept_language)
            if answer is not None:
                return answer
    return None


def _http_exception(
    exc: BaseException, responder: Responder, request_id: str, accept_language: str | None
) -> Answer | None:
    status = getattr(exc, "status_code", None)
    # Not a final status (1xx, or not a status at all): a bug in the app, so internal.
    if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
        return None
    litestar = _litestar_shape(exc, status, responder, request_id, accept_language)
    if litestar is not None:
        return litestar
    headers = _headers(getattr(exc, "headers", None))
    if status in _NO_BODY:
        return Bare(status, headers)
    retry_after = _retry_after(headers)
    condition = {404: "unknown_route", 405: "method_not_allowed"}.get(status)
    if condition is not None:
        problem = responder.problem(
            condition, request_id=request_id, accept_language=accept_language, headers=headers
        )
    else:
        detail = getattr(exc, "detail", None)
        problem = responder.for_status(
            status,
            request_id=request_id,
            accept_language=accept_language,
            message=detail if isinstance(detail, str) else None,
            headers=headers,
        )
    # The app's own wait is what it knows now; the entry's hint only a guess made earlier.
    return problem if retry_after is None else problem.replace(retry_after=retry_after)


def _retry_after(headers: dict[str, str]) -> float | None:
    """Take ``Retry-After`` out of ``headers``: its seconds, or None if absent or unreadable.

    RFC 9110 10.2.3 allows delta-seconds or an HTTP date; a date is turned into the seconds
    from now (0 when it is past). An unreadable value is dropped rather than passed on.
    """
    found = [name for name in headers if name.lower() == "retry-after"]
    values = [headers.pop(name).strip() for name in found]
    if not values:
        return None
    value = values[0]
    if _DELTA_SECONDS.match(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _litestar_shape(
    exc: BaseException,
    status: int,
    responder: Responder,
    request_id: str,
    accept_language: str | None,
) -> Answer | None:
    """Litestar's request errors, which are HTTPExceptions with a 400 status."""
    if status != 400:
        return None
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "ValidationException" in names:
        # Every one is the client's input refused: with ``extra`` (what msgspec found) or
        # without (a required query parameter missing, only its message to go by).
        extra = getattr(exc, "extra", None)
        items = (
            [item for item in extra if isinstance(item, Mapping)] if isinstance(extra, list) else []
        )
        fields = _capped(_litestar_field(item) for item in items)
        detail = getattr(exc, "detail", None)
        if not fields and isinstance(detail, str) and detail:
            # "Missing required query parameter 'limit' for path /q": /query/limit.
            missing = _MISSING_PARAMETER.match(detail)
            parts = list(missing.groups()) if missing else []
            fields = [FieldError(JsonPointer.from_parts(parts).path, "required", detail)]
        return responder.problem(
            "validation_failed",
            request_id=request_id,
            accept_language=accept_language,
            fields=fields,
        )
    cause = exc.__cause__
    if cause is not None and type(cause).__name__ == "SerializationException":
        return _json_error(exc, responder, request_id, accept_language)
    return None


def _litestar_field(item: Mapping[str, Any]) -> FieldError:
    # Litestar names other inputs by source and key ("query", "limit"; the source may be
    # its ParamType enum) and the body by msgspec's path in the message
    # ("Expected `int`, got `str` - at `$.files[0].size`", key "files[0].size"), or by key
    # "data" alone when the body misses a member msgspec names in the message.
    source = item.get("source")
    source = getattr(source, "value", source)
    key = item.get("key")
    message = str(item.get("message", ""))
    if source in (None, "", "body"):
        parts = _body_parts(key, message)
    else:
        parts = [str(part) for part in (source, key) if part not in (None, "")]
    pointer = JsonPointer.from_parts(parts).path
    return FieldError(str(pointer), "invalid", message)


_AT: Final = re.compile(r" - at `(\$[^`]*)`\Z")
_MISSING_PARAMETER: Final = re.compile(r"\AMissing required ([a-z]+) parameter '([^']*)'")
_MISSING: Final = re.compile(r"\AObject missing required field `([^`]*)`")


def _body_parts(key: object, message: str) -> list[str]:
    """Pointer parts into the body, from msgspec's ``$.a[0].b`` path where there is one."""
    at = _AT.search(message)
    path = at.group(1) if at else None
    if path is None and isinstance(key, str) and key not in ("", "data"):
        path = "$." + key
    parts = _msgspec_parts(path) if path is not None else []
    missing = _MISSING.match(message)
    if missing is not None:
        parts.append(missing.group(1))  # the pointer names the member that is missing
    return parts


def _msgspec_parts(path: str) -> list[str]:
    """``$.files[0].size`` as ``["files", "0", "size"]``."""
    parts: list[str] = []
    for name, index in _MSGSPEC_PATH.findall(path[1:]):
        parts.append(name or index)
    return parts


def _capped(fields: Iterable[FieldError]) -> list[FieldError]:
    """At most `MAX_FIELD_ERRORS` field errors, then one saying that more were left out."""
    listed: list[FieldError] = []
    for field in fields:
        if len(listed) == MAX_FIELD_ERRORS:
            listed.append(
                FieldError(
                    "",
                    "more_errors",
                    f"Only the first {MAX_FIELD_ERRORS} field errors are listed; "
                    "fix them and send the request again to see the rest.",
                )
            )
            break
        listed.append(field)
    return listed


def _validation_error(
    exc: BaseException, responder: Responder, request_id: str, accept_language: str | None
) -> Answer | None:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return None
    items = errors()
    if not isinstance(items, list | tuple):
        return None
    mappings = [item for item in items if isinstance(item, Mapping)]
    if any(item.get("type") == "json_invalid" for item in mappings):
        # FastAPI's "JSON decode error", raised from the JSONDecodeError with the position.
        return _json_error(exc, responder, request_id, accept_language)
    fields = _capped(_field(item) for item in mappings)
    return responder.problem(
        "validation_failed",
        request_id=request_id,
        accept_language=accept_language,
        fields=fields,
    )


def _field(item: Mapping[str, Any]) -> FieldError:
    loc = item.get("loc", ())
    parts = list(loc) if isinstance(loc, list | tuple) else [loc]
    if parts and parts[0] == "body":
        # FastAPI prefixes body fields with "body"; the pointer is into the body already.
        parts = parts[1:]
    pointer = JsonPointer.from_parts([str(part) for part in parts]).path
    return FieldError(str(pointer), str(item.get("type", "invalid")), str(item.get("msg", "")))


def _json_error(
    exc: BaseException, responder: Responder, request_id: str, accept_language: str | None
) -> Answer | None:
    position: dict[str, int] = {}
    cause: BaseException | None = exc
    seen = 0
    # The decoder's error itself, or the one a FormatError was raised from.
    while cause is not None and seen < 8:
        line, column = getattr(cause, "lineno", None), getattr(cause, "colno", None)
        if isinstance(line, int) and isinstance(column, int):
            position = {"line": line, "column": column}
            break
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return responder.problem(
        "invalid_json",
        request_id=request_id,
        accept_language=accept_language,
        given=position,
        extensions=position,
    )


def _headers(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {
        str(name): str(item) for name, item in value.items() if str(name).lower() not in _FRAMING
    }


#: Handlers by exception class name, searched along the raised exception's MRO.
HANDLERS: Final[Mapping[str, Handler]] = {
    "HTTPException": _http_exception,
    "RequestValidationError": _validation_error,
    "JSONDecodeError": _json_error,
    "FormatError": _json_error,
}
