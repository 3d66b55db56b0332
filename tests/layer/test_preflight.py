"""CORS preflights skip authentication, and nothing else does (a header is not a preflight)."""

from __future__ import annotations

import pytest

from errorbook._layer import ErrorLayer, api_key

from ._driver import ok_app, run

ROUTES = [("GET", "/v1/items"), ("PUT", "/v1/admin/maintenance")]


def layer() -> ErrorLayer:
    return ErrorLayer(ok_app, routes=ROUTES, auth=api_key(keys={"k": "alice"}))


@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
def test_the_preflight_header_on_another_method_does_not_skip_auth(method: str) -> None:
    """Only OPTIONS is a preflight; Access-Control-Request-Method on a PUT is a real PUT."""
    path = "/v1/admin/maintenance" if method == "PUT" else "/v1/items"
    result = run(
        layer(),
        method,
        path,
        headers=[("access-control-request-method", method), ("content-type", "application/json")],
    )
    assert result.status in (401, 405)
    if method in ("GET", "PUT"):
        assert result.status == 401
        assert result.json()["code"] == "unauthenticated"


def test_a_real_preflight_passes_without_credentials() -> None:
    """Browsers send preflights without credentials; the app (its CORS middleware) answers."""
    result = run(
        layer(), "OPTIONS", "/v1/items", headers=[("access-control-request-method", "GET")]
    )
    assert result.status == 200
