"""Guard 7, concurrency: at most N in flight per key and route, released however the
request ends, with a lease that is renewed while a long handler runs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from errorbook import ErrorLayer
from errorbook._layer import Message, api_key
from errorbook._state import MemoryStore
from tests.layer._driver import Result, call, scope_for
from tests.layer._limited import ALICE, BOB, KEYS, Counting
from tests.state.conftest import Harness

pytestmark = pytest.mark.anyio

ROUTE = "POST /v1/trackers"


def layer_for(app: Any, store: Any, *, catalog: str = "rfc9457", **options: Any) -> ErrorLayer:
    return ErrorLayer(
        app,
        catalog=catalog,
        auth=api_key(keys=KEYS),
        store=store,
        route_options={ROUTE: {"concurrency": 1, **options}},
    )


async def post(layer: ErrorLayer, headers: list[tuple[str, str]] = ALICE) -> Result:
    return await call(layer, "POST", "/v1/trackers", headers=headers)


async def test_one_at_a_time(harness: Harness) -> None:
    """While one call runs, a second with the same key is the catalog's 429 with
    Retry-After; another key, and the next call after the first ends, are served."""
    app = Counting(gate=asyncio.Event())
    layer = layer_for(app, harness.store)
    first = asyncio.create_task(post(layer))
    await app.entered.wait()
    second = await post(layer)
    assert second.status == 429
    assert second.json()["code"] == "concurrency_limited"
    assert second.header("retry-after") == "1"
    bob = asyncio.create_task(post(layer, BOB))
    while app.calls < 2:  # bob's own slot: he is in, waiting at the gate
        await asyncio.sleep(0.01)
    app.gate.set()  # type: ignore[union-attr]
    assert (await first).status == 201
    assert (await bob).status == 201
    assert (await post(layer)).status == 201


async def test_route_entry_answers(harness: Harness) -> None:
    """``concurrency_entry`` picks the catalog entry: symbl's tracker_call_in_progress."""
    app = Counting(gate=asyncio.Event())
    layer = layer_for(
        app, harness.store, catalog="symbl", concurrency_entry="tracker_call_in_progress"
    )
    first = asyncio.create_task(post(layer))
    await app.entered.wait()
    refused = await post(layer)
    assert refused.status == 429
    assert refused.json() == {"message": "Another call to this operation is still in progress."}
    assert refused.header("retry-after") == "1"
    app.gate.set()  # type: ignore[union-attr]
    await first


async def test_default_entry_under_symbl(harness: Harness) -> None:
    """Without an entry of its own, the concurrency_limited condition's entry answers."""
    app = Counting(gate=asyncio.Event())
    layer = layer_for(app, harness.store, catalog="symbl")
    first = asyncio.create_task(post(layer))
    await app.entered.wait()
    refused = await post(layer)
    assert refused.status == 429
    assert refused.json()["message"].startswith("The account already runs as many jobs")
    assert refused.header("retry-after") == "5"
    app.gate.set()  # type: ignore[union-attr]
    await first


async def test_released_when_the_app_fails(harness: Harness) -> None:
    """An app error (answered 500) gives the slot back."""
    app = Counting(fail=RuntimeError("boom"))
    layer = layer_for(app, harness.store)
    assert (await post(layer)).status == 500
    app.fail = None
    assert (await post(layer)).status == 201


async def test_released_when_cancelled(harness: Harness) -> None:
    """A request cancelled mid-handler (the server gave up on it) gives the slot back."""
    app = Counting(gate=asyncio.Event())
    layer = layer_for(app, harness.store)
    first = asyncio.create_task(post(layer))
    await app.entered.wait()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.sleep(0.05)  # the shielded release finishes on its own
    app.gate = None
    assert (await post(layer)).status == 201


async def test_released_when_the_client_leaves(harness: Harness) -> None:
    """A client that disconnects mid-body makes the app fail; the slot comes back."""
    app = Counting()
    layer = layer_for(app, harness.store)
    messages: list[Message] = []
    parts: list[Message] = [
        {"type": "http.request", "body": b"{", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return parts.pop(0) if parts else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        messages.append(message)

    headers = [*ALICE, ("content-type", "application/json"), ("content-length", "10")]
    await layer(scope_for("POST", "/v1/trackers", headers), receive, send)
    assert app.bodies == []  # the app never got a whole body
    assert (await post(layer)).status == 201


async def test_n_slots(harness: Harness) -> None:
    """``{"limit": N}`` admits N at once per key."""
    app = Counting(gate=asyncio.Event())
    layer = layer_for(app, harness.store, concurrency={"limit": 2, "key": "principal"})
    running = [asyncio.create_task(post(layer)) for _ in range(2)]
    while app.calls < 2:
        await asyncio.sleep(0.01)
    assert (await post(layer)).status == 429
    app.gate.set()  # type: ignore[union-attr]
    assert [r.status for r in await asyncio.gather(*running)] == [201, 201]


async def test_long_handlers_keep_their_lease() -> None:
    """A handler running past the lease TTL keeps its slot: the lease is renewed."""
    app = Counting(gate=asyncio.Event())
    layer = ErrorLayer(
        app,
        auth=api_key(keys=KEYS),
        store=MemoryStore(),
        lease_ttl=0.15,
        route_options={ROUTE: {"concurrency": 1}},
    )
    first = asyncio.create_task(post(layer))
    await app.entered.wait()
    for _ in range(5):
        await asyncio.sleep(0.1)
        assert (await post(layer)).status == 429  # 0.5 s: over three TTLs
    app.gate.set()  # type: ignore[union-attr]
    assert (await first).status == 201
    assert (await post(layer)).status == 201


async def test_a_dead_holder_expires() -> None:
    """A slot never released (its worker died) comes back after the lease TTL."""
    store = MemoryStore()
    layer = ErrorLayer(
        Counting(),
        auth=api_key(keys=KEYS),
        store=store,
        lease_ttl=0.1,
        route_options={ROUTE: {"concurrency": 1}},
    )
    # What a dead worker leaves behind: a lease under the route's key, never released.
    assert await store.acquire("cPOST /v1/trackers|p:alice", 1, ttl=0.1) is not None
    assert (await post(layer)).status == 429
    await asyncio.sleep(0.15)
    assert (await post(layer)).status == 201


async def test_a_framework_disconnect_is_not_a_500(caplog: pytest.LogCaptureFixture) -> None:
    """Starlette's ClientDisconnect (matched by name) is logged at INFO, answered with
    nothing (nobody is there), and gives the slot back."""

    class ClientDisconnect(Exception):
        pass

    app = Counting(fail=ClientDisconnect())
    layer = layer_for(app, MemoryStore())
    gone = await post(layer)
    assert gone.messages == []
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "WARNING")]
    app.fail = None
    assert (await post(layer)).status == 201
