"""Guard 3: declared routes, compiled into a matcher; 404, 405 with Allow, OPTIONS."""

from __future__ import annotations

from typing import Any

import pytest

from errorbook._layer import ErrorLayer, Receive, Scope, Send
from errorbook._layer._media import MediaSet
from errorbook._layer._routing import Policy, build_router

from ._driver import ok_app, run

ROUTES = [
    ("GET", "/v1/trackers"),
    ("POST", "/v1/trackers"),
    ("GET", "/v1/trackers/{id}"),
    ("DELETE", "/v1/trackers/{id}"),
    ("PUT", "/v1/transfers/{id}/files/{file_id}/parts/{n}"),
    ("GET", "/v1/transfers/latest/files/{file_id}"),
    ("GET", "/"),
]


def _router(routes: Any = ROUTES, **kwargs: Any) -> Any:
    defaults = Policy(
        public=False,
        max_body=None,
        body_types=MediaSet(["application/json"]),
        produces=MediaSet(["application/json"]),
    )
    options = {
        "routes": routes,
        "public": (),
        "route_options": {},
        "defaults": defaults,
        "media_sets": {},
    }
    options.update(kwargs)
    return build_router(**options)


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        ("/", "/"),
        ("/v1/trackers", "/v1/trackers"),
        ("/v1/trackers/42", "/v1/trackers/{id}"),
        ("/v1/trackers/a b%2F", "/v1/trackers/{id}"),
        ("/v1/transfers/t1/files/f1/parts/3", "/v1/transfers/{id}/files/{file_id}/parts/{n}"),
        ("/v1/transfers/latest/files/f1", "/v1/transfers/latest/files/{file_id}"),
        ("/v1/transfers/latest/files/f1/parts/2", "/v1/transfers/{id}/files/{file_id}/parts/{n}"),
    ],
    ids=["root", "static", "param", "odd-chars", "three-params", "literal-wins", "backtrack"],
)
def test_match(path: str, pattern: str) -> None:
    """Each path finds its pattern; literals beat parameters, and the walk backs up."""
    leaf = _router().match(path)
    assert leaf is not None
    assert leaf.pattern == pattern


@pytest.mark.parametrize(
    "path",
    ["/v1/trackers/", "/v1/trackers/1/2", "/v1/trackers//x", "/v2", "", "v1/trackers", "//"],
    ids=["trailing-slash", "extra-segment", "empty-segment", "unknown", "empty", "relative", "2x"],
)
def test_no_match(path: str) -> None:
    """A parameter is exactly one non-empty segment, and nothing else matches loosely."""
    assert _router().match(path) is None


def test_methods_and_allow() -> None:
    """HEAD comes with GET, and Allow lists every method plus OPTIONS, sorted."""
    leaf = _router().match("/v1/trackers/1")
    assert set(leaf.methods) == {"GET", "HEAD", "DELETE"}
    assert leaf.allow == "DELETE, GET, HEAD, OPTIONS"


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ([("GET", "v1")], "starts with '/'"),
        ([("GET", "/v1/{id}.json")], "whole segment"),
        ([("GET", "/v1/{rest:path}")], "one segment"),
        ([("get", "/v1")], "upper-case"),
    ],
    ids=["relative", "partial-param", "path-converter", "lowercase-method"],
)
def test_bad_routes(routes: Any, message: str) -> None:
    """A malformed pattern or method fails when the layer is built, saying why."""
    with pytest.raises(ValueError, match=message):
        _router(routes)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"/v9": {"public": True}}, "no declared route"),
        ({"PATCH /v1/trackers": {"public": True}}, "PATCH is not declared"),
        ({"/v1/trackers": {"max_body": -1}}, "body limit"),
    ],
    ids=["unknown-pattern", "undeclared-method", "negative-limit"],
)
def test_bad_route_options(options: Any, message: str) -> None:
    """Options must name declared routes and hold sane values."""
    with pytest.raises(ValueError, match=message):
        _router(route_options=options)


def test_no_router_without_routes_or_options() -> None:
    """With neither routes nor per-route options there is nothing to match per request."""
    assert _router(None) is None


def test_converter_names_are_accepted() -> None:
    """Starlette-style converters such as {id:int} still match one segment."""
    assert _router([("GET", "/v1/{id:int}")]).match("/v1/7") is not None


LAYER = ErrorLayer(ok_app, routes=ROUTES)


def test_unknown_route() -> None:
    """A path no declared route matches gets the catalog's unknown_route, not the app."""
    result = run(LAYER, path="/v1/nope")
    assert result.status == 404
    assert result.json()["code"] == "unknown_route"
    assert result.header("x-app") is None


def test_method_not_allowed() -> None:
    """A known path with an undeclared method gets 405 and an Allow header."""
    result = run(LAYER, method="PATCH", path="/v1/trackers/7")
    assert result.status == 405
    assert result.header("allow") == "DELETE, GET, HEAD, OPTIONS"
    assert result.json()["code"] == "method_not_allowed"


def test_head_where_get() -> None:
    """HEAD reaches the app wherever GET is declared."""
    assert run(LAYER, method="HEAD", path="/v1/trackers/7").status == 200


def test_head_refusal_has_no_body() -> None:
    """A refused HEAD request gets the headers of the problem and an empty body."""
    result = run(LAYER, method="HEAD", path="/nope")
    assert result.status == 404
    assert result.body == b""
    assert int(result.header("content-length") or 0) > 0


def test_options_answered() -> None:
    """OPTIONS on a known path is answered 204 with Allow, without the app."""
    result = run(LAYER, method="OPTIONS", path="/v1/trackers")
    assert result.status == 204
    assert result.header("allow") == "GET, HEAD, OPTIONS, POST"
    assert result.body == b""


def test_cors_preflight_reaches_app() -> None:
    """A CORS preflight passes to the app, which may hold a CORS middleware."""
    headers = [("origin", "https://a.example"), ("access-control-request-method", "POST")]
    result = run(LAYER, method="OPTIONS", path="/v1/trackers", headers=headers)
    assert result.header("x-app") == "1"


def test_app_routes_when_undeclared() -> None:
    """Without routes every path reaches the app, whose own 404 passes unchanged."""

    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"Not Found"})

    result = run(ErrorLayer(not_found), path="/anything")
    assert result.status == 404
    assert result.body == b"Not Found"


def test_route_options_without_routes() -> None:
    """Per-route options apply by pattern even when the app does the routing."""
    layer = ErrorLayer(ok_app, max_body=10, route_options={"POST /upload/{id}": {"max_body": 100}})
    headers = [("content-type", "application/json"), ("content-length", "50")]
    assert (
        run(layer, method="POST", path="/upload/1", headers=headers, body=b"x" * 50).status == 200
    )
    assert run(layer, method="POST", path="/other", headers=headers, body=b"x" * 50).status == 413
