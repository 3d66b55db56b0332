"""Guard 8, Idempotency-Key: first runs, repeats replay byte for byte, 409 while running,
422 for another payload, 400 when required and missing, on both stores."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from errorbook import ErrorLayer
from errorbook._layer import api_key
from tests.layer._driver import Result, call, scope_for
from tests.layer._limited import ALICE, BOB, KEYS, Counting
from tests.state.conftest import Harness

pytestmark = pytest.mark.anyio

JSON = [("content-type", "application/json")]


def layer_for(app: Any, harness: Harness, mode: str = "optional", **kwargs: Any) -> ErrorLayer:
    kwargs.setdefault("catalog", "rfc9457")
    return ErrorLayer(
        app,
        auth=api_key(keys=KEYS),
        store=harness.store,
        max_body=1024,
        route_options={"POST /v1/things": {"idempotency": mode}},
        **kwargs,
    )


async def post(
    layer: ErrorLayer,
    body: bytes = b'{"a":1}',
    key: str | None = "k-1",
    who: list[tuple[str, str]] = ALICE,
    path: str = "/v1/things",
) -> Result:
    headers = [*who, *JSON, ("content-length", str(len(body)))]
    if key is not None:
        headers.append(("idempotency-key", key))
    return await call(layer, "POST", path, headers=headers, body=body)


def without(result: Result, *names: bytes) -> list[tuple[bytes, bytes]]:
    return [(n, v) for n, v in result.raw_headers if n not in names]


async def test_replayed_byte_for_byte(harness: Harness) -> None:
    """The first request runs; a repeat gets its status, headers and body again, marked
    Idempotent-Replayed, with its own request id; the app ran once and read the body."""
    app = Counting()
    layer = layer_for(app, harness)
    first = await post(layer)
    assert first.status == 201
    assert first.header("idempotent-replayed") is None
    again = await post(layer)
    assert again.status == 201
    assert again.body == first.body
    assert again.header("idempotent-replayed") == "true"
    assert again.header("x-request-id") != first.header("x-request-id")
    skip = (b"x-request-id", b"idempotent-replayed")
    assert without(again, *skip) == without(first, *skip)
    assert app.calls == 1
    assert app.bodies == [b'{"a":1}']


async def test_in_flight(harness: Harness) -> None:
    """A repeat while the first still runs is 409 idempotency_in_flight."""
    app = Counting(gate=asyncio.Event())
    layer = layer_for(app, harness)
    first = asyncio.create_task(post(layer))
    await app.entered.wait()
    busy = await post(layer)
    assert busy.status == 409
    assert busy.json()["code"] == "idempotency_in_flight"
    assert busy.header("retry-after") == "1"
    app.gate.set()  # type: ignore[union-attr]
    assert (await first).status == 201
    assert (await post(layer)).header("idempotent-replayed") == "true"


@pytest.mark.parametrize(
    ("body", "path"),
    [(b'{"a":2}', "/v1/things"), (b'{"a":1}', "/v1/things?dry_run=1")],
    ids=["other-body", "other-query"],
)
async def test_mismatch(harness: Harness, body: bytes, path: str) -> None:
    """The same key with another body or query is 422 idempotency_mismatch."""
    app = Counting()
    layer = ErrorLayer(app, auth=api_key(keys=KEYS), store=harness.store, idempotency="optional")
    assert (await post(layer)).status == 201
    if "?" in path:
        scope = scope_for("POST", "/v1/things", [*ALICE, *JSON, ("idempotency-key", "k-1")])
        scope["query_string"] = path.partition("?")[2].encode()
        scope["headers"].append((b"content-length", b"7"))
        refused = await call(layer, scope=scope, body=body)
    else:
        refused = await post(layer, body=body)
    assert refused.status == 422
    assert refused.json()["code"] == "idempotency_mismatch"
    assert app.calls == 1


async def test_required_key_missing(harness: Harness) -> None:
    """Where required, no key is 400 idempotency_key_missing in the catalog's format."""
    app = Counting()
    layer = layer_for(app, harness, "required", catalog="tape")
    refused = await post(layer, key=None)
    assert refused.status == 400
    assert set(refused.json()) == {"status", "error_code", "error_message"}
    assert app.calls == 0
    assert (await post(layer)).status == 201


