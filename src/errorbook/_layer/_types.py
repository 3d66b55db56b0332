"""The ASGI types the layer speaks, and the per-route options it takes.

Spelled out here rather than imported, so the layer needs no web framework (asgiref's and
Starlette's ``types`` modules say the same thing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, TypedDict

__all__ = ["ASGIApp", "Message", "Receive", "RouteOptions", "Scope", "Send"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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
    """

    public: bool
    max_body: int | None
    body_types: Iterable[str]
    produces: Iterable[str]
    maintenance: bool
