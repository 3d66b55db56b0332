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
                            status, else RFC 9457 ``about:blank`` with the status;
                            Litestar's shapes first: a ``ValidationException``
                            with ``extra`` is ``validation_failed`` (one
                            FieldError per item, from ``source`` and ``key``), and
                            a 400 raised from a ``SerializationException`` (a body
                            that does not decode) is ``invalid_json``
``RequestValidationError``  ``validation_failed``, one FieldError per ``errors()``
                            item, the pointer built from ``loc``; FastAPI's
                            ``json_invalid`` item is ``invalid_json``, with the
                            position of the JSONDecodeError it was raised from
``JSONDecodeError``         ``invalid_json`` with ``line`` and ``column``
``FormatError``             ``invalid_json``, with ``line``/``column`` when a
                            JSONDecodeError caused it
==========================  =====================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from jsonpointer import JsonPointer

from .._problem import FieldError, Problem
from ._respond import Responder

__all__ = ["HANDLERS", "Bare", "map_exception"]


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
    condition = {404: "unknown_route", 405: "method_not_allowed"}.get(status)
    if condition is not None:
        return responder.problem(
            condition, request_id=request_id, accept_language=accept_language, headers=headers
        )
    detail = getattr(exc, "detail", None)
    return responder.for_status(
        status,
        request_id=request_id,
        accept_language=accept_language,
        message=detail if isinstance(detail, str) else None,
        headers=headers,
    )


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
    extra = getattr(exc, "extra", None)
    if "ValidationException" in names and isinstance(extra, list):
        fields = [_litestar_field(item) for item in extra if isinstance(item, Mapping)]
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
    # Litestar names a body field by its key and other inputs by source and key
    # (source "query", key "limit"); the pointer follows FastAPI's loc the same way.
    source, key = item.get("source"), item.get("key")
    parts = [str(part) for part in (source, key) if part not in (None, "")]
    if parts and parts[0] == "body":
        parts = parts[1:]
    pointer = JsonPointer.from_parts(parts).path
    return FieldError(str(pointer), "invalid", str(item.get("message", "")))


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
    fields = [_field(item) for item in mappings]
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
    return {str(name): str(item) for name, item in value.items()}


#: Handlers by exception class name, searched along the raised exception's MRO.
HANDLERS: Final[Mapping[str, Handler]] = {
    "HTTPException": _http_exception,
    "RequestValidationError": _validation_error,
    "JSONDecodeError": _json_error,
    "FormatError": _json_error,
}
