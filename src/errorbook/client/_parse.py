"""Reading an error response back into a Problem, with the formats the server rendered it in.

The server and the client share the catalog, so the format that wrote a body reads it back.
Which one, among the catalog's formats: the one whose media type the response's Content-Type
names, then the primary format, then the alternates. A body none of them reads (a proxy's
HTML 502 page, an empty body, garbage) still becomes a Problem through `problem_from`, which
never raises: a client handling an error must not fail on how the error looks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Final

import httpx

from .._errors import FormatError
from .._problem import Problem
from .._template_text import MessageTemplate
from ._errors import Attempt, ProblemError, Unparsed, exception_class, one_line

if TYPE_CHECKING:
    from .._catalog import Catalog
    from .._formats._base import Format
    from .._spec import ErrorSpec

__all__ = ["error_for", "parse", "problem_from", "reason_phrase", "snippet"]

#: How much of an unparsed body the snippet looks at, and how long the snippet may be.
_SNIPPET_BYTES: Final = 16 * 1024
_SNIPPET_CHARS: Final = 200
#: A request id, from the body or a header: visible ASCII only, so it is safe in logs and
#: messages.
_TOKEN: Final = re.compile(r"[\x21-\x7e]{1,200}\Z")


def parse(
    catalog: Catalog,
    body: bytes,
    *,
    status: int,
    content_type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Problem:
    """The Problem in ``body``, read by one of the catalog's formats and identified.

    The format whose media type ``content_type`` names is tried first (parameters such as
    ``charset`` are ignored; without ``content_type`` the headers' Content-Type is used),
    then the primary format, then the alternates. The parsed problem is identified against
    the catalog, which fills in its key, code, title and type.

    The body's status is taken when it is an error status (4xx or 5xx), since the status
    line may be a proxy's; a body that claims anything else is not believed, and ``status``
    stands. ``request_id`` comes from the body when it is a plain printable-ASCII token of at
    most 200 characters, else from an ``X-Request-Id`` header that is one; an id that is
    not is dropped, as it would forge log lines wherever it is quoted.

    Args:
        catalog: The catalog the server answers with.
        body: The response body, already decoded from any Content-Encoding.
        status: The HTTP status, for formats whose bodies do not carry one.
        content_type: The response's Content-Type.
        headers: The response headers.

    Raises:
        FormatError: no format of the catalog reads the body; the message says why each
            one refused it.
    """
    if content_type is None and headers is not None:
        content_type = _header(headers, "content-type")
    refusals = []
    for fmt in _candidates(catalog.formats, content_type):
        try:
            problem = fmt.parse(body, status=status)
        except FormatError as exc:
            refusals.append(str(exc))
            continue
        if not 400 <= problem.status <= 599 and problem.status != status:
            problem = problem.replace(status=status)  # before identifying, which uses it
        problem = _identify(catalog, fmt, problem)
        request_id = _token(problem.request_id)
        if request_id is None and headers is not None:
            request_id = _request_id(headers)
        if request_id != problem.request_id:
            problem = problem.replace(request_id=request_id)
        return problem
    raise FormatError(f"no format of {catalog.name!r} reads the body: {'; '.join(refusals)}")


def problem_from(
    catalog: Catalog,
    *,
    status: int,
    headers: httpx.Headers | Mapping[str, str],
    body: bytes,
    complete: bool = True,
) -> Problem:
    """The Problem a response holds; never raises.

    A body that `parse` cannot read gives an unparsed Problem (an `Unparsed`): key and code
    None, the status, the reason phrase as message (``Bad Gateway``) and a cleaned snippet
    of the body as detail, so logs show what came back. ``complete=False`` says the body was
    cut short at the client's read limit; a cut body is not parsed, since its start may
    parse while saying less than the whole.
    """
    if complete:
        try:
            return parse(catalog, body, status=status, headers=headers)
        except Exception:  # FormatError, or a custom format that broke its promise
            pass
    return Unparsed(
        code=None,
        status=status,
        message=reason_phrase(status),
        detail=snippet(body),
        request_id=_request_id(headers),
    )


def error_for(
    catalog: Catalog,
    problem: Problem,
    response: httpx.Response,
    attempts: Sequence[Attempt] = (),
) -> ProblemError:
    """The exception for ``problem``: its entry's typed class when the key is one of the
    catalog's, else ProblemError itself."""
    cls = ProblemError
    if problem.key is not None and problem.key in catalog:
        cls = exception_class(catalog, problem.key)
    return cls(problem, response=response, attempts=attempts)


def reason_phrase(status: int) -> str:
    """The reason phrase of ``status``; for a code Python does not name (Cloudflare's 522),
    the name of its class."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        pass
    if 400 <= status <= 499:
        return "Client Error"
    if 500 <= status <= 599:
        return "Server Error"
    return "Unknown Status"


def snippet(body: bytes) -> str:
    """The start of ``body`` as one line a log can hold: at most 200 characters, runs of
    whitespace collapsed to one space, invalid UTF-8 and other unprintable characters
    (controls, bidi overrides) replaced by U+FFFD, an ellipsis when cut."""
    return one_line(body[:_SNIPPET_BYTES].decode("utf-8", errors="replace"), _SNIPPET_CHARS)


def _candidates(formats: Sequence[Format], content_type: str | None) -> list[Format]:
    """The formats to try, those the Content-Type names first, in catalog order."""
    if not content_type:
        return list(formats)
    media = content_type.partition(";")[0].strip().lower()
    named = [fmt for fmt in formats if fmt.media_type.lower() == media]
    return named + [fmt for fmt in formats if fmt not in named]


def _identify(catalog: Catalog, fmt: Format, problem: Problem) -> Problem:
    """``catalog.identify``, plus what only the client knows about: the format.

    A shape with neither a code nor a place for field errors writes the errors after the
    message (``fold_fields``), so the message no longer equals any entry's template; it still
    starts with one. And a shape without a title gets the entry's title in the language its
    message was written in, not always in the catalog's.
    """
    folds = bool(getattr(fmt, "folds_fields", False))
    found = catalog.identify(problem)
    if found.key is None and problem.code is None and folds:
        for spec in catalog:
            if spec.status == problem.status and _language(spec, problem.message, folds):
                found = catalog.identify(problem.replace(code=spec.code))
                break
    if found.key is None or problem.title is not None or found.language is not None:
        return found
    spec = catalog[found.key]
    language = _language(spec, problem.message, folds)
    if language is None:
        return found
    return found.replace(title=spec.title_in(language, catalog.language), language=language)


def _language(spec: ErrorSpec, message: str, folds: bool) -> str | None:
    """The language of the entry's message template that ``message`` is a rendering of."""
    for language, template in spec.message.items():
        if template.matches(message) or (folds and _folded(template).matches(message)):
            return language
    return None


def _folded(template: MessageTemplate) -> MessageTemplate:
    # The template followed by " " and anything: what `fold_fields` makes of its rendering.
    # Matching stays linear, as for the template itself.
    *head, last = template.parts
    return MessageTemplate(template.source + " {...}", (*head, f"{last} ", "told", ""))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    if isinstance(headers, httpx.Headers):  # case-insensitive, repeated fields joined
        found: str | None = headers.get(name)
        return found
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _request_id(headers: Mapping[str, str]) -> str | None:
    """The X-Request-Id header when it is a plain token (a header can carry anything)."""
    value = _header(headers, "x-request-id")
    # A header's surrounding whitespace is not part of its value (RFC 9110 5.5); a body's is.
    return None if value is None else _token(value.strip())


def _token(value: object) -> str | None:
    """``value`` when it is a plain token; else None."""
    return value if isinstance(value, str) and _TOKEN.match(value) else None
