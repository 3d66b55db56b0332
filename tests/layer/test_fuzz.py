"""Hypothesis drives the layer with arbitrary requests: it always answers, and answers well."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from starlette.exceptions import HTTPException

from errorbook import Catalog
from errorbook._layer import ErrorLayer, Receive, Scope, Send, api_key, bearer

from ._driver import call, scope_for


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Behaves as the test case says in ``scope["fuzz"]``: answer, read, or raise."""
    behaviour, status, extra = scope["fuzz"]
    if behaviour == "read":
        while (message := await receive())["type"] == "http.request":
            if not message.get("more_body"):
                break
    elif behaviour == "crash":
        raise RuntimeError("secret at /srv/db")
    elif behaviour == "http":
        raise HTTPException(status, headers=extra)
    elif behaviour == "problem":
        raise CATALOGS["rfc9457"].error("forbidden", headers=extra)
    elif behaviour == "json":
        json.loads("{")
    elif behaviour == "validation":

        class RequestValidationError(Exception):
            def errors(self) -> list[dict[str, Any]]:
                return [{"loc": ("body", *extra), "msg": "m", "type": "t"}]

        raise RequestValidationError()
    elif behaviour == "silent":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"x-app", b"1")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


ROUTES = [
    ("GET", "/v1/items"),
    ("POST", "/v1/items"),
    ("GET", "/v1/items/{id}"),
    ("PUT", "/v1/items/{id}/parts/{n}"),
]
CATALOGS = {name: Catalog.load(name) for name in ("rfc9457", "tape", "discord", "wetransfer")}
LAYERS = [
    ErrorLayer(
        app,
        catalog=CATALOGS["rfc9457"],
        routes=ROUTES,
        auth=api_key(keys={"k": "alice"}),
        public=["GET /v1/items"],
        max_body=64,
        route_options={"PUT /v1/items/{id}/parts/{n}": {"body_types": ["*/*"], "max_body": 256}},
    ),
    ErrorLayer(app, catalog=CATALOGS["tape"], max_body=32),
    ErrorLayer(
        app,
        catalog=CATALOGS["discord"],
        routes=ROUTES,
        auth=bearer(keys={"t"}),
        hide_forbidden=True,
        authorize=lambda principal, method, path: method != "PUT",
    ),
    ErrorLayer(app, catalog=CATALOGS["wetransfer"], deadline=5),
]

INTERESTING = [
    b"accept",
    b"accept-language",
    b"content-type",
    b"content-length",
    b"transfer-encoding",
    b"x-request-id",
    b"x-api-key",
    b"authorization",
    b"access-control-request-method",
]
header_names = st.one_of(st.sampled_from(INTERESTING), st.binary(max_size=12))
header_values = st.one_of(
    st.sampled_from(
        [
            b"k",
            b"Bearer t",
            b"application/json",
            b"application/problem+xml",
            b"text/html",
            b"de, en;q=0.1",
            b"chunked",
            b"0",
            b"10",
            b"99999999999999999999999",
            b"100",
            b"r-1",
        ]
    ),
    st.binary(max_size=40),
    st.text(max_size=20).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.just(b"a\r\nSet-Cookie: x=1"),
)
KNOWN_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]
KNOWN_PATHS = ["/", "/v1/items", "/v1/items/1", "/v1/items/1/parts/2", "/errors", "/errors/x"]
# Known methods and paths three times in four (three distinct strategies: one_of weighs each
# branch alike), so that requests get past routing to the later guards and the app.
methods = st.one_of(*[st.sampled_from(KNOWN_METHODS) for _ in range(3)], st.text(max_size=8))
paths = st.one_of(
    *[st.sampled_from(KNOWN_PATHS) for _ in range(3)],
    st.text(max_size=30).map(lambda s: "/" + s),
)
# Arbitrary bytes, and (hypothesis likes small data) long runs that cross the body limits.
bodies = st.one_of(
    st.lists(st.binary(max_size=100), max_size=4),
    st.builds(lambda size, count: [b"x" * size] * count, st.integers(0, 100), st.integers(1, 4)),
)
# Valid credentials for both auth schemes, half the time, so requests get past auth.
CREDENTIALS = [(b"x-api-key", b"k"), (b"authorization", b"Bearer t")]
behaviours = st.sampled_from(
    ["ok", "read", "crash", "http", "problem", "json", "validation", "silent"]
)
status_codes = st.integers(min_value=100, max_value=599)
free_headers = st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layer_index=st.integers(min_value=0, max_value=len(LAYERS) - 1),
    method=methods,
    path=paths,
    credentials=st.booleans(),
    framing=st.sampled_from(["none", "honest", "lying", "chunked"]),
    headers=st.lists(st.tuples(header_names, header_values), max_size=8),
    chunks=bodies,
    behaviour=behaviours,
    status=status_codes,
    extra=free_headers,
)
def test_layer_always_answers_well(
    layer_index: int,
    method: str,
    path: str,
    credentials: bool,
    framing: str,
    headers: list[tuple[bytes, bytes]],
    chunks: list[bytes],
    behaviour: str,
    status: int,
    extra: dict[str, str],
) -> None:
    """Any request gets one response, with clean headers, a request id and a parseable body."""
    layer = LAYERS[layer_index]
    sent = [*CREDENTIALS, *headers] if credentials else list(headers)
    if framing != "none":
        # A JSON body declared honestly, too short, or chunked: past 415, on to the limits.
        length = {"honest": sum(map(len, chunks)), "lying": 1}.get(framing)
        sent.append((b"content-type", b"application/json"))
        if length is None:
            sent.append((b"transfer-encoding", b"chunked"))
        else:
            sent.append((b"content-length", str(length).encode()))
    scope = scope_for(method, path, sent)
    scope["fuzz"] = (behaviour, status, extra)
    result = asyncio.run(call(layer, scope=scope, chunks=chunks))

    assert len(result.starts) == 1
    event(f"status {result.status}, {'app' if result.header('x-app') else 'layer'}")
    for name, value in result.raw_headers:
        assert b"\r" not in name
        assert b"\n" not in name
        assert b"\r" not in value, (name, value)
        assert b"\n" not in value, (name, value)
    assert len(result.header_values("x-request-id")) == 1
    assert b"secret" not in result.body
    assert b"/srv" not in result.body

    content_type = result.header("content-type")
    if result.header("x-app") or method == "HEAD" or not result.body:
        return
    formats = {fmt.media_type: fmt for fmt in layer.catalog.formats}
    if content_type in formats:
        problem = formats[content_type].parse(result.body, status=result.status)
        assert problem.status == result.status
    else:
        # Not a problem: only the glossary answers in anything else.
        assert path.startswith("/errors"), (content_type, result.body[:200])
