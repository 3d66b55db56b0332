"""Starlette: the catalog answers every error of a Starlette app.

`install` does three things and returns the `ErrorLayer` to serve:

- hands errors on: Starlette's ``ExceptionMiddleware`` answers ``HTTPException`` and its
  ``ServerErrorMiddleware`` answers 500 by themselves; re-raising handlers for
  ``HTTPException`` and ``Exception`` (in mounted Starlette apps too) let the layer answer
  them the catalog's way instead (it logs the traceback of an unexpected error, once);
- gives the layer the app's routes, so unknown paths and methods are refused before
  authentication; when a route cannot be listed (a mounted ASGI app, ``Host`` routing, a
  ``{rest:path}`` parameter, an endpoint of unknown methods) routing stays the app's, and
  its 404 and 405 reach the layer as ``HTTPException`` and are answered the catalog's way;
- wraps the app in the layer, outermost, so a refusal costs as little as possible;
- and, when handing errors on is all they would do, lets the layer call the app's router
  past ``ServerErrorMiddleware`` and ``ExceptionMiddleware`` (see `_shortcut`).

``debug=True`` is turned off (on the app and every Starlette app mounted in it): in debug
mode Starlette's ``ServerErrorMiddleware`` sends its traceback page to the client itself,
before the layer can answer, and the page shows source lines, local values and paths. The
layer logs the traceback instead, where the operator reads it; a warning says so.

Websockets are not authenticated: the layer passes every scope that is not ``http``
through, so ``auth`` never sees a websocket handshake. `install` refuses ``auth`` for an
app with websocket routes unless ``public_websockets=True`` says the app authenticates
them itself.

Starlette makes no OpenAPI document by itself; `with_error_responses` adds the catalog's
errors to one, e.g. from ``starlette.schemas.SchemaGenerator``.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from ._common import (
    RouteTable,
    check_errors,
    check_websockets,
    missing_framework,
    remember,
    remembered,
)

try:
    import starlette
    from starlette.applications import Starlette
    from starlette.endpoints import HTTPEndpoint
    from starlette.exceptions import HTTPException, WebSocketException
    from starlette.middleware.errors import ServerErrorMiddleware
    from starlette.middleware.exceptions import ExceptionMiddleware
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute, Mount, Route, Router, WebSocketRoute
except ImportError as exc:  # pragma: no cover - the test environment has Starlette
    missing_framework("Starlette", "starlette", exc)

from .._layer import ErrorLayer
from .._layer._types import ASGIApp, Receive, Scope, Send
from .._openapi import add_error_responses
from ._common import InstallError

__all__ = ["hand_on", "install", "routes_of", "with_error_responses"]

_ENDPOINT_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_LOG: Final = logging.getLogger("errorbook.layer")
_STARLETTE_DIR: Final = os.path.dirname(starlette.__file__) + os.sep


async def hand_on(request: Request, exc: Exception) -> Response:
    """An exception handler that raises the error again, for the layer to answer."""
    raise exc


def install(
    app: Starlette, *, errors: Mapping[str, Iterable[str]] | None = None, **options: Any
) -> ErrorLayer:
    """Put the catalog in charge of ``app``'s errors; serve the returned layer.

    Call it once the routes are registered: the layer routes by the routes it sees now.

    ``debug=True`` is turned off, here and in mounted Starlette apps, with a warning in the
    log: Starlette's debug page would send tracebacks to clients; the layer logs them.

    Websocket routes are *not* authenticated by ``auth`` (the layer passes websockets
    through): with websocket routes and ``auth``, pass ``public_websockets=True`` to say
    the app authenticates them itself, or `install` refuses.

    Args:
        app: The Starlette application; its middleware stack must not be built yet.
        errors: Entry keys per operation for `with_error_responses`, kept on the layer;
            checked against the catalog now.
        **options: `ErrorLayer`'s keyword arguments (``catalog``, ``auth``, ``max_body``...),
            and ``public_websockets``. ``routes`` defaults to the app's own routes (see
            `routes_of`).

    Raises:
        InstallError: the app has already handled a request, so new exception handlers
            would be ignored; or it has websocket routes, ``auth`` and no
            ``public_websockets=True``.
        OpenAPIError: ``errors`` is malformed or names an entry the catalog does not have.
        ValueError, CatalogError: as `ErrorLayer` raises them.

    .. versionadded:: 0.1.0
    """
    check_unbuilt(app)
    check_websockets(has_websockets(app), options)
    if "routes" not in options:
        options["routes"] = routes_of(app)
    layer = ErrorLayer(app, **options)
    check_errors(errors, layer.catalog)
    hand_errors_on(app, (HTTPException, Exception))
    remember(layer, errors, options)
    layer._dispatch = _first_request(layer, app)
    return layer


def _first_request(layer: ErrorLayer, app: Starlette) -> ASGIApp:
    """The layer's way into ``app`` until its first HTTP request, which decides the way for
    good: when Starlette builds the middleware stack, so middleware and handlers added
    until then count, and Starlette refuses new middleware from then on, as it always
    does."""

    async def first(scope: Scope, receive: Receive, send: Send) -> None:
        if app.middleware_stack is None:
            app.middleware_stack = app.build_middleware_stack()
        way = _shortcut(app)
        layer._dispatch = app if way is None else way
        await layer._dispatch(scope, receive, send)

    return first


def _shortcut(app: Starlette) -> ASGIApp | None:
    """A way into ``app``'s router for HTTP requests past its ``ServerErrorMiddleware`` and
    ``ExceptionMiddleware``, or None when those do more than hand errors on.

    After `install`, both only re-raise what reaches them, for the layer to answer: in
    front of the layer they are two wrappers of ``send`` and two ``try`` blocks per
    request for nothing (a quarter of a small route's time). The shortcut does the one
    thing of theirs that still matters, which is to set ``scope["app"]`` and the
    exception handlers each route reads (the built ``ExceptionMiddleware``'s own tables),
    and calls the router.

    It is decided from the stack Starlette built (call it after the stack exists) and
    taken only when that stack is exactly the two of them around the router, as Starlette
    wrote them: no user middleware, no ``max_body_size``, no debug mode, no subclass's
    stack (FastAPI's), no ``__call__`` of a subclass's or a patch's (error trackers such
    as Sentry patch ``Starlette.__call__`` and ``ExceptionMiddleware.__call__``), and no
    exception handler but the re-raising ones (a handler of the user's own could be asked
    to answer an error raised outside a route, which only ``ExceptionMiddleware`` sees).
    Websockets and lifespan always go through the whole stack.

    The router is entered as its own ``__call__`` would (see the comment below).

    One difference remains, once a response has started: an ``HTTPException`` raised
    outside a route's own handler wrapper (a raw ASGI route, route middleware) reaches
    the layer as itself, where ``ExceptionMiddleware`` would have turned it into a
    ``RuntimeError``. The client sees the same either way (the layer cannot answer any
    more and closes the connection); the log names the original exception.
    """
    stack = app.middleware_stack
    if not (
        _starlettes_own(type(app).__call__, "Starlette.__call__")
        and type(stack) is ServerErrorMiddleware
        and _starlettes_own(ServerErrorMiddleware.__call__, "ServerErrorMiddleware.__call__")
        and stack.handler is hand_on
        and not stack.debug
    ):
        return None
    inner = stack.app
    if not (
        type(inner) is ExceptionMiddleware
        and _starlettes_own(ExceptionMiddleware.__call__, "ExceptionMiddleware.__call__")
        and inner.app is app.router
        and not inner._status_handlers
        and inner._exception_handlers.get(HTTPException) is hand_on
        and set(inner._exception_handlers) <= {HTTPException, WebSocketException}
    ):
        return None
    tables = (inner._exception_handlers, inner._status_handlers)
    router = app.router
    # Starlette's own `Router.__call__` only awaits the router's ``middleware_stack`` (its
    # own middleware around `Router.app`): awaited here directly, a coroutine fewer. A
    # router of a subclass's, or one without that attribute, is called as it is.
    into_stack = (
        type(router) is Router
        and _starlettes_own(Router.__call__, "Router.__call__")
        and hasattr(router, "middleware_stack")
    )

    async def into_router(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app
        scope["starlette.exception_handlers"] = tables
        await (router.middleware_stack if into_stack else router)(scope, receive, send)

    return into_router


def _starlettes_own(function: object, qualname: str) -> bool:
    """Whether ``function`` is Starlette's own ``qualname``, not a subclass's or a patch's
    (a wrapper made with ``functools.wraps`` copies the name, not the code)."""
    code = getattr(function, "__code__", None)
    return (
        code is not None
        and code.co_qualname == qualname
        and code.co_filename.startswith(_STARLETTE_DIR)
    )


def with_error_responses(
    layer: ErrorLayer,
    document: Mapping[str, Any],
    *,
    errors: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, Any]:
    """``document`` with the error responses ``layer`` gives, as `add_error_responses` makes
    them from the layer's catalog and the options `install` was given.

    Args:
        layer: The layer `install` returned.
        document: An OpenAPI document, e.g. ``SchemaGenerator(...).get_schema(app.routes)``.
        errors: Entry keys per operation, added to those given to `install`.

    .. versionadded:: 0.1.0
    """
    named, options = remembered(layer)
    check_errors(errors, layer.catalog)
    merged: dict[str, list[str]] = {key: list(value) for key, value in named.items()}
    for key, value in (errors or {}).items():
        merged.setdefault(key, []).extend(value)
    return add_error_responses(document, layer.catalog, errors=merged, **options)


def check_unbuilt(app: Starlette) -> None:
    """Refuse an app whose middleware stack exists: its exception handlers are fixed."""
    if app.middleware_stack is not None:
        raise InstallError(
            f"{type(app).__name__} app has already built its middleware stack (it has served "
            "a request), so exception handlers added now would be ignored; install "
            "errorbook before the app starts"
        )


def hand_errors_on(app: Starlette, classes: Sequence[type[Exception]]) -> None:
    """Make ``app`` and every Starlette app mounted in it re-raise ``classes``."""
    seen: set[int] = set()
    pending: list[Starlette] = [app]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        check_unbuilt(current)
        if current.debug:
            # Debug mode's ServerErrorMiddleware sends the traceback page itself.
            _LOG.warning(
                "%s(debug=True) turned off by errorbook: its debug page would send "
                "tracebacks to clients; the layer logs them instead",
                type(current).__name__,
            )
            current.debug = False
        for cls in classes:
            current.add_exception_handler(cls, hand_on)
        pending.extend(_mounted_apps(current.routes))


def has_websockets(app: Starlette | Router) -> bool:
    """Whether ``app`` or a Starlette app or router mounted in it has a websocket route."""
    router = app.router if isinstance(app, Starlette) else app
    for route in router.routes:
        if isinstance(route, WebSocketRoute):
            return True
        if isinstance(route, Mount):
            base = getattr(route, "_base_app", route.app)
            if isinstance(base, Starlette | Router) and has_websockets(base):
                return True
    return False


def _mounted_apps(routes: Iterable[BaseRoute]) -> list[Starlette]:
    found: list[Starlette] = []
    for route in routes:
        if isinstance(route, Mount):
            base = getattr(route, "_base_app", route.app)
            if isinstance(base, Starlette):
                found.append(base)
            elif isinstance(base, Router):
                found.extend(_mounted_apps(base.routes))
    return found


def routes_of(app: Starlette | Router) -> list[tuple[str, str]] | None:
    """The app's routes as ``(method, pattern)`` pairs, or None when some cannot be listed.

    ``{id:int}`` becomes ``{id}``; websocket routes are left out (the layer passes
    websockets through); with ``redirect_slashes`` each path is listed with and without
    its trailing slash, so the app's redirect still answers the other spelling.

    .. versionadded:: 0.1.0
    """
    router = app.router if isinstance(app, Starlette) else app
    table = RouteTable(trailing_slash=router.redirect_slashes)
    _walk(router.routes, "", table)
    return table.result()


def _walk(routes: Iterable[BaseRoute], prefix: str, table: RouteTable) -> None:
    for route in routes:
        if table.failed:
            return
        if isinstance(route, Route):
            methods = route.methods if route.methods is not None else _endpoint_methods(route)
            if methods is None:
                table.failed = True
                return
            table.add(methods, prefix + route.path)
        elif isinstance(route, WebSocketRoute):
            continue
        elif isinstance(route, Mount):
            base = getattr(route, "_base_app", route.app)
            router = base.router if isinstance(base, Starlette) else base
            if not isinstance(router, Router):
                table.failed = True  # an arbitrary ASGI app: only it knows its paths
                return
            _walk(router.routes, prefix + route.path, table)
        else:
            table.failed = True  # Host, or a route class of the app's own
            return


def _endpoint_methods(route: Route) -> set[str] | None:
    endpoint = route.endpoint
    if not (inspect.isclass(endpoint) and issubclass(endpoint, HTTPEndpoint)):
        return None  # a raw ASGI endpoint answers whatever it likes
    methods = {method for method in _ENDPOINT_METHODS if hasattr(endpoint, method.lower())}
    if "GET" in methods:
        methods.add("HEAD")  # HTTPEndpoint serves HEAD with get()
    return methods
