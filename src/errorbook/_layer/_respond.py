"""Turning a refusal into the catalog's answer: which entry, which language, which bytes.

The layer only ever names a condition (``payload_too_large``) or hands over a Problem; this
module finds the catalog entry, fills the entry's declared template parameters from what the
layer knows (and from the entry's example for the rest, so a catalog that declares more
parameters than the layer can know still renders), picks the language from
``Accept-Language`` and the format from ``Accept``, and produces the two ASGI messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, Final

from .._catalog import Catalog
from .._conditions import CONDITIONS
from .._formats._base import Format
from .._negotiation import choose_language
from .._problem import FieldError, Problem
from .._response import render_response, safe_header_value
from .._spec import PARAM_TYPES, ErrorSpec
from ._types import Message

__all__ = ["GENERIC_CONDITIONS", "Responder"]

#: Conditions that are what their status generally means, so an entry answering them may
#: answer a framework's bare ``HTTPException(status)`` too. ``idempotency_in_flight`` (409),
#: ``invalid_json`` (400) or ``maintenance`` (503) are too specific to stand for every 409,
#: 400 or 503.
GENERIC_CONDITIONS: Final = frozenset(
    {
        "unknown_route",
        "method_not_allowed",
        "unauthenticated",
        "forbidden",
        "not_acceptable",
        "unsupported_media_type",
        "payload_too_large",
        "rate_limited",
        "validation_failed",
        "internal",
        "timeout",
    }
)
_PLACEHOLDERS: Final[Mapping[str, Any]] = {"str": "", "int": 0, "float": 0.0, "bool": False}
_TOKEN: Final = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
# Two request ids no client sends (they are never accepted from outside: too long).
_PLACEHOLDER_A: Final = "errorbook-placeholder-a." + "0" * 110
_PLACEHOLDER_B: Final = "errorbook-placeholder-b." + "1" * 110
_CACHE_SIZE: Final = 1024
_UNSET: Final[Any] = object()


class Responder:
    """Renders the catalog's answers for one layer; everything static is built here, once."""

    def __init__(self, catalog: Catalog, *, request_id_header: str) -> None:
        self.catalog = catalog
        self.specs: dict[str, ErrorSpec] = {c: catalog.for_condition(c) for c in CONDITIONS}
        self._request_id_header = request_id_header
        self._rid_key = request_id_header.encode("ascii")
        self._by_status = _unique_by_status(catalog)
        self._prepared: dict[tuple[Any, ...], _Prepared | None] = {}
        self._formats_checked: dict[str, bool] = {}

    def answer(
        self,
        condition: str,
        request_id: bytes,
        accept: bytes | None,
        accept_language: bytes | None,
        *,
        extra: tuple[tuple[str, str], ...] = (),
        given: tuple[tuple[str, Any], ...] = (),
        retry_after: float | None = None,
        default_retry_after: float | None = None,
        entry: str | None = None,
        head: bool = False,
    ) -> tuple[Message, Message]:
        """The two ASGI messages answering ``condition``, from a cache of rendered answers.

        ``entry`` names a catalog entry that answers instead of the condition's (a route's
        own concurrency refusal); ``retry_after`` is a computed wait that wins over the
        entry's hint, ``default_retry_after`` one that applies only where the entry has none.

        A condition's answer differs between requests only in the request id, once the
        format, the language and the extra headers are fixed; so it is rendered once per
        (condition, raw ``Accept``, raw ``Accept-Language``, headers, parameters) with a
        placeholder id, and each request joins its own id in. Request ids are restricted to
        ``[A-Za-z0-9._:-]``, which no format escapes, so the join gives exactly the bytes a
        full render would (checked once per entry; a format that breaks this is rendered in
        full every time).
        """
        key = (
            condition,
            accept,
            accept_language,
            extra,
            given,
            retry_after,
            default_retry_after,
            entry,
        )
        prepared = self._prepared.get(key, _UNSET)
        if prepared is _UNSET:
            if len(self._prepared) >= _CACHE_SIZE:
                self._prepared.clear()
            prepared = self._prepared[key] = self._prepare(key)
        if isinstance(prepared, _Prepared):
            body = request_id.join(prepared.parts)
            headers = [
                *prepared.headers,
                (b"content-length", str(len(body)).encode("ascii")),
                (self._rid_key, request_id),
            ]
            start: Message = {
                "type": "http.response.start",
                "status": prepared.status,
                "headers": headers,
            }
            return start, {"type": "http.response.body", "body": b"" if head else body}
        problem = self._problem_for(key, request_id.decode("ascii"))
        return self.messages(problem, accept=_text(accept), head=head)

    def _problem_for(self, key: tuple[Any, ...], request_id: str) -> Problem:
        condition, _, accept_language, extra, given, retry_after, default, entry = key
        return self.entry(
            self.specs[condition] if entry is None else self.catalog[entry],
            request_id=request_id,
            accept_language=_text(accept_language),
            given=dict(given),
            headers=dict(extra),
            retry_after=retry_after,
            default_retry_after=default,
        )

    def _prepare(self, key: tuple[Any, ...]) -> _Prepared | None:
        problem = self._problem_for(key, _PLACEHOLDER_A)
        response = render_response(self.catalog, problem, accept=_text(key[1]))
        if not self._substitutable(response.format, problem):
            return None
        skip = ("content-length", "x-request-id")
        headers = self.raw_headers(pair for pair in response.headers if pair[0] not in skip)
        return _Prepared(problem.status, headers, response.body.split(_PLACEHOLDER_A.encode()))

    def _substitutable(self, fmt: Format, problem: Problem) -> bool:
        """Whether ``fmt`` writes a request id verbatim, so joining one in equals rendering.

        Checked once per format: render with two ids and compare.
        """
        known = self._formats_checked.get(fmt.name)
        if known is None:
            first = fmt.render(problem).split(_PLACEHOLDER_A.encode())
            second = fmt.render(problem.replace(request_id=_PLACEHOLDER_B))
            known = self._formats_checked[fmt.name] = _PLACEHOLDER_B.encode().join(first) == second
        return known

    def problem(
        self,
        condition: str,
        *,
        request_id: str,
        accept_language: str | None,
        given: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        fields: Iterable[FieldError] = (),
        extensions: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
        default_retry_after: float | None = None,
    ) -> Problem:
        """The catalog's Problem for ``condition``, in the client's language."""
        return self.entry(
            self.specs[condition],
            request_id=request_id,
            accept_language=accept_language,
            given=given,
            headers=headers,
            fields=fields,
            extensions=extensions,
            retry_after=retry_after,
            default_retry_after=default_retry_after,
        )

    def entry(
        self,
        spec: ErrorSpec,
        *,
        request_id: str,
        accept_language: str | None,
        given: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        fields: Iterable[FieldError] = (),
        extensions: Mapping[str, Any] | None = None,
        detail: str | None = None,
        retry_after: float | None = None,
        default_retry_after: float | None = None,
    ) -> Problem:
        """A Problem for one catalog entry, its declared parameters filled from ``given``.

        ``retry_after`` is a wait the layer computed (a rate limit's): it wins over the
        entry's static hint, which is only a guess made when the catalog was written.
        ``default_retry_after`` applies only where the entry has no hint of its own (the
        maintenance fallback).
        """
        if retry_after is None:
            retry_after = spec.retry_after if spec.retry_after is not None else default_retry_after
        language = choose_language(spec.languages, accept_language, self.catalog.language)
        return self.catalog.problem(
            spec.key,
            detail=detail,
            fields=fields,
            extensions=extensions,
            headers=headers,
            request_id=request_id,
            language=language,
            retry_after=retry_after,
            **_params(spec, given or {}),
        )

    def for_status(
        self,
        status: int,
        *,
        request_id: str,
        accept_language: str | None,
        message: str | None,
        headers: Mapping[str, str] | None,
    ) -> Problem:
        """An answer for a bare status: the catalog's one entry for it, else RFC 9457's way.

        RFC 9457's way is ``about:blank``: no code, the status phrase as title, and the
        framework's message (4xx only; a 5xx says only its phrase).
        """
        spec = self._by_status.get(status)
        if spec is not None:
            return self.entry(
                spec,
                request_id=request_id,
                accept_language=accept_language,
                headers=headers,
                detail=message,
            )
        phrase = _phrase(status)
        text = message if message and status < 500 else phrase
        return Problem(
            code=None,
            status=status,
            message=text or str(status),
            title=phrase or None,
            headers=headers,
            request_id=request_id,
        )

    def messages(
        self, problem: Problem, *, accept: str | None, head: bool = False
    ) -> tuple[Message, Message]:
        """The ``http.response.start`` and ``http.response.body`` messages for ``problem``.

        Header names that are not HTTP tokens are dropped and values are Latin-1 with
        controls already replaced (`render_response`), so nothing from the request or a
        handler can split a header.
        """
        response = render_response(self.catalog, problem, accept=accept)
        raw = self.raw_headers(
            (self._request_id_header if name == "x-request-id" else name, value)
            for name, value in response.headers
        )
        start: Message = {"type": "http.response.start", "status": problem.status, "headers": raw}
        body: Message = {"type": "http.response.body", "body": b"" if head else response.body}
        return start, body

    @staticmethod
    def raw_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
        """ASGI headers from str pairs: names lowercased and only if HTTP tokens, values
        with control characters replaced and encoded as Latin-1 (``?`` for what is not)."""
        raw: list[tuple[bytes, bytes]] = []
        for name, value in headers:
            encoded = name.lower().encode("latin-1", "replace")
            if _TOKEN.match(encoded):
                raw.append((encoded, safe_header_value(value).encode("latin-1", "replace")))
        return raw


class _Prepared:
    __slots__ = ("headers", "parts", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], parts: list[bytes]):
        self.status = status
        self.headers = headers
        self.parts = parts


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _params(spec: ErrorSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, kind in spec.params.items():
        value = given.get(name)
        if value is not None and not isinstance(value, PARAM_TYPES[kind]):
            value = str(value) if kind == "str" else None
        if isinstance(value, bool) and kind != "bool":
            value = None
        if value is None:
            value = spec.example.get(name, _PLACEHOLDERS[kind])
        params[name] = value
    return params


def _unique_by_status(catalog: Catalog) -> dict[int, ErrorSpec]:
    candidates: dict[int, list[ErrorSpec]] = {}
    for spec in catalog:
        generic = all(condition in GENERIC_CONDITIONS for condition in spec.on)
        # An entry with parameters ("tracker {name} exists", "the limit of {limit} bytes")
        # cannot be filled from a bare status without making values up, so it does not
        # stand for that status.
        if generic and not spec.params:
            candidates.setdefault(spec.status, []).append(spec)
    return {status: specs[0] for status, specs in candidates.items() if len(specs) == 1}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
