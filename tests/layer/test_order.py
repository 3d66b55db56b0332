"""The guards run in DESIGN.md's order, and the first refusal wins."""

from __future__ import annotations

import pytest

from errorbook._layer import ErrorLayer, api_key

from ._driver import ok_app, run

LAYER = ErrorLayer(
    ok_app,
    routes=[("POST", "/v1/items")],
    auth=api_key(keys={"k"}),
    max_body=10,
)
KEY = ("x-api-key", "k")
JSON = ("content-type", "application/json")
BIG = ("content-length", "100")


@pytest.mark.parametrize(
    ("method", "path", "headers", "code"),
    [
        ("GET", "/nope", [], "unknown_route"),
        ("GET", "/v1/items", [("content-type", "text/plain"), BIG], "method_not_allowed"),
        ("POST", "/v1/items", [("content-type", "text/plain"), BIG], "unauthenticated"),
        ("POST", "/v1/items", [KEY, ("content-type", "text/plain"), BIG], "unsupported_media_type"),
        ("POST", "/v1/items", [KEY, JSON, BIG, ("accept", "text/html")], "not_acceptable"),
        ("POST", "/v1/items", [KEY, JSON, BIG], "payload_too_large"),
    ],
    ids=[
        "404-before-401",
        "405-before-401",
        "401-before-415",
        "415-before-406",
        "406-before-413",
        "413-last",
    ],
)
def test_first_refusal_wins(
    method: str, path: str, headers: list[tuple[str, str]], code: str
) -> None:
    """Each request breaks every later guard too, and gets the earliest guard's answer."""
    assert run(LAYER, method=method, path=path, headers=headers).json()["code"] == code


def test_maintenance_beats_everything() -> None:
    """In maintenance every request above gets 503, whatever else is wrong with it."""
    layer = ErrorLayer(
        ok_app, routes=[("POST", "/v1/items")], auth=api_key(keys={"k"}), maintenance=True
    )
    assert run(layer, path="/nope", headers=[BIG]).status == 503
