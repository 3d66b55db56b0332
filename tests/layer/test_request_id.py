"""Guard 1: the request id, accepted when sane, else made, echoed on every response."""

from __future__ import annotations

import re

import pytest

from errorbook._layer import ErrorLayer, Receive, Scope, Send

from ._driver import ok_app, run

GENERATED = re.compile(r"[0-9a-f]{32}\Z")


def test_generated_and_echoed_on_app_responses() -> None:
    """Without an incoming id the layer makes one and adds it to the app's own response."""
    result = run(ErrorLayer(ok_app))
    assert result.status == 200
    assert result.header("x-app") == "1"
    (rid,) = result.header_values("x-request-id")
    assert GENERATED.match(rid)


def test_each_request_gets_its_own() -> None:
    """Two requests without an id get two different ids."""
    layer = ErrorLayer(ok_app)
    assert run(layer).header("x-request-id") != run(layer).header("x-request-id")


@pytest.mark.parametrize(
    "incoming",
    ["abc", "req_01HZX3N6Q8W2K4M7P9R5T1V3Y", "a.b:c-d_e", "x" * 128],
    ids=["short", "ulid-like", "punctuation", "max-length"],
)
def test_sane_id_is_kept(incoming: str) -> None:
    """A sane incoming id is echoed as it came, on success and in problem bodies."""
    layer = ErrorLayer(ok_app, routes=[("GET", "/")])
    assert run(layer, headers=[("x-request-id", incoming)]).header("x-request-id") == incoming
    refused = run(layer, path="/nope", headers=[("x-request-id", incoming)])
    assert refused.header("x-request-id") == incoming
    assert refused.json()["request_id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        b"",
        b"x" * 129,
        b"abc\r\nSet-Cookie: a=1",
        b"with space",
        b"<script>",
        "caf\u00e9".encode(),
        b"\x00\xff",
    ],
    ids=["empty", "too-long", "crlf", "space", "markup", "non-ascii", "binary"],
)
def test_insane_id_is_replaced(incoming: bytes) -> None:
    """An id that is empty, too long or holds other characters is replaced by a fresh one."""
    layer = ErrorLayer(ok_app, routes=[("GET", "/")])
    for path in ("/", "/nope"):
        result = run(layer, path=path, headers=[(b"x-request-id", incoming)])
        (rid,) = result.header_values("x-request-id")
        assert GENERATED.match(rid), rid


def test_app_id_is_not_duplicated() -> None:
    """When the app sets the id header itself, the layer leaves its value alone."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"x-request-id", b"own")]}
        )
        await send({"type": "http.response.body", "body": b""})

    assert run(ErrorLayer(app)).header_values("x-request-id") == ["own"]


def test_app_headers_list_is_not_mutated() -> None:
    """The layer adds its header to a new list, so an app that reuses its headers is safe."""
    shared = [(b"content-type", b"text/plain")]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": shared})
        await send({"type": "http.response.body", "body": b"hi"})

    layer = ErrorLayer(app)
    run(layer)
    run(layer)
    assert shared == [(b"content-type", b"text/plain")]


def test_custom_header_name() -> None:
    """request_id_header renames the header both ways, on app responses and on problems."""
    layer = ErrorLayer(ok_app, routes=[("GET", "/")], request_id_header="X-Correlation-Id")
    assert run(layer, headers=[("x-correlation-id", "c-1")]).header("x-correlation-id") == "c-1"
    refused = run(layer, path="/nope", headers=[("x-correlation-id", "c-2")])
    assert refused.header("x-correlation-id") == "c-2"
    assert refused.header("x-request-id") is None
    assert refused.json()["request_id"] == "c-2"


def test_bad_header_name_is_refused() -> None:
    """A request id header name that is not a header name is a configuration error."""
    with pytest.raises(ValueError, match="header name"):
        ErrorLayer(ok_app, request_id_header="x request id")
