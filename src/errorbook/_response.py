"""A Problem as the HTTP response a client receives: status, headers and body."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from http import HTTPStatus

from ._catalog import Catalog
from ._formats._base import Format
from ._formats._json import retry_after_seconds
from ._negotiation import choose_format
from ._problem import Problem

__all__ = ["ProblemResponse", "is_header_name", "render_response", "safe_header_value"]

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*\Z")


def safe_header_value(value: str) -> str:
    """``value`` with what cannot go in a header replaced, so no data can split one.

    CR and LF (and U+0085, U+2028 for lenient parsers) would end the header and let the rest
    become headers or a body of the attacker's choosing, so every control character becomes
    a space; other non-ASCII text, which servers cannot encode reliably, becomes ``?``.
    """
    if value.isascii() and value.isprintable():
        return value
    return _NON_ASCII.sub("?", _CONTROL.sub(" ", value.replace("\x85", " ").replace("\u2028", " ")))


def is_header_name(name: str) -> bool:
    """Whether ``name`` is a valid field name (an RFC 9110 token)."""
    return bool(_TOKEN.match(name))


@dataclass(frozen=True, slots=True)
class ProblemResponse:
    """What goes on the wire for one Problem."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    format: Format

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return ""

    def to_http(self, newline: str = "\r\n") -> str:
        """The response as HTTP/1.1 text; ``errorbook render`` prints it with plain newlines."""
        lines = [f"HTTP/1.1 {self.status} {self.reason}".rstrip()]
        lines.extend(f"{name}: {value}" for name, value in self.headers)
        head = newline.join(lines)
        return head + newline + newline + self.body.decode("utf-8", "replace")


def render_response(
    catalog: Catalog, problem: Problem, *, accept: str | None = None
) -> ProblemResponse:
    """Render ``problem`` in the format ``accept`` prefers among the catalog's formats.

    When Accept allows none of them the catalog's own format is used: refusing with 406 is
    the layer's decision, and a renderer must always be able to answer.
    """
    fmt = choose_format(catalog.formats, accept) or catalog.format
    body = fmt.render(problem)
    headers: list[tuple[str, str]] = [
        ("content-type", fmt.media_type),
        ("content-length", str(len(body))),
    ]
    if problem.language and _LANGUAGE_TAG.match(problem.language):
        headers.append(("content-language", problem.language))
    # The same reading of the hint as the body's: no header for NaN, infinities or numbers
    # past float range, 0 for a negative delay.
    retry_after = retry_after_seconds(problem.retry_after)
    if retry_after is not None:
        headers.append(("retry-after", str(math.ceil(retry_after))))
    if problem.request_id:
        headers.append(("x-request-id", safe_header_value(problem.request_id)))
    taken = {name for name, _ in headers}
    for name, value in problem.headers.items():
        lowered = name.lower()
        # A name that is not a token is dropped: it cannot be repaired without guessing,
        # and writing it would let data inject headers.
        if lowered not in taken and is_header_name(lowered):
            headers.append((lowered, safe_header_value(str(value))))
    return ProblemResponse(problem.status, tuple(headers), body, fmt)
