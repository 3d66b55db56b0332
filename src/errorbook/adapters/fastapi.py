"""FastAPI: the catalog answers every error of a FastAPI app and is in its OpenAPI document.

`install` does what the Starlette adapter does (hand errors on, route table, outermost
layer), and also:

- hands FastAPI's ``RequestValidationError`` on, so a body that fails validation is the
  catalog's ``validation_failed`` with a JSON pointer per field, and a body that is not
  JSON its ``invalid_json``, with the line and column;
- makes ``app.openapi()`` (and so ``/openapi.json`` and ``/docs``) list every operation's
  error responses (`add_error_responses`), in place of FastAPI's own 422, whose
  ``HTTPValidationError`` shape the layer never sends.

The document is built when `install` runs, so mistakes in ``errors`` surface then.

As for Starlette, ``debug=True`` is turned off (its page would send tracebacks to clients;
the layer logs them), and websocket routes are not authenticated by ``auth``: `install`
refuses ``auth`` for an app with websocket routes unless ``public_websockets=True``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._common import check_websockets, missing_framework, remember

try:
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException
except ImportError as exc:  # pragma: no cover - the test environment has FastAPI
    missing_framework("FastAPI", "fastapi", exc)

from .._layer import ErrorLayer
from .._openapi import add_error_responses
from ._common import openapi_options
from .starlette import check_unbuilt, hand_errors_on, has_websockets, routes_of

__all__ = ["install", "openapi_with_errors"]

#: FastAPI's own validation error schemas, which the layer's answers replace.
_FASTAPI_SCHEMAS = ("HTTPValidationError", "ValidationError")


def install(
    app: FastAPI, *, errors: Mapping[str, Iterable[str]] | None = None, **options: Any
) -> ErrorLayer:
    """Put the catalog in charge of ``app``'s errors and its documented errors.

    Call it once the routes are registered: the layer routes by the routes it sees now,
    and the OpenAPI document is built now.

    ``debug=True`` is turned off, with a warning in the log: Starlette's debug page would
    send tracebacks to clients; the layer logs them. With ``auth``, list FastAPI's docs
    pages in ``public`` (``app.docs_url``, ``app.redoc_url``,
    ``app.swagger_ui_oauth2_redirect_url``, ``app.openapi_url``) if they are to be open.

    Websocket routes are *not* authenticated by ``auth`` (the layer passes websockets
    through): with websocket routes and ``auth``, pass ``public_websockets=True`` to say
    the app authenticates them itself, or `install` refuses.

    Args:
        app: The FastAPI application; its middleware stack must not be built yet.
        errors: More entry keys per operation for the OpenAPI document,
            ``{"POST /v1/trackers": ["tracker_exists"]}`` (entries whose ``endpoints``
            name an operation are listed without this).
        **options: `ErrorLayer`'s keyword arguments (``catalog``, ``auth``, ``max_body``...),
            and ``public_websockets``. ``routes`` defaults to the app's own routes.

    Raises:
        InstallError: the app has already handled a request; or it has websocket routes,
            ``auth`` and no ``public_websockets=True``.
        OpenAPIError: ``errors`` names an operation or an entry that does not exist.
        ValueError, CatalogError: as `ErrorLayer` raises them.

    .. versionadded:: 0.1.0
    """
    check_unbuilt(app)
    check_websockets(has_websockets(app), options)
    if "routes" not in options:
        options["routes"] = routes_of(app)
    layer = ErrorLayer(app, **options)
    generate = app.openapi
    documented = openapi_with_errors(generate, layer, errors=errors, **openapi_options(options))
    # Built now, before anything changes, so a bad `errors` fails here and not at /docs.
    app.openapi_schema = None
    schema = documented()

    def openapi() -> dict[str, Any]:
        # FastAPI's documented way to customise the document: replace app.openapi.
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    hand_errors_on(app, (HTTPException, RequestValidationError, Exception))
    remember(layer, errors, options)
    return layer


def openapi_with_errors(
    generate: Callable[[], dict[str, Any]],
    layer: ErrorLayer,
    *,
    errors: Mapping[str, Iterable[str]] | None = None,
    **options: Any,
) -> Callable[[], dict[str, Any]]:
    """A replacement for ``app.openapi`` that adds the catalog's errors to its document.

    `install` uses it; call it yourself to document a layer you built by hand.

    .. versionadded:: 0.1.0
    """

    def openapi() -> dict[str, Any]:
        document = _without_fastapi_errors(generate())
        return add_error_responses(document, layer.catalog, errors=errors, **options)

    return openapi


def _without_fastapi_errors(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without FastAPI's 422 responses and their schemas, which the layer replaces."""
    result: dict[str, Any] = json.loads(json.dumps(document))
    ref = "#/components/schemas/HTTPValidationError"
    for item in (result.get("paths") or {}).values():
        for operation in item.values() if isinstance(item, dict) else ():
            responses = operation.get("responses") if isinstance(operation, dict) else None
            if isinstance(responses, dict) and ref in json.dumps(responses.get("422", "")):
                del responses["422"]
    schemas = (result.get("components") or {}).get("schemas")
    if isinstance(schemas, dict):
        for name in _FASTAPI_SCHEMAS:
            if name in schemas:
                rest = {key: value for key, value in schemas.items() if key != name}
                others = json.dumps({**result, "components": {"schemas": rest}})
                if f'"#/components/schemas/{name}"' not in others:
                    del schemas[name]
        if not schemas:
            del result["components"]["schemas"]
    return result
