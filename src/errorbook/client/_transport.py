"""The retrying transports: httpx transports that wrap another and do only the I/O.

httpx puts the network behind a transport (``handle_request``), and wrapping one in another
is its own way to add behaviour to every client: redirects, auth and cookies stay with the
client, while retries sit below them, where one call of the client may become several
sends. Each transport here runs the steps `Retrier.plan` asks for (send, read an error
body, sleep) and decides nothing itself; see ``_retry``.
"""

from __future__ import annotations

import random as _random
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from contextlib import aclosing, closing, suppress
from typing import Any, ClassVar, Generic, TypeVar, cast

import httpx

from .._catalog import Catalog
from ._clock import Clock, SystemClock
from ._policy import RetryPolicy
from ._retry import Retrier, Step

__all__ = ["AsyncRetryTransport", "RetryTransport"]

_Wrapped = TypeVar("_Wrapped", httpx.BaseTransport, httpx.AsyncBaseTransport)


#: What breaks the reading of an error body.
_READ_ERRORS = (httpx.TransportError, httpx.DecodingError)


class BodyReader:
    """Collects an error body up to a cap; the transports feed it chunks as they read them.

    The cap counts decoded bytes, so a small compressed body that inflates to gigabytes is
    cut too. ``complete`` is False when the body was cut or its stream broke: a cut body is
    not parsed, since its start may parse while saying less than the whole.
    """

    __slots__ = ("_cap", "_chunks", "_size", "complete")

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._chunks: list[bytes] = []
        self._size = 0
        self.complete = True

    def __enter__(self) -> BodyReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> bool:
        """A stream that breaks part way (a dropped connection, a broken gzip) leaves the
        body read so far, marked incomplete; anything else propagates."""
        if exc_type is not None and issubclass(exc_type, _READ_ERRORS):
            self.complete = False
            return True
        return False

    def add(self, chunk: bytes) -> bool:
        """Take ``chunk``; False once the cap is passed (stop reading)."""
        room = self._cap - self._size
        if len(chunk) > room:
            self._chunks.append(chunk[:room])
            self._size = self._cap
            self.complete = False
            return False
        self._chunks.append(chunk)
        self._size += len(chunk)
        return True

    def result(self) -> tuple[bytes, bool]:
        return b"".join(self._chunks), self.complete


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
        self._retrier.clock.sleep(step)
        return None

    def _read(self, response: httpx.Response) -> tuple[bytes, bool]:
        body = BodyReader(self._retrier.policy.max_error_body)
        try:
            with body, closing(_generator(response.iter_bytes())) as chunks:
                for chunk in chunks:
                    if not body.add(chunk):
                        break
        finally:
            with suppress(httpx.TransportError):
                response.close()  # the connection goes back to the pool
        return body.result()

    def close(self) -> None:
        self._wrapped.close()


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
        await self._retrier.clock.asleep(step)
        return None

    async def _read(self, response: httpx.Response) -> tuple[bytes, bool]:
        body = BodyReader(self._retrier.policy.max_error_body)
        try:
            with body:
                async with aclosing(_agenerator(response.aiter_bytes())) as chunks:
                    async for chunk in chunks:
                        if not body.add(chunk):
                            break
        finally:
            with suppress(httpx.TransportError):
                await response.aclose()
        return body.result()

    async def aclose(self) -> None:
        await self._wrapped.aclose()


# httpx declares iter_bytes/aiter_bytes as iterators; they are generators, and closing one
# explicitly when the cap stops the reading early finalises it now, not at some later GC.
def _generator(chunks: Iterator[bytes]) -> Generator[bytes, None, None]:
    return cast("Generator[bytes, None, None]", chunks)


def _agenerator(chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    return cast("AsyncGenerator[bytes, None]", chunks)
