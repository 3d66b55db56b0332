"""A Problem as the HTTP response a client receives: status, headers and body."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from http import HTTPStatus

from ._catalog import Catalog
from ._formats._base import Format
from ._negotiation import choose_format
from ._problem import Problem

__all__ = ["ProblemResponse", "render_response", "safe_header_value"]

_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def safe_header_value(value: str) -> str:
    """``value`` with control characters replaced, so no data can split a header.

    CR and LF would end the header and let the rest become headers or a body of the
    attacker's choosing; every other control character is invalid in a field value too.
    """
    return _UNSAFE.sub(" ", value) if _UNSAFE.search(value) else value


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
    if problem.language:
        headers.append(("content-language", problem.language))
    if problem.retry_after is not None:
        headers.append(("retry-after", str(max(0, math.ceil(problem.retry_after)))))
    if problem.request_id:
        headers.append(("x-request-id", safe_header_value(problem.request_id)))
    taken = {name for name, _ in headers}
    for name, value in problem.headers.items():
        lowered = name.lower()
        if lowered not in taken:
            headers.append((lowered, safe_header_value(value)))
    return ProblemResponse(problem.status, tuple(headers), body, fmt)
