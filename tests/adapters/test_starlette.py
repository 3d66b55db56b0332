"""The Starlette adapter: one install call puts the catalog in charge of every error."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import pytest
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Host, Mount, Route, WebSocketRoute
from starlette.schemas import SchemaGenerator
from starlette.websockets import WebSocket

from errorbook import ErrorLayer, OpenAPIError, api_key
from errorbook.adapters import InstallError
from errorbook.adapters.starlette import install, routes_of, with_error_responses

from ._client import assert_refs_resolve, fetch

KEY = {"x-api-key": "k"}


async def item(request: Request) -> JSONResponse:
    """
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
    responses:
      "200":
        description: The item.
    """
    if request.path_params["id"] == 0:
        raise RuntimeError("secret at /srv/db")
    if request.path_params["id"] == 410:
        raise HTTPException(410, detail="Deleted")
    return JSONResponse({"id": request.path_params["id"], "who": request.state.principal})


async def create(request: Request) -> JSONResponse:
    """
    requestBody:
      content:
        application/json:
          schema: {type: object}
    responses:
      "201":
        description: Created.
    """
    return JSONResponse(await request.json(), status_code=201)


async def health(request: Request) -> PlainTextResponse:
    """
    responses:
      "200":
        description: Up.
    """
    return PlainTextResponse("ok")


class PlainASGI:
    """A raw ASGI app: Starlette cannot tell which paths or methods it serves."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse("static")(scope, receive, send)


plain_asgi = PlainASGI()


async def socket(websocket: WebSocket) -> None:
    await websocket.close()


def build(*extra: Any) -> Starlette:
    return Starlette(
        routes=[
            Route("/v1/items/{id:int}", item),
            Route("/v1/items", create, methods=["POST"]),
            Route("/health", health),
            *extra,
        ]
    )


def layer_for(app: Starlette, **options: Any) -> ErrorLayer:
    return install(app, auth=api_key(keys={"k": "alice"}), public=["/health"], **options)


def test_success_passes_with_principal() -> None:
    """A good request reaches the route, with the principal in request.state."""
    response = fetch(layer_for(build()), "GET", "/v1/items/7", headers=KEY)
    assert response.status_code == 200
    assert response.json() == {"id": 7, "who": "alice"}
    assert len(response.headers["x-request-id"]) == 32


def test_install_returns_the_layer() -> None:
    """The returned object is the ErrorLayer, so maintenance can be switched at run time."""
    layer = layer_for(build())
    assert isinstance(layer, ErrorLayer)
    layer.maintenance = True
    response = fetch(layer, "GET", "/health")
    assert response.status_code == 503
    assert "retry-after" in response.headers


def test_unknown_path_and_wrong_method_before_auth() -> None:
    """The layer answers 404 and 405 (with Allow) from the app's routes, before auth."""
    layer = layer_for(build())
    missing = fetch(layer, "GET", "/v1/nothing")
    assert missing.status_code == 404
    assert missing.json()["code"] == "unknown_route"
    assert missing.headers["content-type"] == "application/problem+json"
    wrong = fetch(layer, "DELETE", "/v1/items")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"
    assert wrong.headers["allow"] == "OPTIONS, POST"
    assert wrong.json()["request_id"] == wrong.headers["x-request-id"]


def test_unauthenticated_in_catalog_format() -> None:
    """A known route without credentials is the catalog's 401 (tape's shape here)."""
    app = build()
    layer = install(app, catalog="tape", auth=api_key(keys={"k"}))
    response = fetch(layer, "GET", "/v1/items/7")
    assert response.status_code == 401
    assert response.json()["error_code"] == "unauthorized"


def test_http_exception_in_route() -> None:
    """HTTPException(410) raised in a route is answered by the layer, not by Starlette."""
    response = fetch(layer_for(build()), "GET", "/v1/items/410", headers=KEY)
    assert response.status_code == 410
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_unexpected_error(caplog: pytest.LogCaptureFixture) -> None:
    """RuntimeError is a 500 that says nothing internal, logged once with its traceback."""
    with caplog.at_level(logging.ERROR):
        response = fetch(layer_for(build()), "GET", "/v1/items/0", headers=KEY)
    assert response.status_code == 500
    assert "secret" not in response.text
    assert "/srv/db" not in response.text
    assert response.json()["request_id"] == response.headers["x-request-id"]
    records = [r for r in caplog.records if r.exc_info]
    assert len(records) == 1
    assert records[0].name == "errorbook.layer"


