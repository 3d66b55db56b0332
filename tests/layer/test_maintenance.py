"""Guard 2: maintenance mode, switchable at run time, beats every other guard."""

from __future__ import annotations

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
