"""The ASGI types the layer speaks, and the per-route options it takes.

Spelled out here rather than imported, so the layer needs no web framework (asgiref's and
Starlette's ``types`` modules say the same thing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypedDict

from ._auth import AuthRequest

if TYPE_CHECKING:
    from .._state import Limit

__all__ = [
    "ASGIApp",
    "ConcurrencyOptions",
    "Cost",
    "IdempotencyMode",
    "KeyBy",
    "Message",
    "Receive",
    "RouteOptions",
    "Scope",
    "Send",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Whom a limit counts: ``"principal"`` (the authenticated caller; the client address on
#: routes without one), ``"ip"`` (the client address, through trusted proxies), or a
#: callable ``key(request) -> str | None`` (None exempts the request).
KeyBy: TypeAlias = Literal["principal", "ip"] | Callable[[AuthRequest], str | None]
#: What one request costs against its rate limits: a whole number, or a callable
#: ``cost(request) -> int`` (sync; it runs on every limited request).
Cost: TypeAlias = int | Callable[[AuthRequest], int]
#: ``"off"``, ``"optional"`` (honour an ``Idempotency-Key`` when sent) or ``"required"``.
IdempotencyMode = Literal["off", "optional", "required"]


class ConcurrencyOptions(TypedDict, total=False):
    """A concurrency limit spelled out: ``{"limit": 1, "key": "ip"}``.

    Attributes:
        limit: At most this many requests in flight per key on the route (required).
        key: Whom it counts (`KeyBy`); the layer's ``rate_key`` by default.
    """

    limit: int
    key: KeyBy


class RouteOptions(TypedDict, total=False):
    """What one route does differently from the layer's defaults.

    Keys of ``ErrorLayer(route_options=...)`` name the route as ``"METHOD /pattern"`` or, for
    every method, ``"/pattern"``; a method-specific entry wins over a pattern-wide one.

    Attributes:
        public: Skip authentication (a health check, a login endpoint).
        max_body: The body limit in bytes for this route; ``None`` lifts the layer's limit.
        body_types: The request media types this route reads (``"*/*"`` or ``"image/*"``
            accept families), instead of the layer's ``body_types``.
        produces: The media types this route answers in, checked against ``Accept`` for 406,
            in addition to the catalog's formats.
        maintenance: False keeps the route open while the layer is in maintenance mode (an
            admin route that switches maintenance off, a status page); True, the default,
            closes it with the rest.
        rate: This route's own rate limits (``["10/second", "1000/day"]`` or `Limit`
            objects), checked all-or-nothing and counted per key *for this route*, instead
            of the layer's ``limits`` (which count per key across every route). ``[]``
            exempts the route from the layer's limits.
        cost: What one request to this route costs (`Cost`), instead of the layer's.
        concurrency: At most this many requests in flight per key on this route (an int,
            or `ConcurrencyOptions`); more answer 429.
        concurrency_entry: The catalog entry (its key) that answers this route's
            concurrency refusals, instead of the one answering ``concurrency_limited``.
        idempotency: Honour ``Idempotency-Key`` on this route (`IdempotencyMode`), instead
            of the layer's ``idempotency`` (which covers POST routes).
    """

    public: bool
    max_body: int | None
    body_types: Iterable[str]
    produces: Iterable[str]
    maintenance: bool
    rate: Iterable[str | Limit]
    cost: Cost
    concurrency: int | ConcurrencyOptions
    concurrency_entry: str
    idempotency: IdempotencyMode