def test_invalid_json() -> None:
    """A broken JSON body read by request.json() is invalid_json with its position."""
    response = fetch(
        layer_for(build()),
        "POST",
        "/v1/items",
        headers={**KEY, "content-type": "application/json"},
        content=b'{"name": ',
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert (response.json()["line"], response.json()["column"]) == (1, 10)


def test_unlistable_route_leaves_routing_to_the_app() -> None:
    """A mounted ASGI app cannot be listed: the app routes, and its 404 is the catalog's."""
    app = build(Mount("/static", app=plain_asgi))
    assert routes_of(app) is None
    layer = layer_for(app)
    assert fetch(layer, "GET", "/static/x", headers=KEY).text == "static"
    missing = fetch(layer, "GET", "/v1/nothing", headers=KEY)
    assert missing.status_code == 404
    assert missing.json()["code"] == "unknown_route"
    wrong = fetch(layer, "DELETE", "/v1/items", headers=KEY)
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"


def test_routes_of() -> None:
    """Converters are dropped, mounts prefixed, endpoints' methods read, websockets skipped."""

    class Things(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            return Response()

    app = Starlette(
        routes=[
            Route("/", health),
            Route("/a/{id:uuid}", item, methods=["PUT"]),
            Mount("/v2", routes=[Route("/things/{n:int}", Things)]),
            WebSocketRoute("/ws", socket),
        ]
    )
    assert sorted(routes_of(app) or []) == sorted(
        [
            ("GET", "/"),
            ("HEAD", "/"),
            ("PUT", "/a/{id}"),
            ("PUT", "/a/{id}/"),
            ("GET", "/v2/things/{n}"),
            ("GET", "/v2/things/{n}/"),
            ("HEAD", "/v2/things/{n}"),
            ("HEAD", "/v2/things/{n}/"),
        ]
    )


@pytest.mark.parametrize(
    "route",
    [
        Route("/files/{rest:path}", health),
        Route("/files/{name}.txt", health),
        Route("/raw", plain_asgi),
        Host("api.example.com", app=plain_asgi),
    ],
    ids=["path-converter", "partial-segment", "raw-asgi-endpoint", "host"],
)
def test_routes_that_cannot_be_listed(route: Any) -> None:
    """Routes the layer cannot match exactly make routes_of give up (None)."""
    assert routes_of(build(route)) is None


def test_trailing_slash_redirect_kept() -> None:
    """/v1/items/ still reaches Starlette, whose redirect to /v1/items answers it."""
    layer = layer_for(build())
    response = fetch(layer, "POST", "/v1/items/", headers=KEY, follow_redirects=False)
    assert response.status_code == 307


def test_explicit_routes_win() -> None:
    """routes= given by the caller is used instead of the app's."""
    layer = layer_for(build(), routes=[("GET", "/health")])
    assert fetch(layer, "GET", "/v1/items/7", headers=KEY).status_code == 404


def test_mounted_starlette_app_hands_errors_on() -> None:
    """A Starlette app mounted inside hands its errors on to the layer too."""
    inner = Starlette(routes=[Route("/items/{id:int}", item)])
    outer = Starlette(routes=[Mount("/v3", app=inner)])
    layer = install(outer, auth=api_key(keys={"k": "bob"}))
    assert fetch(layer, "GET", "/v3/items/7", headers=KEY).json()["who"] == "bob"
    gone = fetch(layer, "GET", "/v3/items/410", headers=KEY)
    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"


def test_install_refuses_a_built_app() -> None:
    """Once the app has served a request its handlers are fixed: install says so."""
    app = build()
    fetch(app, "GET", "/health")
    with pytest.raises(InstallError, match="already built its middleware stack"):
        install(app)


def test_bad_layer_options_raise_before_app_is_changed() -> None:
    """ErrorLayer's own errors surface, and the app is left without new handlers."""
    app = build()
    with pytest.raises(ValueError, match="deadline"):
        install(app, deadline=-1)
    assert HTTPException not in app.exception_handlers


def test_with_error_responses() -> None:
    """A SchemaGenerator document gets the layer's errors, and the result is valid."""
    app = build()
    layer = layer_for(app, errors={"GET /v1/items/{id}": ["internal"]})
    schemas = SchemaGenerator({"openapi": "3.1.0", "info": {"title": "Items", "version": "1"}})
    base = schemas.get_schema(app.routes)
    document = with_error_responses(layer, base)
    post = document["paths"]["/v1/items"]["post"]["responses"]
    assert {"201", "401", "415", "500"} <= set(post)
    assert "401" not in document["paths"]["/health"]["get"]["responses"]
    assert_refs_resolve(document)
    validate(document)


def test_missing_framework_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Starlette, importing the adapter says which extra to install."""
    monkeypatch.setitem(sys.modules, "starlette.applications", None)
    monkeypatch.delitem(sys.modules, "errorbook.adapters.starlette")
    with pytest.raises(ImportError, match=r"pip install 'errorbook\[starlette\]'"):
        importlib.import_module("errorbook.adapters.starlette")


def test_debug_mode_sends_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """Starlette(debug=True) would send its traceback page: install turns debug off, says
    so in the log, and the crash is the catalog's 500 with nothing of the error in it."""
    app = Starlette(debug=True, routes=[Route("/v1/items/{id:int}", item)])
    inner = Starlette(debug=True, routes=[Route("/boom/{id:int}", item)])
    app.mount("/inner", inner)
    with caplog.at_level(logging.WARNING, logger="errorbook.layer"):
        layer = install(app)
    assert app.debug is False
    assert inner.debug is False
    assert "debug=True" in caplog.text
    for url in ("/v1/items/0", "/inner/boom/0"):
        for accept in ("text/html", "*/*"):
            response = fetch(layer, "GET", url, headers={"accept": accept})
            assert response.status_code in (500, 406)
            assert "secret" not in response.text
            assert "Traceback" not in response.text
            assert response.headers["content-type"] == "application/problem+json"


def test_websocket_routes_need_an_explicit_opt_in() -> None:
    """auth does not reach websockets: install refuses until public_websockets=True."""
    with pytest.raises(InstallError, match="public_websockets=True"):
        layer_for(build(WebSocketRoute("/ws", socket)))
    mounted = Starlette(routes=[WebSocketRoute("/ws", socket)])
    with pytest.raises(InstallError, match="websocket routes"):
        layer_for(build(Mount("/live", app=mounted)))
    layer = layer_for(build(WebSocketRoute("/ws", socket)), public_websockets=True)
    assert fetch(layer, "GET", "/v1/items/1").status_code == 401
    install(build(WebSocketRoute("/ws", socket)))  # no auth: nothing to be surprised by


@pytest.mark.parametrize(
    ("errors", "match"),
    [
        ({"GET /v1/items/{id}": "internal"}, "not a str"),
        ({"GET /v1/items/{id}": ["no_such_entry"]}, "no entry 'no_such_entry'"),
        ({"/v1/items": ["internal"]}, "METHOD /path"),
    ],
    ids=["string", "unknown-entry", "no-method"],
)
def test_errors_checked_at_install(errors: dict[str, Any], match: str) -> None:
    """A malformed errors option fails in install, as FastAPI's and Litestar's do."""
    app = build()
    with pytest.raises(OpenAPIError, match=match):
        layer_for(app, errors=errors)
    assert HTTPException not in app.exception_handlers


def test_with_error_responses_takes_no_string() -> None:
    """errors={"GET /x": "internal"} is refused by name, not read letter by letter."""
    layer = layer_for(build())
    base = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}
    with pytest.raises(OpenAPIError, match="not a str"):
        with_error_responses(layer, base, errors={"GET /v1/items": "internal"})
