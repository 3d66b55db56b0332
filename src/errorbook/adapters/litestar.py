"""Litestar: the catalog answers every error of a Litestar app and is in its OpenAPI schema.

Litestar answers errors in its ``ExceptionHandlerMiddleware``, which looks a handler up
per request in the app's ``exception_handlers`` (status codes first, then the exception's
classes). `install` registers one for ``HTTPException`` (Litestar's and Starlette's) and
for ``Exception`` that raises the error again; the middleware lets a handler's exception
through, so the layer answers instead: the router's ``NotFoundException`` and
``MethodNotAllowedException`` (with its ``Allow``), a ``ValidationException`` as
``validation_failed`` with a pointer per field, a body that does not decode as
``invalid_json``, anything unexpected as ``internal`` (logged once, by the layer).
Handlers that routers, controllers or route handlers register themselves still win there.

The layer also gets the app's routes (``{id:int}`` becomes ``{id}``; each path also with a
trailing slash, which Litestar ignores), and the app's OpenAPI schema lists every
operation's error responses in place of Litestar's own error shape
(``status_code``/``detail``/``extra``), which the layer never sends.

Websocket routes are not authenticated by ``auth``: the layer passes every scope that is
not ``http`` through. `install` refuses ``auth`` for an app with websocket routes unless
``public_websockets=True`` says the app authenticates them itself.

Litestar's ``logging_config.log_exceptions`` logs a handled exception too when set to
``"always"`` (by default only in debug mode); the layer logs unexpected errors itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, cast

from ._common import (
    RouteTable,
    check_websockets,
    missing_framework,
    openapi_options,
    remember,
)

try:
    from litestar import Litestar, Request, Response
    from litestar.exceptions import HTTPException
    from litestar.routes import ASGIRoute, HTTPRoute, WebSocketRoute
except ImportError as exc:  # pragma: no cover - the test environment has Litestar
    missing_framework("Litestar", "litestar", exc)

from .._catalog import Catalog
from .._layer import ASGIApp, ErrorLayer
from .._layer._respond import GENERIC_CONDITIONS
from .._openapi import add_error_responses

__all__ = ["hand_on", "install", "routes_of"]

#: The members of Litestar's own error body, as its OpenAPI schema describes it.
_LITESTAR_ERROR: Final = frozenset({"status_code", "detail", "extra"})
_CONDITION_BY_STATUS: Final = {404: "unknown_route", 405: "method_not_allowed"}


def hand_on(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """An exception handler that raises the error again, for the layer to answer."""
    raise exc


def install(
    app: Litestar, *, errors: Mapping[str, Iterable[str]] | None = None, **options: Any
) -> ErrorLayer:
    """Put the catalog in charge of ``app``'s errors and its documented errors.

    Call it once the routes are registered: the layer routes by the routes it sees now,
    and the OpenAPI schema is completed now.

    Websocket routes are *not* authenticated by ``auth`` (the layer passes websockets
    through): with websocket routes and ``auth``, pass ``public_websockets=True`` to say
    the app authenticates them itself, or `install` refuses.

    Args:
        app: The Litestar application.
        errors: More entry keys per operation for the OpenAPI schema,
            ``{"POST /v1/trackers": ["tracker_exists"]}``.
        **options: `ErrorLayer`'s keyword arguments (``catalog``, ``auth``, ``max_body``...),
            and ``public_websockets``. ``routes`` defaults to the app's own routes (see
            `routes_of`).

    Raises:
        InstallError: the app has websocket routes, ``auth`` and no
            ``public_websockets=True``.
        OpenAPIError: ``errors`` names an operation or an entry that does not exist.
        ValueError, CatalogError: as `ErrorLayer` raises them.

    .. versionadded:: 0.1.0
    """
    check_websockets(any(isinstance(r, WebSocketRoute) for r in app.routes), options)
    if "routes" not in options:
        options["routes"] = routes_of(app)
    # Litestar types its scopes and messages as TypedDicts; it is an ASGI app all the same.
    layer = ErrorLayer(cast("ASGIApp", app), **options)
    if app.openapi_config is not None:
        _document(app, layer.catalog, errors, openapi_options(options))
    # In place: Litestar's router holds this very dict for requests no route matches.
    handlers = app.exception_handlers
    handlers[HTTPException] = hand_on
    handlers[Exception] = hand_on
    try:
        from starlette.exceptions import HTTPException as StarletteHTTPException
    except ImportError:  # pragma: no cover - Litestar maps it only when Starlette is there
        pass
    else:
        handlers[StarletteHTTPException] = hand_on
    remember(layer, errors, options)
    return layer


def routes_of(app: Litestar) -> list[tuple[str, str]] | None:
    """The app's routes as ``(method, pattern)`` pairs, or None when some cannot be listed
    (a mounted ASGI app, a ``{rest:path}`` parameter).

    The ``OPTIONS`` handler Litestar adds to every route is left out, so the layer answers
    a plain ``OPTIONS`` itself; CORS preflights still reach Litestar.

    .. versionadded:: 0.1.0
    """
    table = RouteTable(trailing_slash=True)
    for route in app.routes:
        if isinstance(route, WebSocketRoute):
            continue
        if isinstance(route, ASGIRoute) or not isinstance(route, HTTPRoute):
            return None
        methods = [
            method
            for method, (handler, _) in route.route_handler_map.items()
            if not (method == "OPTIONS" and _automatic(handler))
        ]
        table.add(methods, route.path)
    return table.result()


def _automatic(handler: Any) -> bool:
    return getattr(getattr(handler, "fn", None), "__module__", "") == "litestar.routes.http"


def _document(
    app: Litestar,
    catalog: Catalog,
    errors: Mapping[str, Iterable[str]] | None,
    options: Mapping[str, Any],
) -> None:
    """Complete the app's OpenAPI object, which Litestar serves and caches, in place."""
    openapi = app.openapi_schema
    document = openapi.to_schema()
    named: dict[str, list[str]] = {
        key: value if isinstance(value, str) else list(value)  # type: ignore[misc]
        for key, value in (errors or {}).items()
    }
    dropped: dict[tuple[str, str], list[str]] = {}
    for path, item in (document.get("paths") or {}).items():
        for method, operation in item.items():
            responses = operation.get("responses") if isinstance(operation, dict) else None
            if not isinstance(responses, dict):
                continue
            for status in [s for s, r in responses.items() if _litestar_error(r)]:
                del responses[status]
                dropped.setdefault((method, path), []).append(status)
                for key in _entries_for(catalog, int(status)):
                    named.setdefault(f"{method.upper()} {path}", []).append(key)
    completed = add_error_responses(document, catalog, errors=named, **options)

    # Back into Litestar's objects: plain dicts serialise as they are.
    for path, item in (completed.get("paths") or {}).items():
        path_item = (openapi.paths or {}).get(path)
        for method, operation in item.items():
            target = getattr(path_item, method, None) if path_item is not None else None
            if target is None or not isinstance(operation, dict):
                continue
            responses = dict(target.responses or {})
            for status in dropped.get((method, path), []):
                responses.pop(status, None)
            for status, response in operation.get("responses", {}).items():
                responses.setdefault(status, response)
            target.responses = responses
    schemas: dict[str, Any] = dict(openapi.components.schemas or {})
    for name, schema in (completed.get("components") or {}).get("schemas", {}).items():
        schemas.setdefault(name, schema)
    openapi.components.schemas = schemas


def _litestar_error(response: object) -> bool:
    """Whether a documented response has Litestar's own error body."""
    if not isinstance(response, dict):
        return False
    for media in (response.get("content") or {}).values():
        schema = media.get("schema") if isinstance(media, dict) else None
        properties = schema.get("properties") if isinstance(schema, dict) else None
        if isinstance(properties, dict) and set(properties) == _LITESTAR_ERROR:
            return True
    return False


def _entries_for(catalog: Catalog, status: int) -> list[str]:
    """The entry the layer answers a Litestar ``HTTPException(status)`` with, if known.

    400 is left to the rules (``invalid_json``, ``validation_failed``), which say more.
    """
    if status == 400:
        return []
    condition = _CONDITION_BY_STATUS.get(status)
    if condition is not None:
        return [catalog.for_condition(condition).key]
    candidates = [
        spec.key
        for spec in catalog
        if spec.status == status
        and all(c in GENERIC_CONDITIONS for c in spec.on)
        and not spec.params  # as the layer: a bare status cannot fill parameters
    ]
    return candidates if len(candidates) == 1 else []
