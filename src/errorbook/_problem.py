"""One occurrence of an error: the data every format renders and every parser gives back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FieldError", "Problem", "fold_fields"]


@dataclass(frozen=True, slots=True)
class FieldError:
    """What is wrong with one part of the request.

    Args:
        pointer: Where, as an RFC 6901 JSON pointer into the request body (``/files/0/size``);
            ``""`` is the whole document. Formats turn it into their own shape (a nested
            ``_errors`` tree, a dotted field path, ``source.pointer``).
        code: A machine-readable reason, stable across releases.
        message: What a person should read.
    """

    pointer: str
    code: str
    message: str


def fold_fields(message: str, fields: Iterable[FieldError]) -> str:
    """``message`` followed by each field error as ``pointer: message``.

    For shapes that have no member for field errors: without this a caller would learn that
    the request is invalid but not where (``The body is invalid. /name: expected a string;
    /files/0/size: must be 0 or more``).
    """
    told = "; ".join(
        f"{field.pointer}: {field.message}" if field.pointer else field.message for field in fields
    )
    return f"{message} {told}" if told else message


class Problem(Exception):
    """An error response, as data that can also be raised.

    A handler raises ``catalog.error("tracker_exists", name=n)``; the layer renders it in the
    catalog's format. A client parses a response body back into one. Rendering lives in
    formats, never here, so the same Problem can become JSON, XML or any vendor shape.

    All arguments are keyword-only, like httpx's ``HTTPStatusError``: they are data, and their
    order carries no meaning.

    Args:
        code: The wire code (string or integer) clients switch on.
        status: The HTTP status.
        message: The text the client reads (the entry's message template, rendered).
        key: The catalog entry's key; ``None`` when parsed from a body no catalog knows.
        title: The entry's short, occurrence-independent summary.
        detail: Occurrence-specific text beyond the message; only set where the entry lets
            details reach the client (never for 5xx by default).
        type: The URI of the entry's documentation (RFC 9457 ``type``).
        instance: A URI for this occurrence.
        fields: Field errors, each with an RFC 6901 pointer.
        extensions: Extra members of the body (RFC 9457 extension members).
        headers: Response headers this problem asks for (``Retry-After``, ``Allow``...).
        request_id: The request id, so a report can be matched to the server's logs.
        retry_after: Seconds to wait before retrying, when the entry says to retry after.
        params: The template parameters the message was rendered with.
        language: The language of ``title`` and ``message``.
    """

    __slots__ = (
        "code",
        "detail",
        "extensions",
        "fields",
        "headers",
        "instance",
        "key",
        "language",
        "message",
        "params",
        "request_id",
        "retry_after",
        "status",
        "title",
        "type",
    )

    def __init__(
        self,
        *,
        code: str | int | None,
        status: int,
        message: str,
        key: str | None = None,
        title: str | None = None,
        detail: str | None = None,
        type: str | None = None,
        instance: str | None = None,
        fields: Iterable[FieldError] = (),
        extensions: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        params: Mapping[str, Any] | None = None,
        language: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.key = key
        self.title = title
        self.detail = detail
        self.type = type
        self.instance = instance
        self.fields: tuple[FieldError, ...] = tuple(fields)
        self.extensions: dict[str, Any] = dict(extensions or {})
        self.headers: dict[str, str] = dict(headers or {})
        self.request_id = request_id
        self.retry_after = retry_after
        self.params: dict[str, Any] = dict(params or {})
        self.language = language

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"Problem(key={self.key!r}, code={self.code!r}, status={self.status!r}, "
            f"message={self.message!r})"
        )

    def replace(self, **changes: Any) -> Problem:
        """A copy with some members changed (the layer adds request ids this way)."""
        members = {name: getattr(self, name) for name in self.__slots__}
        members.update(changes)
        return Problem(**members)
