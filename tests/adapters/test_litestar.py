"""The Litestar adapter: Litestar's own 404, 405, validation and crashes go through the catalog."""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar, Request, WebSocket, get, post, websocket
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import FromPath, JSONBody, Parameter
from openapi_spec_validator import validate

from errorbook import ErrorLayer, api_key
from errorbook._layer._exceptions import MAX_FIELD_ERRORS
from errorbook.adapters import InstallError
from errorbook.adapters.litestar import install, routes_of

from ._client import assert_refs_resolve, fetch

KEY = {"x-api-key": "k"}


@dataclass
class Tracker:
    name: str
    size: int


@post("/v1/trackers")
async def create_tracker(
    data: JSONBody[Tracker], request: Request[Any, Any, Any]
) -> dict[str, Any]:
    return {"name": data.name, "who": request.scope["state"]["principal"]}


@get("/v1/trackers/{tracker_id:int}", raises=[HTTPException])
async def get_tracker(tracker_id: FromPath[int]) -> dict[str, Any]:
    if tracker_id == 0:
        raise RuntimeError("secret at /srv/db")
    if tracker_id == 410:
        raise HTTPException(status_code=410, detail="Deleted")
    return {"id": tracker_id}


def build() -> Litestar:
    # No logging_config: Litestar would configure logging for the whole test session.
    return Litestar([create_tracker, get_tracker], logging_config=None)


def layer_for(app: Litestar, **options: Any) -> ErrorLayer:
    return install(
        app, auth=api_key(keys={"k": "alice"}), public=["/schema/openapi.json"], **options
    )


def test_routes_of() -> None:
    """Converters dropped, trailing-slash twins listed, Litestar's own OPTIONS left out."""
    routes = routes_of(build()) or []
    assert ("GET", "/v1/trackers/{tracker_id}") in routes
    assert ("GET", "/v1/trackers/{tracker_id}/") in routes
    assert ("POST", "/v1/trackers") in routes
    assert not [method for method, _ in routes if method == "OPTIONS"]


def test_success_with_principal() -> None:
    """A valid request reaches the handler with the principal in the scope's state."""
    response = fetch(
        layer_for(build()), "POST", "/v1/trackers", headers=KEY, json={"name": "a", "size": 1}
    )
    assert response.status_code == 201
    assert response.json() == {"name": "a", "who": "alice"}


@pytest.mark.parametrize("routes", ["declared", "app"], ids=["layer-routes", "litestar-routes"])
def test_unknown_path_and_wrong_method(routes: str) -> None:
    """404 and 405 are the catalog's, whether the layer or Litestar's router finds them."""
    options: dict[str, Any] = {} if routes == "declared" else {"routes": None}
    layer = layer_for(build(), **options)
    missing = fetch(layer, "GET", "/v1/nothing", headers=KEY)
    assert missing.status_code == 404
    assert missing.json()["code"] == "unknown_route"
    wrong = fetch(layer, "DELETE", "/v1/trackers", headers=KEY)
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"
    assert "POST" in wrong.headers["allow"]
    assert wrong.json()["request_id"] == wrong.headers["x-request-id"]


def test_path_value_of_wrong_type_is_unknown() -> None:
    """Litestar finds no route for /v1/trackers/abc ({id:int}); that is unknown_route."""
    response = fetch(layer_for(build()), "GET", "/v1/trackers/abc", headers=KEY)
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_route"


