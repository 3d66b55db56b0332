"""`Client` and `AsyncClient`: httpx clients for one API, its catalog and its key.

They are httpx's own clients (``Client(httpx.Client)``), so every httpx argument, method and
habit works as before; what they add is the catalog, an API key header, and the retrying
transport under everything the client sends.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Final, Generic, TypeVar

import httpx

from .._catalog import Catalog
from .._problem import Problem
from .._response import is_header_name
from ._parse import problem_from
from ._policy import RetryPolicy
from ._requests import origin
from ._transport import AsyncRetryTransport, RetryTransport

__all__ = ["AsyncClient", "Client"]

_T = TypeVar("_T", httpx.BaseTransport, httpx.AsyncBaseTransport)

# Visible latin-1 and the space: no C0 controls (CR and LF would let a key split the
# header and smuggle a second one), no DEL, no C1 controls.
_HEADER_VALUE: Final = re.compile(r"[\x20-\x7e\xa0-\xff]+\Z")


class _Errorbook(Generic[_T]):
    """What `Client` and `AsyncClient` add to httpx's clients, written once.

    A mixin placed before the httpx class, so its ``__init__`` checks and prepares the
    arguments, hands the rest to httpx, then wraps the transports httpx set up.
    """

    #: The retrying transport class for this kind of client.
    _retrying: ClassVar[type[Any]]
    catalog: Catalog
    policy: RetryPolicy

    def __init__(
        self,
        base_url: str | httpx.URL = "",
        *,
        catalog: Catalog | str | None = None,
        api_key: str | None = None,
        api_key_header: str = "Authorization",
        policy: RetryPolicy | None = None,
        transport: _T | None = None,
        **kwargs: Any,
    ) -> None:
        # Everything is checked before httpx builds anything: a refused key leaves no
        # connection pool behind.
        self.catalog = Catalog.load(catalog if catalog is not None else "rfc9457")
        if policy is None and isinstance(transport, self._retrying):
            policy = transport.policy  # the transport adopted below retries by its own
        self.policy = policy if policy is not None else RetryPolicy()
        key = None
        if api_key is not None:
            key = _key_header(api_key, api_key_header)
            kwargs["headers"] = _without(kwargs.get("headers"), key[0])
        # The next class in the MRO is httpx.Client or httpx.AsyncClient.
        super().__init__(base_url=base_url, transport=transport, **kwargs)  # type: ignore[call-arg]
        if key is not None:
            # Added per request, by origin, in a request hook: httpx runs those on every
            # hop of a redirect, and carries any other header to wherever it leads.
            client_base: httpx.URL = getattr(self, "base_url")  # noqa: B009 - httpx's
            home = origin(client_base) if client_base.host else None
            hooks: Any = getattr(self, "event_hooks")  # noqa: B009 - httpx's
            hooks["request"].insert(0, self._key_hook(_KeyHook(home, *key)))
            setattr(self, "event_hooks", hooks)  # noqa: B010 - httpx's setter copies
        # httpx keeps the default transport and the mounts (proxies from the environment,
        # ``mounts=``) apart; both are wrapped, so no request escapes the retries because a
        # proxy is configured.
        client: Any = self
        client._transport = self._wrap(client._transport)
        client._mounts = {
            pattern: self._wrap(mounted) if mounted is not None else None
            for pattern, mounted in client._mounts.items()
        }

    def _wrap(self, transport: _T) -> _T:
        if isinstance(transport, self._retrying):
            adopted: _T = transport  # retrying already: a second layer would retry retries
            return adopted
        wrapped: _T = self._retrying(transport, catalog=self.catalog, policy=self.policy)
        return wrapped

    @staticmethod
    def _key_hook(hook: _KeyHook) -> Any:
        return hook.apply

    def parse(self, response: httpx.Response) -> Problem:
        """The Problem in a read error response (``await response.aread()`` first when an
        async one is streamed), by this client's catalog; a body it cannot read gives an
        unparsed Problem, never an exception (see `problem_from`)."""
        return problem_from(
            self.catalog,
            status=response.status_code,
            headers=response.headers,
            body=response.content,
        )


class Client(_Errorbook[httpx.BaseTransport], httpx.Client):
    """An ``httpx.Client`` that retries, and raises the catalog's typed errors.

    ::

        from errorbook import Client

        with Client("https://api.example.com", catalog="tape", api_key=KEY) as client:
            try:
                client.post("/v1/transfers", json=payload)
            except client.catalog.errors.ValidationError as err:
                for field in err.fields:
                    print(field.pointer, field.message)

    Every transport the client sends through (the default one, a ``transport`` passed in,
    proxy mounts and ``mounts=``) is wrapped in a `RetryTransport` that shares one policy,
    so one budget and one breaker; closing the client closes them and what they wrap. A
    `RetryTransport` given as ``transport`` (or mounted) is used as it is, not wrapped in
    another, and its policy becomes the client's when no ``policy`` is given.

    Args:
        base_url: The API's root URL.
        catalog: The API's catalog: a `Catalog`, a profile name or a file path; the
            ``rfc9457`` profile by default.
        api_key: Sent in ``api_key_header`` on every request to ``base_url``'s origin
            (scheme, host and port; never to another, even through a redirect): as
            ``Bearer KEY`` when that is ``Authorization``, as is otherwise.
        api_key_header: The header the key goes in.
        policy: How to retry; ``RetryPolicy()`` by default.
        transport: The transport that sends (wrapped); httpx's default otherwise.
        **kwargs: Anything ``httpx.Client`` takes (``timeout``, ``headers``, ``http2``...).

    Raises:
        ValueError: ``api_key`` is blank, holds a line break, another control character or
            a character beyond latin-1, or ``api_key_header`` is not a header name.
    """

    _retrying = RetryTransport


class AsyncClient(_Errorbook[httpx.AsyncBaseTransport], httpx.AsyncClient):
    """The twin of `Client` for asyncio and trio: the same arguments, an async
    ``transport``, and an `AsyncRetryTransport` under everything it sends."""

    _retrying = AsyncRetryTransport

    @staticmethod
    def _key_hook(hook: _KeyHook) -> Any:
        return hook.aapply


class _KeyHook:
    """Puts the API key on requests to the client's own origin (scheme, host, port) and
    keeps it off any other, such as the target of a cross-origin redirect. With no base
    URL there is no origin to keep to, and every request gets the key."""

    __slots__ = ("_home", "_lowered", "_name", "_value")

    def __init__(self, home: str | None, name: bytes, value: bytes) -> None:
        self._home, self._name, self._value = home, name, value
        self._lowered = name.lower()

    def apply(self, request: httpx.Request) -> None:
        raw = request.headers.raw
        ours = [val for key, val in raw if key.lower() == self._lowered]
        if self._home is None or origin(request.url) == self._home:
            if not ours:  # a header the caller set on this request wins
                request.headers = httpx.Headers([*raw, (self._name, self._value)])
        elif self._value in ours:
            kept = [(k, v) for k, v in raw if k.lower() != self._lowered or v != self._value]
            request.headers = httpx.Headers(kept)

    async def aapply(self, request: httpx.Request) -> None:
        self.apply(request)


def _key_header(api_key: object, name: object) -> tuple[bytes, bytes]:
    if not isinstance(name, str) or not is_header_name(name):
        raise ValueError(f"api_key_header must be an HTTP header name, got {name!r}")
    if not isinstance(api_key, str) or not _HEADER_VALUE.match(api_key) or not api_key.strip():
        # The key itself stays out of the message: it is a secret.
        raise ValueError(
            "api_key must be non-blank latin-1 text without control characters (a line "
            "break would split the header)"
        )
    value = f"Bearer {api_key}" if name.lower() == "authorization" else api_key
    # Raw bytes: httpx would encode a str value as UTF-8, not the latin-1 HTTP means.
    return name.encode("ascii"), value.encode("latin-1")


def _without(headers: Any, name: bytes) -> httpx.Headers:
    """The client's default headers without ``name``: the key set per request replaces it."""
    lowered = name.lower()
    return httpx.Headers([(k, v) for k, v in httpx.Headers(headers).raw if k.lower() != lowered])