async def test_optional_without_key_runs_every_time(harness: Harness) -> None:
    """Where optional, requests without a key run as usual."""
    app = Counting()
    layer = layer_for(app, harness)
    assert [(await post(layer, key=None)).status for _ in range(2)] == [201, 201]
    assert app.calls == 2


@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, "two words", "caf\u00e9", "tab\there"],
    ids=["empty", "too-long", "space", "non-ascii", "control"],
)
async def test_malformed_keys(harness: Harness, key: str) -> None:
    """A key that is not 1-255 visible ASCII characters is validation_failed, never 500."""
    app = Counting()
    layer = layer_for(app, harness)
    headers = [*ALICE, *JSON, ("content-length", "7"), ("idempotency-key", key.encode("utf-8"))]
    refused = await call(layer, "POST", "/v1/things", headers=headers, body=b'{"a":1}')
    assert refused.status == 422  # rfc9457's validation_failed
    body = refused.json()
    assert body["code"] == "validation_failed"
    assert body["errors"][0]["code"] == "invalid_idempotency_key"
    assert app.calls == 0


async def test_quoted_key_is_the_same_key(harness: Harness) -> None:
    """The draft's structured-field string form names the same key as the bare token."""
    layer = layer_for(Counting(), harness)
    assert (await post(layer, key="abc")).status == 201
    assert (await post(layer, key='"abc"')).header("idempotent-replayed") == "true"


async def test_server_errors_are_not_kept(harness: Harness) -> None:
    """A 5xx (or a crash) abandons the key, so a retry runs again."""
    app = Counting(fail=RuntimeError("boom"))
    layer = layer_for(app, harness)
    assert (await post(layer)).status == 500
    app.fail = None
    again = await post(layer)
    assert again.status == 201
    assert again.header("idempotent-replayed") is None
    assert app.calls == 2


@pytest.mark.parametrize(
    ("status", "kept"), [(422, True), (404, True), (409, False), (429, False), (503, False)]
)
async def test_which_answers_are_kept(harness: Harness, status: int, kept: bool) -> None:
    """Deterministic 4xx are kept and replayed; "not now" answers and 5xx are not."""
    app = Counting(status=status)
    layer = layer_for(app, harness)
    await post(layer)
    again = await post(layer)
    assert again.status == status
    assert (again.header("idempotent-replayed") == "true") is kept
    assert app.calls == (1 if kept else 2)


async def test_keys_are_per_tenant(harness: Harness) -> None:
    """Another principal's request with the same key and body runs on its own."""
    app = Counting()
    layer = layer_for(app, harness)
    assert (await post(layer, who=ALICE)).status == 201
    bob = await post(layer, who=BOB)
    assert bob.header("idempotent-replayed") is None
    assert app.calls == 2


async def test_body_over_the_limit(harness: Harness) -> None:
    """The buffered body is still held to the body limit: 413, and the key stays free."""
    app = Counting()
    layer = layer_for(app, harness)
    headers = [*ALICE, *JSON, ("idempotency-key", "big"), ("transfer-encoding", "chunked")]
    big = await call(
        layer, "POST", "/v1/things", headers=headers, chunks=[b"[" + b"1," * 600, b"1]"]
    )
    assert big.status == 413
    assert app.calls == 0
    assert (await post(layer, key="big")).status == 201


async def test_large_responses_are_not_kept(harness: Harness) -> None:
    """A response over the size cap goes out but is not kept: a retry runs again."""
    app = Counting(size=1024 * 1024 + 1)
    layer = layer_for(app, harness)
    assert (await post(layer)).status == 201
    assert (await post(layer)).header("idempotent-replayed") is None
    assert app.calls == 2


async def test_layer_wide_mode_covers_posts_only(harness: Harness) -> None:
    """``idempotency=`` on the layer covers POST routes; a GET with a key runs each time."""
    app = Counting()
    layer = ErrorLayer(app, auth=api_key(keys=KEYS), store=harness.store, idempotency="optional")
    assert (await post(layer, path="/any")).status == 201
    assert (await post(layer, path="/any")).header("idempotent-replayed") == "true"
    get = [*ALICE, ("idempotency-key", "g")]
    for _ in range(2):
        assert (await call(layer, "GET", "/any", headers=get)).header("idempotent-replayed") is None
    assert app.calls == 3
