"""The retrying transports: httpx transports that wrap another and do only the I/O.

httpx puts the network behind a transport (``handle_request``), and wrapping one in another
is its own way to add behaviour to every client: redirects, auth and cookies stay with the
client, while retries sit below them, where one call of the client may become several
sends. Each transport here runs the steps `Retrier.plan` asks for (send, read an error
body, sleep) and decides nothing itself; see ``_retry``.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from contextlib import suppress
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar

import httpx

from .._catalog import Catalog
from ._body import Body, BodyReader, Discard, resumed
from ._clock import Clock, SystemClock
from ._policy import RetryPolicy
from ._retry import Retrier, Step

__all__ = ["AsyncRetryTransport", "RetryTransport"]

_Wrapped = TypeVar("_Wrapped", httpx.BaseTransport, httpx.AsyncBaseTransport)


class _Base(Generic[_Wrapped]):
    """What both transports share: the arguments, and the rules (`Retrier`) built from
    them. Generic in the wrapped transport, so one signature serves both twins and the sync
    one still refuses an async transport in a type checker."""

    #: What sends when no ``wrapped`` is given: httpx's own default transport.
    _default: ClassVar[type[Any]]

    def __init__(
        self,
        wrapped: _Wrapped | None = None,
        *,
        catalog: Catalog | str | None = None,
        policy: RetryPolicy | None = None,
        raise_errors: bool = True,
        clock: Clock | None = None,
        random: Callable[[], float] | None = None,
    ) -> None:
        self._wrapped: _Wrapped = wrapped if wrapped is not None else self._default()
        self._retrier = Retrier(
            catalog=Catalog.load(catalog if catalog is not None else "rfc9457"),
            policy=policy if policy is not None else RetryPolicy(),
            clock=clock if clock is not None else SystemClock(),
            random=random if random is not None else _random.random,
            raise_errors=raise_errors,
        )

    @property
    def catalog(self) -> Catalog:
        """The catalog error bodies are parsed with."""
        return self._retrier.catalog

    @property
    def policy(self) -> RetryPolicy:
        """How this transport retries."""
        return self._retrier.policy


class RetryTransport(_Base[httpx.BaseTransport], httpx.BaseTransport):
    """Retries, typed errors and a circuit breaker for any ``httpx.Client``.

    ::

        transport = RetryTransport(httpx.HTTPTransport(), catalog="tape")
        client = httpx.Client(transport=transport, base_url="https://api.example.com")

    A 1xx, 2xx or 3xx response is returned untouched (redirects and 304 are the client's
    business). A 4xx or 5xx is retried when the rules say so; the last one is read (up to
    ``policy.max_error_body`` bytes), closed, and raised as the catalog's typed
    `ProblemError`, or returned, body read, when ``raise_errors`` is False. The last
    connection error is raised as itself, with ``attempts`` set on it and a note listing them.

    Args:
        wrapped: The transport that sends; a new ``httpx.HTTPTransport()`` by default.
        catalog: The catalog (or a profile name or file path) error bodies are read with;
            the ``rfc9457`` profile by default.
        policy: How to retry; ``RetryPolicy()`` by default.
        raise_errors: False to return the final error response instead of raising.
        clock: The time source and sleeper; tests pass a fake one.
        random: The jitter source, returning a float in [0, 1).
    """

    _default = httpx.HTTPTransport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        plan = self._retrier.plan(request)
        try:
            step = next(plan)
            while True:
                step = plan.send(self._perform(step))
        except StopIteration as done:
            response: httpx.Response = done.value
            return response
        finally:
            plan.close()

    def _perform(self, step: Step) -> object:
        if isinstance(step, httpx.Request):
            try:
                return self._wrapped.handle_request(step)
            except httpx.TransportError as exc:
                return exc
        if isinstance(step, httpx.Response):
            return self._read(step)
        if isinstance(step, Discard):
            with suppress(httpx.TransportError):
                step.response.close()
            return None
        self._retrier.clock.sleep(step)
        return None

    def _read(self, response: httpx.Response) -> Body:
        keep = not self._retrier.raise_errors
        body = _reader(self._retrier.policy.max_error_body, response, keep)
        whole = None
        try:
            if _read_already(response, body) or not body.readable:
                pass
            else:
                stream = response.stream
                if not isinstance(stream, httpx.SyncByteStream):
                    raise TypeError(f"a sync transport returned {type(stream).__name__}")
                # The raw stream, not iter_bytes(): it inflates a whole chunk at once.
                rest = iter(stream)
                with body:
                    for chunk in rest:
                        if not body.add(chunk):
                            break
                if keep and body.cut:
                    whole = resumed(response, body.raw, rest)
            if keep and body.cut and whole is None:
                whole = _unread(response, body)
        finally:
            if whole is None:
                with suppress(httpx.TransportError):
                    response.close()  # the connection goes back to the pool
        data, complete = body.result()
        return Body(data, complete, whole)

    def close(self) -> None:
        self._wrapped.close()

    def __enter__(self) -> RetryTransport:
        self._wrapped.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        self._wrapped.__exit__(exc_type, exc, tb)


class AsyncRetryTransport(_Base[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport):
    """The twin of `RetryTransport` for ``httpx.AsyncClient``, with the same arguments and
    the same rules; ``wrapped`` is an async transport (``httpx.AsyncHTTPTransport()`` by
    default). A cancellation while waiting between attempts propagates at once, as it
    would from any ``await``."""

    _default = httpx.AsyncHTTPTransport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        plan = self._retrier.plan(request)
        try:
            step = next(plan)
            while True:
                step = plan.send(await self._perform(step))
        except StopIteration as done:
            response: httpx.Response = done.value
            return response
        finally:
            plan.close()

    async def _perform(self, step: Step) -> object:
        if isinstance(step, httpx.Request):
            try:
                return await self._wrapped.handle_async_request(step)
            except httpx.TransportError as exc:
                return exc
        if isinstance(step, httpx.Response):
            return await self._read(step)
        if isinstance(step, Discard):
            with suppress(httpx.TransportError):
                await step.response.aclose()
            return None
        await self._retrier.clock.asleep(step)
        return None

    async def _read(self, response: httpx.Response) -> Body:
        keep = not self._retrier.raise_errors
        body = _reader(self._retrier.policy.max_error_body, response, keep)
        whole = None
        try:
            if _read_already(response, body) or not body.readable:
                pass
            else:
                stream = response.stream
                if not isinstance(stream, httpx.AsyncByteStream):
                    raise TypeError(f"an async transport returned {type(stream).__name__}")
                rest = aiter(stream)
                with body:
                    async for chunk in rest:
                        if not body.add(chunk):
                            break
                if keep and body.cut:
                    whole = resumed(response, body.raw, rest)
            if keep and body.cut and whole is None:
                whole = _unread(response, body)
        finally:
            if whole is None:
                with suppress(httpx.TransportError):
                    await response.aclose()
        data, complete = body.result()
        return Body(data, complete, whole)

    async def aclose(self) -> None:
        await self._wrapped.aclose()

    async def __aenter__(self) -> AsyncRetryTransport:
        await self._wrapped.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        await self._wrapped.__aexit__(exc_type, exc, tb)


def _reader(cap: int, response: httpx.Response, keep: bool) -> BodyReader:
    encoding = response.headers.get("content-encoding")
    return BodyReader(cap, encoding, keep_raw=keep)


def _read_already(response: httpx.Response, body: BodyReader) -> bool:
    """Feed ``body`` a response httpx has read already (``Response(content=...)``, as a
    MockTransport handler often returns); False when it is still to stream."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return False
    body.add_decoded(content)
    return True


def _unread(response: httpx.Response, body: BodyReader) -> httpx.Response | None:
    """The response to give back whole when nothing of it had to be streamed here: the
    original, already read, or not read at all (an encoding not inflated here)."""
    return response if body.cut else None
