"""Guard 6: the body limit, from Content-Length before reading and on the stream."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from errorbook._layer import ErrorLayer, Receive, Scope, Send

from ._driver import run

JSON = ("content-type", "application/json")


def reading_app() -> tuple[Any, list[bytes]]:
    """An app that reads the whole body, then answers 200 with its size."""
    received: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            received.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(b"".join(received))).encode()})

    return app, received


def test_content_length_refused_before_reading() -> None:
    """An honest Content-Length over the limit is refused before anything is read."""
    app, received = reading_app()
    result = run(
        ErrorLayer(app, max_body=100),
        method="POST",
        headers=[JSON, ("content-length", "101")],
        body=b"x" * 101,
    )
    assert result.status == 413
    assert result.receive_calls == 0
    assert received == []
    problem = result.json()
    assert problem["code"] == "payload_too_large"
    assert "100 bytes" in problem["detail"]


def test_huge_content_length() -> None:
    """A Content-Length with thousands of digits is simply too large, not a crash."""
    app, _ = reading_app()
    headers = [JSON, ("content-length", "9" * 5000)]
    assert run(ErrorLayer(app, max_body=100), method="POST", headers=headers).status == 413


def test_within_limit_passes() -> None:
    """A body within the limit reaches the app whole."""
    app, _ = reading_app()
    result = run(
        ErrorLayer(app, max_body=100),
        method="POST",
        headers=[JSON, ("content-length", "100")],
        chunks=[b"x" * 60, b"y" * 40],
    )
    assert result.status == 200
    assert result.body == b"100"


@pytest.mark.parametrize(
    "headers",
    [[JSON, ("content-length", "10")], [JSON, ("transfer-encoding", "chunked")]],
    ids=["lying-length", "no-length"],
)
def test_stream_cut_at_limit(headers: list[tuple[str, str]]) -> None:
    """More bytes than the limit are cut off mid-stream, whatever Content-Length claimed."""
    app, received = reading_app()
    result = run(
        ErrorLayer(app, max_body=100),
        method="POST",
        headers=headers,
        chunks=[b"x" * 60] * 5,
    )
    assert result.status == 413
    assert len(result.starts) == 1  # the app's own late 200 went nowhere
    assert sum(map(len, received)) <= 100
    assert result.receive_calls == 2  # one chunk past the limit, and no more


def test_cut_after_response_started(caplog: pytest.LogCaptureFixture) -> None:
    """When the app answered before reading, the overrun is cut and logged, with no 413."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 202, "headers": []})
        while (await receive())["type"] != "http.disconnect":
            pass
        await send({"type": "http.response.body", "body": b"done"})

    with caplog.at_level(logging.WARNING, logger="errorbook.layer"):
        result = run(
            ErrorLayer(app, max_body=10), method="POST", headers=[JSON], chunks=[b"x"] * 20
        )
    assert result.status == 202
    assert result.body == b"done"
    assert "after the response started" in caplog.text


def test_app_error_after_cut_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    """An app that fails because its body was cut off gets no second answer and no error log."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        raise RuntimeError("client disconnected")

    with caplog.at_level(logging.ERROR, logger="errorbook.layer"):
        result = run(
            ErrorLayer(app, max_body=10), method="POST", headers=[JSON], chunks=[b"x"] * 20
        )
    assert result.status == 413
    assert caplog.records == []


def test_per_route_limits() -> None:
    """route_options set a route's own limit, or lift the layer's with None."""
    app, _ = reading_app()
    layer = ErrorLayer(
        app,
        routes=[("POST", "/small"), ("POST", "/big"), ("POST", "/free")],
        max_body=10,
        route_options={"/big": {"max_body": 1000}, "POST /free": {"max_body": None}},
    )
    headers = [JSON, ("content-length", "500")]
    assert run(layer, method="POST", path="/small", headers=headers).status == 413
    assert run(layer, method="POST", path="/big", headers=headers, body=b"x" * 500).status == 200
    result = run(layer, method="POST", path="/free", headers=headers, body=b"x" * 500)
    assert result.status == 200
    assert result.receive_calls == 1  # no limit: the app reads the server's receive directly


def test_limit_param_follows_catalog() -> None:
    """The limit fills the catalog entry's {limit} parameter in its own format."""
    app, _ = reading_app()
    layer = ErrorLayer(app, catalog="symbl", max_body=1024)
    result = run(layer, method="POST", headers=[JSON, ("content-length", "2048")])
    assert result.status == 413
    assert "1024" in result.json()["message"]


def test_bad_limit() -> None:
    """A negative or non-integer limit is a configuration error."""
    app, _ = reading_app()
    with pytest.raises(ValueError, match="body limit"):
        ErrorLayer(app, max_body=-1)
    with pytest.raises(ValueError, match="body limit"):
        ErrorLayer(app, max_body=1.5)  # type: ignore[arg-type]