def test_validation_error() -> None:
    """Litestar's ValidationException is validation_failed with a pointer per field."""
    response = fetch(
        layer_for(build()), "POST", "/v1/trackers", headers=KEY, json={"name": "a", "size": "x"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert [e["pointer"] for e in body["errors"]] == ["/size"]


def test_invalid_json() -> None:
    """A body Litestar cannot decode is invalid_json."""
    response = fetch(
        layer_for(build()),
        "POST",
        "/v1/trackers",
        headers={**KEY, "content-type": "application/json"},
        content=b'{"name": ',
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_http_exception_in_handler() -> None:
    """HTTPException(410) raised by a handler is answered the catalog's way."""
    response = fetch(layer_for(build()), "GET", "/v1/trackers/410", headers=KEY)
    assert response.status_code == 410
    assert response.headers["content-type"] == "application/problem+json"
    assert "status_code" not in response.json()


def test_unexpected_error() -> None:
    """RuntimeError is a 500 with nothing internal, logged once by the layer.

    Litestar configures logging itself, so the layer logs to a logger of the test's own.
    """
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("tests.adapters.litestar")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        response = fetch(layer_for(build(), logger=logger), "GET", "/v1/trackers/0", headers=KEY)
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 500
    assert "secret" not in response.text
    assert "/srv/db" not in response.text
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert len([r for r in records if r.exc_info]) == 1


def test_openapi_schema_lists_the_catalog_errors() -> None:
    """The served schema has the catalog's errors and none of Litestar's error shape."""
    app = build()
    layer = layer_for(app)
    served = fetch(layer, "GET", "/schema/openapi.json")
    assert served.status_code == 200
    document = served.json()
    validate(document)
    assert_refs_resolve(document)
    post_responses = document["paths"]["/v1/trackers"]["post"]["responses"]
    assert {"201", "400", "401", "415", "422", "500", "503"} <= set(post_responses)
    assert "status_code" not in str(document["paths"])
    get_responses = document["paths"]["/v1/trackers/{tracker_id}"]["get"]["responses"]
    assert "404" in get_responses
    assert document == app.openapi_schema.to_schema()


def test_missing_framework_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Litestar, importing the adapter says which extra to install."""
    monkeypatch.setitem(sys.modules, "litestar", None)
    monkeypatch.delitem(sys.modules, "errorbook.adapters.litestar")
    with pytest.raises(ImportError, match=r"pip install 'errorbook\[litestar\]'"):
        importlib.import_module("errorbook.adapters.litestar")


@dataclass
class File:
    name: str
    size: int


@dataclass
class Transfer:
    name: str
    files: list[File]


@post("/v1/transfers")
async def create_transfer(data: JSONBody[Transfer]) -> dict[str, Any]:
    return {"name": data.name}


@get("/v1/search")
async def search(limit: int = Parameter(le=10)) -> dict[str, Any]:
    return {"limit": limit}


@get("/v1/many")
async def many() -> dict[str, Any]:
    extra = [{"message": "bad", "key": f"f{n}", "source": "body"} for n in range(500)]
    raise ValidationException(extra=extra)


def pointers_app() -> ErrorLayer:
    app = Litestar([create_transfer, search, many], logging_config=None)
    return layer_for(app)


@pytest.mark.parametrize(
    ("method", "url", "body", "pointer", "code"),
    [
        ("GET", "/v1/search?limit=99", None, "/query/limit", "invalid"),
        ("GET", "/v1/search?limit=x", None, "/query/limit", "invalid"),
        ("GET", "/v1/search", None, "/query/limit", "required"),
        (
            "POST",
            "/v1/transfers",
            {"name": "a", "files": [{"name": "f", "size": "x"}]},
            "/files/0/size",
            "invalid",
        ),
        ("POST", "/v1/transfers", {"name": "a"}, "/files", "invalid"),
        (
            "POST",
            "/v1/transfers",
            {"name": "a", "files": [{"size": 1}]},
            "/files/0/name",
            "invalid",
        ),
    ],
    ids=[
        "query-too-big",
        "query-not-int",
        "query-missing",
        "nested-body",
        "missing-member",
        "missing-nested",
    ],
)
def test_validation_pointers(method: str, url: str, body: Any, pointer: str, code: str) -> None:
    """Pointers name the input as the client wrote it: /query/limit, /files/0/size."""
    response = fetch(pointers_app(), method, url, headers=KEY, json=body)
    assert response.status_code == 422, response.text
    found = response.json()
    assert found["code"] == "validation_failed"
    assert [(e["pointer"], e["code"]) for e in found["errors"]] == [(pointer, code)]


def test_validation_errors_capped() -> None:
    """A ValidationException with 500 items lists 100 and one saying the rest are left out."""
    response = fetch(pointers_app(), "GET", "/v1/many", headers=KEY)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert len(errors) == MAX_FIELD_ERRORS + 1
    assert errors[0]["pointer"] == "/f0"
    assert errors[-1]["code"] == "more_errors"


@websocket("/ws")
async def live(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.close()


def test_websocket_routes_need_an_explicit_opt_in() -> None:
    """With auth, a Litestar websocket route makes install refuse until the caller opts in."""
    with pytest.raises(InstallError, match="public_websockets=True"):
        layer_for(Litestar([create_tracker, live], logging_config=None))
    layer = layer_for(Litestar([create_tracker, live], logging_config=None), public_websockets=True)
    assert fetch(layer, "POST", "/v1/trackers", json={"name": "a", "size": 1}).status_code == 401
