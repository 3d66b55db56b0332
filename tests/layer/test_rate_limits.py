"""Guard 7, rate limits: 429 from the catalog with Retry-After and RateLimit headers from
one atomic decision, on both stores."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from errorbook import ErrorLayer, Limit
from errorbook._layer import api_key
from errorbook._state import Store
from tests.layer._driver import call, ok_app
from tests.layer._limited import ALICE, BOB, KEYS, ratelimit
from tests.state.conftest import Harness

pytestmark = pytest.mark.anyio


def limited(harness: Harness, *, catalog: str = "rfc9457", **kwargs: Any) -> ErrorLayer:
    kwargs.setdefault("auth", api_key(keys=KEYS))
    return ErrorLayer(ok_app, catalog=catalog, store=harness.store, **kwargs)


async def test_headers_then_429(harness: Harness) -> None:
    """Allowed answers count down in RateLimit; the next is the catalog's 429 with an
    integer Retry-After that the RateLimit header repeats, and honouring it succeeds."""
    layer = limited(harness, limits=["3/minute"])
    for remaining in (2, 1, 0):
        result = await call(layer, headers=ALICE)
        assert result.status == 200
        policy, current = ratelimit(result)
        assert policy == '"3/minute";q=3;w=60'
        assert current is not None
        assert current.startswith(f'"3/minute";r={remaining};t=')
    refused = await call(layer, headers=ALICE)
    assert refused.status == 429
    assert refused.header("content-type") == "application/problem+json"
    body = refused.json()
    assert body["status"] == 429
    assert body["code"] == "rate_limited"
    wait = refused.header("retry-after")
    assert wait is not None
    assert wait.isdigit()
    assert int(wait) == 20  # GCRA: one unit per 20 seconds comes back
    assert ratelimit(refused) == ('"3/minute";q=3;w=60', f'"3/minute";r=0;t={wait}')
    assert body["retry_after"] == 20  # the computed wait, not the entry's static hint (1)
    harness.advance(int(wait) - 0.5)
    assert (await call(layer, headers=ALICE)).status == 429
    harness.advance(0.5)
    assert (await call(layer, headers=ALICE)).status == 200


async def test_all_or_nothing(harness: Harness) -> None:
    """A request refused by one limit consumes nothing from the others."""
    layer = limited(harness, limits=["1/second", "5/minute"])
    first = await call(layer, headers=ALICE)
    assert first.status == 200
    assert ratelimit(first)[0] == '"1/second";q=1;w=1, "5/minute";q=5;w=60'
    for _ in range(3):
        refused = await call(layer, headers=ALICE)
        assert refused.status == 429
        assert refused.header("retry-after") == "1"
        current = ratelimit(refused)[1]
        assert current is not None
        # The per-minute limit still has the 4 units the first request left.
        assert current.split(", ")[1].startswith('"5/minute";r=4;')
    harness.advance(1)
    again = await call(layer, headers=ALICE)
    assert again.status == 200
    current = ratelimit(again)[1]
    assert current is not None
    assert current.split(", ")[1].startswith('"5/minute";r=3;')


async def test_keys_are_per_principal(harness: Harness) -> None:
    """With auth, each principal has its own budget."""
    layer = limited(harness, limits=["1/minute"])
    assert (await call(layer, headers=ALICE)).status == 200
    assert (await call(layer, headers=ALICE)).status == 429
    assert (await call(layer, headers=BOB)).status == 200


async def test_weighted_cost(harness: Harness) -> None:
    """A route's cost spends that many units; a cost function sees the request."""
    layer = limited(
        harness,
        limits=["10/minute"],
        cost=lambda request: 4 if request.header("x-big") else 1,
        route_options={"/heavy": {"cost": 5}},
    )
    assert (await call(layer, path="/heavy", headers=ALICE)).status == 200
    assert (await call(layer, path="/heavy", headers=ALICE)).status == 200
    assert (await call(layer, path="/heavy", headers=ALICE)).status == 429
    bob = [*BOB, ("x-big", "1")]
    statuses = [(await call(layer, headers=bob)).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    last = await call(layer, headers=BOB)  # cost 1 still fits: 10 - 4 - 4 = 2
    assert last.status == 200
    assert ratelimit(last)[1] is not None


async def test_route_limits_replace_the_layers(harness: Harness) -> None:
    """A route's ``rate`` counts per route instead of the layer's; ``[]`` exempts."""
    layer = limited(
        harness,
        limits=["1/minute"],
        route_options={"/own": {"rate": ["2/minute"]}, "/free": {"rate": []}},
    )
    assert (await call(layer, path="/a", headers=ALICE)).status == 200
    assert (await call(layer, path="/b", headers=ALICE)).status == 429  # shared budget
    own = [(await call(layer, path="/own", headers=ALICE)).status for _ in range(3)]
    assert own == [200, 200, 429]
    free = await call(layer, path="/free", headers=ALICE)
    assert free.status == 200
    assert ratelimit(free) == (None, None)


async def test_client_address_through_trusted_proxies(harness: Harness) -> None:
    """Without auth the key is the client address; X-Forwarded-For and Forwarded count
    only when the peer is a trusted proxy, read from the right."""
    layer = ErrorLayer(
        ok_app, store=harness.store, limits=["1/minute"], trusted_proxies=["127.0.0.1"]
    )
    via = [("x-forwarded-for", "203.0.113.9, 198.51.100.7")]
    assert (await call(layer, headers=via)).status == 200
    assert (await call(layer, headers=via)).status == 429
    other = [("x-forwarded-for", "203.0.113.9, 198.51.100.8")]
    assert (await call(layer, headers=other)).status == 200
    rfc = [("forwarded", 'for="[2001:db8::1]:4711", for=198.51.100.8')]
    assert (await call(layer, headers=rfc)).status == 429  # the same hop as `other`

    untrusted = ErrorLayer(ok_app, store=harness.store, limits=["1/minute"])
    assert (await call(untrusted, headers=via)).status == 200
    # The peer (127.0.0.1) is the key: a forged header changes nothing.
    assert (await call(untrusted, headers=other)).status == 429


async def test_key_function_may_exempt(harness: Harness) -> None:
    """A key function keys requests its way; returning None exempts a request."""
    layer = ErrorLayer(
        ok_app,
        store=harness.store,
        limits=["1/minute"],
        rate_key=lambda request: request.header("x-tenant"),
    )
    tenant = [("x-tenant", "acme")]
    assert (await call(layer, headers=tenant)).status == 200
    assert (await call(layer, headers=tenant)).status == 429
    for _ in range(3):
        assert (await call(layer)).status == 200


async def test_discord_body_retry_after(harness: Harness) -> None:
    """Under discord the body's retry_after is the computed wait and global stays false."""
    layer = limited(harness, catalog="discord", limits=["1/minute"])
    assert (await call(layer, headers=ALICE)).status == 200
    refused = await call(layer, headers=ALICE)
    assert refused.status == 429
    body = json.loads(refused.body)
    assert body == {
        "message": "You are being rate limited.",
        "code": 429,
        "retry_after": 60,
        "global": False,
    }
    assert refused.header("retry-after") == "60"


async def test_legacy_headers(harness: Harness) -> None:
    """X-RateLimit-* on request, for the tightest limit, from the same decision."""
    layer = limited(harness, limits=["2/minute", "100/day"], legacy_ratelimit_headers=True)
    result = await call(layer, headers=ALICE)
    assert result.header("x-ratelimit-limit") == "2"
    assert result.header("x-ratelimit-remaining") == "1"
    assert result.header("x-ratelimit-reset") == "30"
    await call(layer, headers=ALICE)
    refused = await call(layer, headers=ALICE)
    assert refused.header("x-ratelimit-remaining") == "0"
    assert refused.header("x-ratelimit-reset") == refused.header("retry-after")


async def test_refusals_before_the_guard_cost_nothing(harness: Harness) -> None:
    """401s and 404s are answered before guard 7, so they spend no budget."""
    layer = limited(harness, limits=["1/minute"], routes=[("GET", "/")])
    for _ in range(3):
        assert (await call(layer, headers=[("x-api-key", "nope")])).status == 401
        assert (await call(layer, path="/nowhere", headers=ALICE)).status == 404
    assert (await call(layer, headers=ALICE)).status == 200


class Untouchable:
    """A store that fails the test if anything calls it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the store was called: {name}")


async def test_unlimited_routes_pay_nothing() -> None:
    """Routes without limits never reach the store, and get no headers."""
    store = cast(Store, Untouchable())
    layer = ErrorLayer(ok_app, store=store, route_options={"/limited": {"rate": ["1/minute"]}})
    result = await call(layer, path="/free")
    assert result.status == 200
    assert ratelimit(result) == (None, None)
    assert ErrorLayer(ok_app).store is None  # nothing limited: no store is even made


async def test_a_failing_key_function_is_an_app_error(harness: Harness) -> None:
    """A key function that raises is the app's bug: logged and answered 500, not a crash."""

    def broken(request: Any) -> str:
        raise RuntimeError("boom")

    layer = ErrorLayer(ok_app, store=harness.store, limits=["1/minute"], rate_key=broken)
    result = await call(layer)
    assert result.status == 500
    assert result.json()["code"] == "internal"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limits": ["100/fortnight"]}, "limits: invalid limit"),
        ({"limits": ["10/minute", Limit(10, 60, name="other")]}, "same numbers"),
        ({"limits": ["10/minute"], "cost": 11}, "exceeds"),
        ({"cost": -1}, "cost"),
        ({"route_options": {"/a": {"rate": ["x"]}}}, "route option '/a'"),
        ({"route_options": {"/a": {"concurrency": 0}}}, "concurrency limit"),
        ({"route_options": {"/a": {"concurrency": 1, "concurrency_entry": "nope"}}}, "'nope'"),
        ({"route_options": {"/a": {"idempotency": "always"}}}, "'optional'"),
        ({"on_store_error": "ignore"}, "fail_open"),
        ({"rate_key": "cookie"}, "'principal', 'ip'"),
        ({"trusted_proxies": ["proxy.local"]}, "trusted proxy"),
        ({"lease_ttl": 0}, "lease_ttl"),
    ],
    ids=[
        "unit",
        "same-numbers",
        "cost-over-capacity",
        "negative-cost",
        "route-spec",
        "zero-concurrency",
        "unknown-entry",
        "idempotency-mode",
        "store-policy",
        "rate-key",
        "proxy",
        "lease-ttl",
    ],
)
def test_bad_configuration_is_refused_when_built(kwargs: dict[str, Any], message: str) -> None:
    """Every malformed option is a ValueError naming it, when the layer is built."""
    with pytest.raises(ValueError, match=message):
        ErrorLayer(ok_app, **kwargs)
