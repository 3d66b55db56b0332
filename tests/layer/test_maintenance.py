"""Guard 2: maintenance mode, switchable at run time, beats every other guard."""

from __future__ import annotations

from typing import Any

import pytest

from errorbook._layer import ErrorLayer, api_key

from ._driver import ok_app, run


def test_switch_at_run_time() -> None:
    """Setting layer.maintenance answers 503 with Retry-After until it is cleared."""
    layer = ErrorLayer(ok_app)
    assert run(layer).status == 200
    layer.maintenance = True
    result = run(layer)
    assert result.status == 503
    assert result.header("retry-after") == "60"
    assert result.json()["code"] == "maintenance"
    assert result.header("x-app") is None
    layer.maintenance = False
    assert run(layer).status == 200


def test_beats_routing_and_auth() -> None:
    """An unknown route without credentials during maintenance still gets 503."""
    layer = ErrorLayer(
        ok_app, routes=[("GET", "/v1/a")], auth=api_key(keys={"k"}), maintenance=True
    )
    assert run(layer, path="/nope").status == 503
    assert run(layer, method="DELETE", path="/v1/a").status == 503


def test_fallback_entry_keeps_retry_after() -> None:
    """A catalog without its own maintenance entry answers with rfc9457's, Retry-After too."""
    layer = ErrorLayer(ok_app, catalog="tape", maintenance=True)
    result = run(layer)
    assert result.status == 503
    assert result.header("retry-after") == "60"
    assert result.header("content-type") == "application/json"


def test_glossary_stays_up() -> None:
    """The glossary is served during maintenance, so the 503's type URI resolves."""
    layer = ErrorLayer(ok_app, maintenance=True)
    problem = run(layer).json()
    assert run(layer, path=problem["type"]).status == 200


ADMIN = "PUT /v1/admin/maintenance"


def admin_layer(**kwargs: Any) -> ErrorLayer:
    """A layer with declared routes whose admin route stays open in maintenance."""
    return ErrorLayer(
        ok_app,
        routes=[("GET", "/v1/items/{id}"), ("PUT", "/v1/admin/maintenance")],
        route_options={ADMIN: {"maintenance": False}},
        maintenance=True,
        **kwargs,
    )


def test_route_open_in_maintenance() -> None:
    """A route with maintenance: False answers normally while every other route gets 503."""
    layer = admin_layer()
    assert run(layer, method="PUT", path="/v1/admin/maintenance").status == 200
    assert run(layer, path="/v1/items/1").status == 503
    layer.maintenance = False
    assert run(layer, path="/v1/items/1").status == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/admin/maintenance"), ("DELETE", "/v1/admin/maintenance"), ("PUT", "/nope")],
    ids=["other-method", "undeclared-method", "unknown-path"],
)
def test_only_the_open_route_passes(method: str, path: str) -> None:
    """Other methods on the open route's path, and unknown routes, still get 503 (not 405/404)."""
    result = run(admin_layer(), method=method, path=path)
    assert result.status == 503
    assert result.json()["code"] == "maintenance"


def test_open_route_still_authenticates() -> None:
    """Staying open in maintenance skips only maintenance: auth still applies."""
    layer = admin_layer(auth=api_key(keys={"k"}))
    assert run(layer, method="PUT", path="/v1/admin/maintenance").status == 401
    headers = [("x-api-key", "k")]
    assert run(layer, method="PUT", path="/v1/admin/maintenance", headers=headers).status == 200


def test_pattern_wide_and_get_covers_head() -> None:
    """A pattern-wide option opens every method; an open GET opens HEAD too."""
    layer = ErrorLayer(
        ok_app,
        routes=[("GET", "/status"), ("GET", "/v1/{id}"), ("POST", "/v1/{id}")],
        route_options={"/v1/{id}": {"maintenance": False}, "GET /status": {"maintenance": False}},
        maintenance=True,
    )
    assert run(layer, method="POST", path="/v1/7").status == 200
    assert run(layer, path="/v1/7").status == 200
    assert run(layer, method="HEAD", path="/status").status == 200
    assert run(layer, method="HEAD", path="/v1/7/x").status == 503


def test_open_route_without_declared_routes() -> None:
    """Without a route table, route_options alone can keep a route open; the app routes."""
    layer = ErrorLayer(
        ok_app, route_options={"POST /admin/{op}": {"maintenance": False}}, maintenance=True
    )
    assert run(layer, method="POST", path="/admin/off").status == 200
    assert run(layer, method="GET", path="/admin/off").status == 503
    assert run(layer, path="/other").status == 503


def test_explicit_true_is_the_default() -> None:
    """maintenance: True on a route changes nothing: it is closed like the rest."""
    layer = ErrorLayer(
        ok_app,
        routes=[("GET", "/a")],
        route_options={"/a": {"maintenance": True}},
        maintenance=True,
    )
    assert run(layer, path="/a").status == 503
